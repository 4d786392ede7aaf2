/**
 * The loop's promotion decision (docs/improvement-loop.md, "The decision"): a `win_rate` gate is measured
 * with the policy's own judge, pairwise against the alias holder on the evaluation set (compare_models'
 * code; the fake judge always prefers the first answer, so with both orders every case ties and the
 * win-rate is exactly 0.5); a gate the loop cannot measure holds the registered version for a person.
 */
import { describe, expect, it } from 'vitest';
import { registryOf } from '../../src/registry/index.js';
import { createImprovementPolicyTool } from '../../tools/create-improvement-policy.js';
import { getImprovementPolicyTool } from '../../tools/get-improvement-policy.js';
import { promoteModelTool } from '../../tools/promote-model.js';
import { runImprovementPolicyTool } from '../../tools/run-improvement-policy.js';
import { startTrainingTool } from '../../tools/start-training.js';
import type { TestClient } from '../helpers/mcp.js';
import { startFakeJudge } from './fake-judge.js';
import { appendOutputs, GATES, jobEnd, loopLifecycle, loopWorkspace } from './helpers.js';

const run = loopLifecycle();

/** Pools two good rows, which crosses a threshold of 2; returns the cycle's decision once its job has ended. */
async function crossAndDecide(client: TestClient, policy: string, prod: string, tag: string) {
  appendOutputs(prod, tag, 2, 0);
  const started = await client.callOk(runImprovementPolicyTool, { policy_id: policy });
  expect(started.decision).toBe('retraining');
  expect(await jobEnd(client, started.policy.cycles.at(-1)!.job_id!)).toBe('succeeded');
  return client.callOk(runImprovementPolicyTool, { policy_id: policy });
}

describe('improvement policy: the gated decision', () => {
  it('measures a win_rate gate with the policy judge against the alias holder: promoted when it passes, a regression when it fails', { timeout: 400_000 }, async () => {
    const judge = await startFakeJudge();
    run.closers.push(judge.close);
    const w = await loopWorkspace(judge.url);
    const t = (run.t = w.t);
    // The incumbent: the base config trained once, registered and put on staging by a person.
    const { job_id } = await t.callOk(startTrainingTool, { config_id: w.config_id, idempotency_key: 'incumbent' });
    expect(await jobEnd(t, job_id)).toBe('succeeded');
    const registry = registryOf(t.services);
    await registry.register({ name: 'stories-bot', version: '1.0.0', job_id });
    registry.promote({ name: 'stories-bot', version: '1.0.0', alias: 'staging', force: true, reason: 'first release, shipped by hand' });

    const gates = [...GATES, { metric: 'win_rate', comparator: '>=', threshold: 0.4 }];
    await t.callOk(createImprovementPolicyTool, { name: 'wr', source: { path: w.prod }, rubric: 'helpfulness', retrain_threshold: 2, base_config_id: w.config_id, eval_dataset_id: w.eval_dataset_id, model_name: 'stories-bot', gates });
    const passed = await crossAndDecide(t, 'wr', w.prod, 'a');
    expect(passed.decision).toBe('promoted');
    expect(passed.reason).toMatch(/^stories-bot@1\.1\.0 promoted to staging: perplexity [\d.]+ \(was [\d.]+\), win_rate 0\.5000 vs stories-bot@1\.0\.0;/);
    // Four evaluation rows, both orders: eight pairwise requests to the policy's judge.
    expect(judge.pairwise).toHaveLength(8);
    const cycle = passed.policy.cycles.at(-1)!;
    const comparisonId = cycle.evaluation_ids.find((id) => id.startsWith('cmp_'))!;
    expect(comparisonId).toBeDefined();
    const promoted = registry.get({ name: 'stories-bot', alias: 'staging' });
    expect(promoted.version).toBe('1.1.0');
    expect(promoted.metrics.win_rate).toBe(0.5);
    expect(promoted.lineage.evaluation_ids).toContain(comparisonId);

    // The same judge against a stricter gate: measured, and failing.
    t.services.workspace.db.prepare("UPDATE improvement_policies SET spec = json_set(spec, '$.gates[1].threshold', 0.65) WHERE name = 'wr'").run();
    const failed = await crossAndDecide(t, 'wr', w.prod, 'b');
    expect(failed.decision).toBe('regression');
    expect(failed.reason).toMatch(/gate win_rate >= 0\.65: 0\.5000 fails.* vs stories-bot@1\.1\.0;/);
    expect(judge.pairwise).toHaveLength(16);
    expect(registry.get({ name: 'stories-bot', alias: 'staging' }).version).toBe('1.1.0');
  });

  it('holds a version whose registry gate the loop cannot measure (a human review): registered, the alias unchanged, the promote_model call given', { timeout: 240_000 }, async () => {
    const judge = await startFakeJudge();
    run.closers.push(judge.close);
    const w = await loopWorkspace(judge.url, undefined, [...GATES, { metric: 'human_win_rate', comparator: '>=', threshold: 0.6 }]);
    const t = (run.t = w.t);
    await t.callOk(createImprovementPolicyTool, { name: 'human', source: { path: w.prod }, rubric: 'helpfulness', retrain_threshold: 2, base_config_id: w.config_id, eval_dataset_id: w.eval_dataset_id, model_name: 'stories-bot', gates: GATES });
    const held = await crossAndDecide(t, 'human', w.prod, 'a');
    expect(held.decision).toBe('held');
    expect(held.reason).toContain('registered stories-bot@1.0.0, held (not promoted): the loop cannot measure human_win_rate (registry gate >= 0.6); measured: perplexity ');
    expect(held.reason).toContain('promote_model {"name":"stories-bot","version":"1.0.0","alias":"staging","force":true,"reason":"checked by hand: human_win_rate …"}');
    const registry = registryOf(t.services);
    expect(registry.list({ name: 'stories-bot' }).map((v) => v.version)).toEqual(['1.0.0']);
    expect(registry.list({ name: 'stories-bot', alias: 'staging' })).toEqual([]);
    const shown = await t.callOk(getImprovementPolicyTool, { policy_id: 'human' });
    expect(shown.retrains[0]).toMatchObject({ status: 'held', version_id: held.policy.retrains[0].version_id });
    expect(shown.retrains[0].version_id).toMatch(/^mv_/);
    expect(shown.cycles.at(-1)).toMatchObject({ decision: 'held' });
    // A later cycle does not decide it again.
    const after = await t.callOk(runImprovementPolicyTool, { policy_id: 'human' });
    expect(after.decision).toBe('nothing_new');
    // The call the reason gives is the one a person makes after checking: it promotes, recorded as forced with that reason.
    const promoted = await t.callOk(promoteModelTool, JSON.parse(/promote_model (\{[^;]*\})/.exec(held.reason)![1]));
    expect(promoted).toMatchObject({ to: '1.0.0', alias: 'staging', forced: true });
    expect(registry.history('stories-bot', 'staging')[0].reason).toBe('checked by hand: human_win_rate …');
  });
});
