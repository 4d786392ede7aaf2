/**
 * Improvement policies end to end (issue 15, point 3): production outputs in a growing JSONL are judged
 * by a local OpenAI-compatible judge, rows scoring ≥ min_score pool up, the threshold crossing starts
 * exactly one LoRA job on the local backend (stories260K), and the cycle after it ends evaluates the new
 * model against the alias holder and promotes it or records a regression.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runImprovementCycle } from '../../src/improvement/cycle.js';
import { createImprovementPolicyTool } from '../../tools/create-improvement-policy.js';
import { deleteDatasetTool } from '../../tools/delete-dataset.js';
import { getImprovementPolicyTool } from '../../tools/get-improvement-policy.js';
import { listImprovementPoliciesTool } from '../../tools/list-improvement-policies.js';
import { runImprovementPolicyTool } from '../../tools/run-improvement-policy.js';
import { errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { startFakeJudge } from './fake-judge.js';
import { appendOutputs, GATES, jobEnd, loopWorkspace, TINY } from './helpers.js';
import { receiver } from '../training/webhook-receiver.js';
import { configureTrainingTool } from '../../tools/configure-training.js';

let t: TestClient | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const close of closers.splice(0)) await close();
});

/** A workspace (judge, model, base and eval sets, base config) and a policy on its prod.jsonl; extra fields override. */
async function withPolicy(name: string, extra: Record<string, unknown> = {}, registryGates = GATES) {
  const judge = await startFakeJudge();
  closers.push(judge.close);
  const w = await loopWorkspace(judge.url, undefined, registryGates);
  t = w.t;
  const policy = await t.callOk(createImprovementPolicyTool, {
    name, source: { path: w.prod }, rubric: 'helpfulness', base_config_id: w.config_id, eval_dataset_id: w.eval_dataset_id, model_name: 'stories-bot', gates: GATES, ...extra,
  });
  return { judge, w, policy };
}

const jobCount = (client: TestClient) => client.services.jobs.list({} as never).total;

describe('improvement policy: judge → pool → one retrain per crossing → gated release', () => {
  it('starts exactly one job when the pool reaches the threshold, trains on those rows, then promotes', { timeout: 240_000 }, async () => {
    const { judge, w, policy } = await withPolicy('stories-loop', { min_score: 0.8, retrain_threshold: 5 });
    expect(policy).toMatchObject({ name: 'stories-loop', status: 'idle', pool: { unused: 0, used: 0 } });
    expect(policy.policy_id).toMatch(/^pol_/);

    // Cycle 1: 3 good + 1 bad → 3 pooled, under the threshold: no job.
    appendOutputs(w.prod, 'a', 3, 1);
    const first = await t.callOk(runImprovementPolicyTool, { policy_id: 'stories-loop' });
    expect(first).toMatchObject({ decision: 'pooled', policy: { pool: { unused: 3, used: 0 }, cursor: { lines: 4 } } });
    expect(first.reason).toBe('judged 4, added 3; pool 3/5');
    expect(jobCount(t)).toBe(0);
    expect(judge.judged).toHaveLength(4);

    // Cycle 2: 2 more good (+1 bad) → 5 pooled: one job, on base rows + the 5 pooled rows.
    appendOutputs(w.prod, 'b', 2, 1);
    const second = await t.callOk(runImprovementPolicyTool, { policy_id: policy.policy_id });
    expect(second.decision).toBe('retraining');
    expect(judge.judged).toHaveLength(7);
    const cycle2 = second.policy.cycles.at(-1)!;
    expect(cycle2.job_id).toMatch(/^job_/);
    expect(second.policy.pool).toEqual({ unused: 0, used: 5 });
    expect(jobCount(t)).toBe(1);
    const dataset = t.services.datasets.get(cycle2.dataset_id!);
    expect(dataset.manifest.counts).toMatchObject({ rows: 25 });
    expect(dataset.manifest.splits).toMatchObject({ seed: 3, ratios: { train: 0.8, validation: 0.1, test: 0.1 } });
    const all = ['train', 'validation', 'test'].flatMap((s) => readFileSync(join(dataset.dir, `${s}.jsonl`), 'utf8').trim().split('\n'));
    for (const tag of ['a-0', 'a-1', 'a-2', 'b-0', 'b-1']) expect(all.filter((l) => l.includes(`GOOD answer ${tag}.`))).toHaveLength(1);
    expect(all.some((l) => l.includes('BAD'))).toBe(false);
    // Lineage: the unsplit version the split came from carries lineage.jsonl back to each row's line and span.
    const lineage = readFileSync(join(t.services.datasets.get(dataset.parent_id!).dir, 'lineage.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lineage.map((l) => [l.ref, l.span_id])).toEqual([
      ['prod.jsonl line 1', 'span-a-g0'], ['prod.jsonl line 2', 'span-a-g1'], ['prod.jsonl line 3', 'span-a-g2'], ['prod.jsonl line 5', 'span-b-g0'], ['prod.jsonl line 6', 'span-b-g1'],
    ]);
    expect(lineage.every((l) => l.judge_run_id.startsWith('jrun_') && l.score === 0.9 && l.cycle_id === cycle2.cycle_id)).toBe(true);
    const config = t.services.jobs.get(cycle2.job_id!);
    expect(config.backend).toBe('local');

    // Cycle 3 with nothing new: no second job.
    const third = await t.callOk(runImprovementPolicyTool, { policy_id: policy.policy_id });
    expect(['waiting', 'promoted']).toContain(third.decision);
    expect(jobCount(t)).toBe(1);
    expect(judge.judged).toHaveLength(7);

    expect(await jobEnd(t, cycle2.job_id!)).toBe('succeeded');
    const decided = third.decision === 'promoted' ? third : await t.callOk(runImprovementPolicyTool, { policy_id: policy.policy_id });
    expect(decided.decision).toBe('promoted');
    expect(decided.reason).toMatch(/^stories-bot@1\.0\.0 promoted to staging: perplexity \d/);
    const cycle = decided.policy.cycles.at(-1)!;
    expect(cycle.evaluation_ids).toHaveLength(1); // no version held staging before: nothing to compare with
    expect(decided.policy.retrains).toEqual([expect.objectContaining({ job_id: cycle2.job_id, status: 'promoted' })]);
    const { registryOf } = await import('../../src/registry/index.js');
    const staged = registryOf(t.services).get({ name: 'stories-bot', alias: 'staging' });
    expect(staged.lineage.job_id).toBe(cycle2.job_id);
    expect(jobCount(t)).toBe(1);

    const shown = await t.callOk(getImprovementPolicyTool, { policy_id: 'stories-loop' });
    expect(shown.cycles.map((c) => c.decision)).toEqual(['pooled', 'retraining', ...(third.decision === 'promoted' ? [] : ['waiting']), 'promoted']);

    const listed = await t.callOk(listImprovementPoliciesTool, {});
    expect(listed.policies.map((p) => p.name)).toEqual(['stories-loop']);
    const metrics = await t.services.metrics.registry.metrics();
    expect(metrics).toContain('finetune_mcp_improvement_retrains_total{policy="stories-loop"} 1');
    expect(metrics).toContain('finetune_mcp_improvement_promotions_total{policy="stories-loop"} 1');
    expect(metrics).toContain('finetune_mcp_improvement_pool_size{policy="stories-loop"} 0');
    // A second crossing: the next model is compared with the one staging holds now, on the same set.
    appendOutputs(w.prod, 'c', 5, 0);
    const again = await t.callOk(runImprovementPolicyTool, { policy_id: policy.policy_id });
    expect(again.decision).toBe('retraining');
    expect(jobCount(t)).toBe(2);
    const jobId2 = again.policy.cycles.at(-1)!.job_id!;
    expect(t.services.datasets.get(again.policy.cycles.at(-1)!.dataset_id!).manifest.counts.rows).toBe(30);
    expect(await jobEnd(t, jobId2)).toBe('succeeded');
    const second2 = await t.callOk(runImprovementPolicyTool, { policy_id: policy.policy_id });
    expect(['promoted', 'regression']).toContain(second2.decision);
    expect(second2.policy.cycles.at(-1)!.evaluation_ids).toHaveLength(2);
    expect(second2.reason).toContain('stories-bot@1.0.0');
    const [candidate, incumbent] = second2.policy.cycles.at(-1)!.evaluation_ids.map((id) => JSON.parse((t!.services.workspace.db.prepare('SELECT metrics FROM evaluations WHERE id = ?').get(id) as { metrics: string }).metrics).perplexity as number);
    // Promoted exactly when it is no worse on the gated metric (perplexity, lower is better).
    expect(second2.decision).toBe(candidate <= incumbent ? 'promoted' : 'regression');
    expect(registryOf(t.services).get({ name: 'stories-bot', alias: 'staging' }).version).toBe(candidate <= incumbent ? '1.1.0' : '1.0.0');
    expect(await t.services.metrics.registry.metrics()).toContain('finetune_mcp_improvement_retrains_total{policy="stories-loop"} 2');
  });

  it('records a regression, promotes nothing and alerts the webhook, when the new model fails a gate', { timeout: 240_000 }, async () => {
    const hook = await receiver();
    closers.push(hook.close);
    const { w } = await withPolicy('strict', { retrain_threshold: 2, gates: [{ metric: 'perplexity', comparator: '<=', threshold: 1.0001 }] });
    // The retraining copies its base config, alert webhook included.
    const { config_id } = await t.callOk(configureTrainingTool, { base_model: w.model_id, dataset_id: w.base_dataset_id, method: 'sft', approach: 'lora', backend: 'local', template: 'smoke', overrides: TINY, policy: { webhook_url: hook.url } });
    t.services.workspace.db.prepare("UPDATE improvement_policies SET spec = json_set(spec, '$.base_config_id', ?) WHERE name = 'strict'").run(config_id);
    appendOutputs(w.prod, 'a', 2, 0);
    const started = await t.callOk(runImprovementPolicyTool, { policy_id: 'strict' });
    expect(started.decision).toBe('retraining');
    const jobId = started.policy.cycles.at(-1)!.job_id!;
    expect(await jobEnd(t, jobId)).toBe('succeeded');
    const decided = await t.callOk(runImprovementPolicyTool, { policy_id: 'strict' });
    expect(decided.decision).toBe('regression');
    expect(decided.reason).toMatch(/gate perplexity <= 1\.0001: [\d.]+ fails/);
    expect(decided.policy.retrains[0]).toMatchObject({ status: 'regression', version_id: null });
    const { registryOf } = await import('../../src/registry/index.js');
    expect(registryOf(t.services).list({ name: 'stories-bot' })).toEqual([]);
    expect(await t.services.metrics.registry.metrics()).toContain('finetune_mcp_improvement_regressions_total{policy="strict"} 1');
    await expect.poll(() => hook.bodies.find((b) => b.event === 'improvement_regression'), { timeout: 15_000 }).toMatchObject({ job_id: jobId, policy: 'strict', reason: decided.policy.retrains[0].reason });
  });
  it('with no version holding the alias, a win-rate gate has nothing to compare against: not applicable, said so, and no force', { timeout: 240_000 }, async () => {
    const registryGates = [...GATES, { metric: 'win_rate', comparator: '>=' as const, threshold: 0.65 }];
    const { w, judge } = await withPolicy('first', { retrain_threshold: 2 }, registryGates);
    appendOutputs(w.prod, 'a', 2, 0);
    const started = await t.callOk(runImprovementPolicyTool, { policy_id: 'first' });
    expect(await jobEnd(t, started.policy.cycles.at(-1)!.job_id!)).toBe('succeeded');
    const decided = await t.callOk(runImprovementPolicyTool, { policy_id: 'first' });
    expect(decided.decision).toBe('promoted');
    expect(decided.reason).toContain("win_rate gate not applicable: no version held stories-bot's staging alias, so there is no incumbent to compare against");
    expect(judge.pairwise).toHaveLength(0);
    const { registryOf } = await import('../../src/registry/index.js');
    const [event] = registryOf(t.services).history('stories-bot', 'staging');
    expect(event).toMatchObject({ forced: false });
    expect(event.reason).toContain('win_rate gate not applicable');
  });
});

describe('improvement policy: bad input and crashes', () => {
  it('a crash between judging and pooling does not judge twice; the next cycle pools the stored run', { timeout: 120_000 }, async () => {
    const { judge, w, policy: { policy_id } } = await withPolicy('crashy', { retrain_threshold: 100 });
    appendOutputs(w.prod, 'a', 3, 1);
    await expect(runImprovementCycle(t.services, policy_id, { afterJudge: () => { throw new Error('simulated crash after judging'); } })).rejects.toThrow('simulated crash');
    expect(judge.judged).toHaveLength(4);
    let shown = await t.callOk(getImprovementPolicyTool, { policy_id });
    expect(shown.pool.unused).toBe(0);
    expect(shown.cursor).toEqual({});

    appendOutputs(w.prod, 'b', 1, 0);
    const next = await t.callOk(runImprovementPolicyTool, { policy_id });
    // The stored run of the first batch was pooled as it was; only the new line went to the judge.
    expect(judge.judged).toHaveLength(5);
    expect(next.decision).toBe('pooled');
    shown = await t.callOk(getImprovementPolicyTool, { policy_id });
    expect(shown.pool.unused).toBe(4);
    expect(shown.cursor).toEqual({ lines: 5 });
    expect(shown.cycles.map((c) => c.decision)).toEqual(['pooled', 'pooled']);
    expect(shown.cycles[0].reason).toContain('cut short after judging (simulated crash after judging)');
  });

  it('a crash after a job started but before the cycle recorded it: the next cycle finds that job, starts no second one', { timeout: 120_000 }, async () => {
    const { w, policy: { policy_id } } = await withPolicy('restart', { retrain_threshold: 2 });
    appendOutputs(w.prod, 'a', 2, 0);
    const started = await t.callOk(runImprovementPolicyTool, { policy_id });
    expect(started.decision).toBe('retraining');
    const crossing = started.policy.cycles.at(-1)!;
    // What a crash right after startOnce leaves: the job exists, the cycle and the retrain table do not name it.
    const db = t.services.workspace.db;
    db.prepare('DELETE FROM improvement_retrains WHERE job_id = ?').run(crossing.job_id);
    db.prepare('UPDATE improvement_cycles SET job_id = NULL, ended_at = NULL, decision = NULL WHERE id = ?').run(crossing.cycle_id);
    const resumed = await t.callOk(runImprovementPolicyTool, { policy_id });
    expect(resumed.decision).toBe('retraining');
    expect(resumed.policy.cycles.at(-1)!.job_id).toBe(crossing.job_id);
    expect(resumed.policy.retrains).toEqual([expect.objectContaining({ job_id: crossing.job_id, cycle_id: crossing.cycle_id, status: 'training' })]);
    expect(resumed.policy.cycles.find((c) => c.cycle_id === crossing.cycle_id)).toMatchObject({ decision: 'retraining', job_id: crossing.job_id });
    expect(jobCount(t)).toBe(1);
    expect(await jobEnd(t, crossing.job_id!)).toBe('succeeded');

    // Its evaluation set deleted meanwhile: a located error, and the job stays undecided for a later cycle.
    await t.callOk(deleteDatasetTool, { dataset_id: w.eval_dataset_id });
    const gone = await t.call('run_improvement_policy', { policy_id });
    expect(errorCode(gone)).toBe('NOT_FOUND');
    expect(resultText(gone)).toContain(`Policy 'restart': its evaluation set ${w.eval_dataset_id} is gone`);
    expect(gone._meta).toMatchObject({ details: { field: 'eval_dataset_id' } });
    expect((await t.callOk(getImprovementPolicyTool, { policy_id })).retrains[0].status).toBe('training');
  });

  it('a policy whose base config was deleted gives a located error; bad creates are refused with the field', { timeout: 120_000 }, async () => {
    const judge = await startFakeJudge();
    closers.push(judge.close);
    const w = await loopWorkspace(judge.url);
    t = w.t;
    const args = { name: 'orphan', source: { path: w.prod }, rubric: 'helpfulness', base_config_id: w.config_id, eval_dataset_id: w.eval_dataset_id, model_name: 'stories-bot', gates: GATES };
    const { policy_id } = await t.callOk(createImprovementPolicyTool, args);
    const dup = await t.call('create_improvement_policy', args);
    expect(errorCode(dup)).toBe('STATE_CONFLICT');
    const missing = await t.call('create_improvement_policy', { ...args, name: 'p1', base_config_id: 'cfg_nope' });
    expect(errorCode(missing)).toBe('NOT_FOUND');
    expect(missing._meta).toMatchObject({ details: { field: 'base_config_id' } });
    const prod = await t.call('create_improvement_policy', { ...args, name: 'p2', promote_to: 'production' });
    expect(errorCode(prod)).toBe('INVALID_INPUT');
    expect(resultText(prod)).toContain('require_approval: false');
    const gate = await t.call('create_improvement_policy', { ...args, name: 'p3', gates: [{ metric: 'human_win_rate', comparator: '>=', threshold: 0.6 }] });
    expect(resultText(gate)).toContain("gates[0].metric 'human_win_rate' is measured neither by evaluate_model nor by the loop (win_rate)");

    t.services.workspace.db.prepare('DELETE FROM training_configs WHERE config_id = ?').run(w.config_id);
    const result = await t.call('run_improvement_policy', { policy_id });
    expect(errorCode(result)).toBe('NOT_FOUND');
    expect(resultText(result)).toContain(`Policy 'orphan' (${policy_id}): its base config ${w.config_id} no longer exists`);
    expect(result._meta).toMatchObject({ details: { field: 'base_config_id' } });
  });

  it('a bad production line is skipped with its reason; a half-written last line waits for the next cycle', { timeout: 120_000 }, async () => {
    const { judge, w, policy: { policy_id } } = await withPolicy('broken');
    const { appendFileSync } = await import('node:fs');
    appendOutputs(w.prod, 'a', 1, 0);
    appendFileSync(w.prod, '{"input": "no output here"}\n');
    appendOutputs(w.prod, 'b', 1, 0);
    appendFileSync(w.prod, '{"input": "being writ');
    const first = await t.callOk(runImprovementPolicyTool, { policy_id });
    expect(first.decision).toBe('pooled');
    expect(first.reason).toContain(`skipped 1 line(s) that are no row to judge, e.g. prod.jsonl line 2: Line 2 of ${w.prod} has no output (a string) to judge, nor chat messages.`);
    expect(judge.judged).toEqual(['GOOD answer a-0.', 'GOOD answer b-0.']);
    expect(first.policy.cursor).toEqual({ lines: 3 });

    // The writer finishes the line: the next cycle reads it.
    appendFileSync(w.prod, 'ten", "output": "GOOD late answer."}\n');
    const second = await t.callOk(runImprovementPolicyTool, { policy_id });
    expect(second.decision).toBe('pooled');
    expect(judge.judged).toHaveLength(3);
    expect(second.policy.cursor).toEqual({ lines: 4 });
    expect(second.policy.pool.unused).toBe(3);
  });
});

describe('improvement policy: the serve scheduler', () => {
  it('runs a policy with interval_s when due, moves next_run_at, and skips a policy another process holds', { timeout: 120_000 }, async () => {
    const { judge, w, policy: created } = await withPolicy('timed', { interval_s: 3600 });
    const { startPolicyScheduler } = await import('../../src/improvement/scheduler.js');
    const { PolicyStore } = await import('../../src/improvement/store.js');
    const store = new PolicyStore(t.services.workspace);
    expect(created.status).toBe('scheduled');
    expect(Date.parse(created.next_run_at!)).toBeLessThanOrEqual(Date.now());
    appendOutputs(w.prod, 'a', 2, 0);

    // Another server holds the policy: this one's ticks skip it.
    const now = new Date();
    expect(store.lease(created.policy_id, 'other-server', new Date(now.getTime() + 60_000), now)).toBe(true);
    let scheduler = startPolicyScheduler(t.services, { tick_ms: 50 });
    await new Promise((r) => setTimeout(r, 400));
    await scheduler.stop();
    expect(store.cycles(created.policy_id)).toEqual([]);
    store.release(created.policy_id, 'other-server', now.toISOString());

    scheduler = startPolicyScheduler(t.services, { tick_ms: 50 });
    await expect.poll(() => store.cycles(created.policy_id).filter((c) => c.ended_at).length, { timeout: 30_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    await scheduler.stop();
    const after = store.get(created.policy_id);
    // One cycle, then the next is an interval away (kept in the row, so a restarted server keeps the schedule).
    expect(store.cycles(created.policy_id).map((c) => c.decision)).toEqual(['pooled']);
    expect(Date.parse(after.next_run_at!) - Date.now()).toBeGreaterThan(3500 * 1000);
    expect(judge.judged).toHaveLength(2);
  });
});
