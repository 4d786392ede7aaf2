import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { promoteModelTool } from '../../tools/promote-model.js';
import { registerModelTool } from '../../tools/register-model.js';
import { rollbackModelTool } from '../../tools/rollback-model.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { insertEvaluation, makeSucceededJob, writeAdapter, writeDatasetVersion } from './records.js';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('registry results an agent reads', () => {
  let t: TestClient;
  beforeEach(async () => {
    t = await connectTestClient({ config: { evaluation: { gates: [{ metric: 'bleu', comparator: '>=', threshold: 35 }] } } });
  });
  afterEach(async () => t?.close());

  it('promote_model and rollback_model return {alias, from, to, gates}; detail adds the records', async () => {
    writeDatasetVersion(t.services, 'ds_stories', 'a'.repeat(64));
    for (const version of ['1.0.0', '1.1.0']) {
      const jobId = makeSucceededJob(t.services, { dataset_id: 'ds_stories' });
      await t.callOk(registerModelTool, { name: 'bot', version, job_id: jobId, evaluation_ids: [insertEvaluation(t.services, { bleu: 40, rouge_l: 0.5, perplexity: 3 })] });
    }
    await t.callOk(promoteModelTool, { name: 'bot', version: '1.0.0' });
    const promoted = await t.call('promote_model', { name: 'bot', version: '1.1.0' });
    const small = promoted.structuredContent as Record<string, unknown>;
    expect(small).toMatchObject({ name: 'bot', alias: 'production', from: '1.0.0', to: '1.1.0', changed: true, forced: false, gates: [{ metric: 'bleu', passed: true, value: 40 }] });
    expect(small.model_version).toBeUndefined();
    const rolled = await t.call('rollback_model', { name: 'bot', reason: 'latency regression' });
    expect(rolled.structuredContent).toMatchObject({ alias: 'production', from: '1.1.0', to: '1.0.0', reason: 'latency regression' });

    const promotedDetail = await t.callOk(promoteModelTool, { name: 'bot', version: '1.1.0', detail: true });
    expect(promotedDetail.model_version!.lineage.dataset_id).toBe('ds_stories');
    const rolledDetail = await t.callOk(rollbackModelTool, { name: 'bot', reason: 'again', detail: true });
    expect(rolledDetail.alias_history!.map((e) => e.action)).toEqual(['promote', 'promote', 'rollback', 'promote', 'rollback']);
    expect(rolledDetail.to_model_version!.version).toBe('1.0.0');

    const sizes = { promote: bytes(small), promote_detail: bytes(promotedDetail), rollback: bytes(rolled.structuredContent), rollback_detail: bytes(rolledDetail) };
    console.error(`structured result bytes: ${JSON.stringify(sizes)}`);
    expect(sizes.promote).toBeLessThan(500);
    expect(sizes.rollback).toBeLessThan(300);
    expect(sizes.promote_detail).toBeGreaterThan(3 * sizes.promote);
    expect(sizes.rollback_detail).toBeGreaterThan(6 * sizes.rollback);
  });

  it('GATE_FAILED on an unmeasured win-rate says to compare with a judge and register with the comparison_id', async () => {
    const gated = await connectTestClient({ config: { evaluation: { gates: [{ metric: 'win_rate', comparator: '>=', threshold: 0.65 }] } } });
    try {
      await gated.callOk(registerModelTool, { name: 'bot', version: '1.0.0', adapter_path: writeAdapter(join(gated.home, 'a')) });
      const refused = await gated.call('promote_model', { name: 'bot', version: '1.0.0' });
      expect(errorCode(refused)).toBe('GATE_FAILED');
      const text = resultText(refused);
      expect(text).toContain('win_rate not measured');
      expect(text).toMatch(/Recovery: .*compare_models .*bot@1\.0\.0.* judge.*register_model .*comparison_id/);
      expect(text).toContain('force=true');
    } finally {
      await gated.close();
    }
  });

  it('register_model on a failed job says it will produce no model, not "wait for it"', async () => {
    writeDatasetVersion(t.services, 'ds_stories', 'a'.repeat(64));
    const failed = makeSucceededJob(t.services, { dataset_id: 'ds_stories', status: 'failed' });
    const refused = await t.call('register_model', { name: 'bot', version: '1.0.0', job_id: failed });
    expect(errorCode(refused)).toBe('STATE_CONFLICT');
    const text = resultText(refused);
    expect(text).toContain('is failed');
    expect(text).not.toMatch(/wait/i);
    expect(text).toContain('monitor_training');
  });
});
