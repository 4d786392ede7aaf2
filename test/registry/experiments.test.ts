import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultExperimentName } from '../../src/registry/experiments.js';
import { compareExperimentsTool } from '../../tools/compare-experiments.js';
import { logExperimentTool } from '../../tools/log-experiment.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { makeSucceededJob, writeDatasetVersion } from './records.js';

describe('experiments through MCP', () => {
  let t: TestClient;
  beforeEach(async () => {
    t = await connectTestClient();
    writeDatasetVersion(t.services, 'ds_stories', 'd'.repeat(64));
  });
  afterEach(async () => t?.close());

  it('names experiments <project>-finetune-<date>', () => {
    expect(defaultExperimentName('support', new Date('2026-11-22T01:02:03Z'))).toBe('support-finetune-2026-11-22');
  });

  it('logs a job as a run (params, final metrics, artifacts) and compares runs side by side', async () => {
    const slow = makeSucceededJob(t.services, { dataset_id: 'ds_stories', learning_rate: 1e-4, losses: [2.2, 1.8, 1.6] });
    const fast = makeSucceededJob(t.services, { dataset_id: 'ds_stories', learning_rate: 5e-4, losses: [2.2, 1.4, 1.1] });
    const a = await t.callOk(logExperimentTool, { project: 'stories', job_id: slow, run_name: 'lr-1e-4' });
    const b = await t.callOk(logExperimentTool, { project: 'stories', job_id: fast, run_name: 'lr-5e-4', metrics: { bleu: 12.5 } });
    expect(a.run.experiment).toBe(defaultExperimentName('stories'));
    expect(a.run.params).toMatchObject({ base_model: 'mdl_stories260k', dataset_id: 'ds_stories', method: 'sft', approach: 'lora', learning_rate: 1e-4, lora_r: 4 });
    expect(a.run.metrics).toEqual({ loss: 1.6, tokens_per_s: 1002 });
    expect(a.run.artifacts.adapter).toContain(`${slow}/output/adapter`);

    const c = await t.callOk(compareExperimentsTool, { experiment: a.run.experiment });
    expect(c.runs.map((r) => r.run_name)).toEqual(['lr-1e-4', 'lr-5e-4']);
    expect(c.varying_params).toEqual([{ param: 'learning_rate', values: [1e-4, 5e-4] }]);
    expect(c.constant_params).toMatchObject({ lora_r: 4, dataset_id: 'ds_stories' });
    expect(c.metrics).toEqual([
      { metric: 'bleu', values: [null, 12.5], best_run: b.run.run_id, direction: 'higher' },
      { metric: 'loss', values: [1.6, 1.1], best_run: b.run.run_id, direction: 'lower' },
      { metric: 'tokens_per_s', values: [1002, 1002], best_run: a.run.run_id, direction: 'higher' },
    ]);
    const byIds = await t.callOk(compareExperimentsTool, { run_ids: [b.run.run_id, a.run.run_id] });
    expect(byIds.runs.map((r) => r.run_id)).toEqual([b.run.run_id, a.run.run_id]);
    // Every job is a run, logged or not.
    const third = makeSucceededJob(t.services, { dataset_id: 'ds_stories', learning_rate: 1e-3, losses: [2.2, 0.9] });
    const jobs = await t.callOk(compareExperimentsTool, { job_ids: [slow, third] });
    expect(jobs.varying_params).toEqual([{ param: 'learning_rate', values: [1e-4, 1e-3] }]);
    expect(jobs.metrics.find((m) => m.metric === 'loss')).toMatchObject({ values: [1.6, 0.9], best_run: third });
    expect(errorCode(await t.call('compare_experiments', {}))).toBe('INVALID_INPUT');
  });

  it('keeps runs immutable and refuses empty or unknown input', async () => {
    await t.callOk(logExperimentTool, { experiment: 'x', run_name: 'r1', params: { lr: 1 }, metrics: { loss: 1 } });
    expect(errorCode(await t.call('log_experiment', { experiment: 'x', run_name: 'r1', metrics: { loss: 2 } }))).toBe('STATE_CONFLICT');
    expect(errorCode(await t.call('log_experiment', { experiment: 'x' }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('log_experiment', { experiment: 'bad name!', metrics: { loss: 1 } }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('log_experiment', { experiment: 'x', job_id: 'job_missing' }))).toBe('NOT_FOUND');
    expect(errorCode(await t.call('compare_experiments', { experiment: 'nope' }))).toBe('NOT_FOUND');
    expect(() => t.services.workspace.db.prepare("UPDATE experiment_runs SET metrics = '{}'").run()).toThrow(/IMMUTABLE_RECORD/);
  });
});
