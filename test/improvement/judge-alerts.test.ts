/**
 * Issue 15, point 4: judge score histograms labelled per policy (judge_outputs alone: policy="none"),
 * and an alert when a cycle's judge could not score more than improvement.judge_failure_alert_rate of
 * its rows, POSTed through the alert outbox to the base config's webhook.
 */
import { appendFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { createImprovementPolicyTool } from '../../tools/create-improvement-policy.js';
import { judgeOutputsTool } from '../../tools/judge-outputs.js';
import { runImprovementPolicyTool } from '../../tools/run-improvement-policy.js';
import { receiver } from '../training/webhook-receiver.js';
import { startFakeJudge } from './fake-judge.js';
import { appendOutputs, GATES, loopLifecycle, loopWorkspace, TINY } from './helpers.js';

const run = loopLifecycle();

describe('improvement policy: judge metrics and the judge failure alert', () => {
  it('labels judge scores by policy, and alerts the webhook once when the judge fails on more rows than the threshold', { timeout: 120_000 }, async () => {
    const hook = await receiver();
    const judge = await startFakeJudge();
    run.closers.push(hook.close, judge.close);
    const w = await loopWorkspace(judge.url);
    const t = (run.t = w.t);
    const { config_id } = await t.callOk(configureTrainingTool, { base_model: w.model_id, dataset_id: w.base_dataset_id, method: 'sft', approach: 'lora', backend: 'local', template: 'smoke', overrides: TINY, policy: { webhook_url: hook.url } });
    const { policy_id } = await t.callOk(createImprovementPolicyTool, { name: 'watched', source: { path: w.prod }, rubric: 'helpfulness', base_config_id: config_id, eval_dataset_id: w.eval_dataset_id, model_name: 'bot', gates: GATES });

    // 1 of 5 unscored: 20 %, not above the default 0.2: no alert.
    appendOutputs(w.prod, 'a', 4, 0);
    appendFileSync(w.prod, JSON.stringify({ input: 'Q?', output: 'UNJUDGEABLE 1' }) + '\n');
    const calm = await t.callOk(runImprovementPolicyTool, { policy_id });
    expect(calm.decision).toBe('pooled');
    expect(calm.reason).not.toContain('could not score');

    // 2 of 3 unscored: alerted, and said in the cycle's reason.
    appendOutputs(w.prod, 'b', 1, 0);
    appendFileSync(w.prod, [1, 2].map((i) => JSON.stringify({ input: 'Q?', output: `UNJUDGEABLE b${i}` })).join('\n') + '\n');
    const alarmed = await t.callOk(runImprovementPolicyTool, { policy_id });
    expect(alarmed.decision).toBe('pooled');
    expect(alarmed.reason).toMatch(/the judge could not score 2 of 3 rows \(67% > improvement\.judge_failure_alert_rate 0\.2\), e\.g\. line 2: no valid verdict after 1 attempt: answer is not JSON.*; alerted the webhook/);
    const cycleId = alarmed.policy.cycles.at(-1)!.cycle_id;
    await expect.poll(() => hook.bodies.filter((b) => b.event === 'improvement_judge_failures'), { timeout: 15_000 }).toHaveLength(1);
    const body = hook.bodies.find((b) => b.event === 'improvement_judge_failures')!;
    expect(body).toMatchObject({ source: 'finetune-mcp', job_id: null, policy: 'watched', policy_id, cycle_id: cycleId, judged: 3, failed: 2, threshold: 0.2, judge_run_id: alarmed.policy.cycles.at(-1)!.judge_run_id });
    expect(body.failure_rate).toBeCloseTo(2 / 3, 10);
    expect(typeof body.alert_id).toBe('number');

    // judge_outputs alone is labelled policy="none"; the policy's cycles by its name.
    await t.callOk(judgeOutputsTool, { path: w.prod, rubric: 'helpfulness', limit: 2 });
    const metrics = await t.services.metrics.registry.metrics();
    expect(metrics).toContain('finetune_mcp_judge_score_count{rubric="helpfulness",source="file",policy="watched"} 5');
    expect(metrics).toContain('finetune_mcp_judged_outputs_total{rubric="helpfulness",source="file",policy="watched",outcome="failed"} 3');
    expect(metrics).toContain('finetune_mcp_judge_score_count{rubric="helpfulness",source="file",policy="none"} 2');
  });

  it('the threshold is config improvement.judge_failure_alert_rate, a share in [0, 1]', () => {
    expect(loadConfig({ env: {}, argv: [], overrides: {} }).improvement.judge_failure_alert_rate).toBe(0.2);
    expect(loadConfig({ env: {}, argv: [], overrides: { improvement: { judge_failure_alert_rate: 0.5 } } }).improvement.judge_failure_alert_rate).toBe(0.5);
    expect(() => loadConfig({ env: {}, argv: [], overrides: { improvement: { judge_failure_alert_rate: 1.5 } } })).toThrow(/improvement\.judge_failure_alert_rate/);
  });
});
