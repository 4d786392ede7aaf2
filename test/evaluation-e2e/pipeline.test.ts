/**
 * The evidence path of a fine-tune, through the real MCP client: evaluate the job's adapter,
 * compare it with its base (judge via sampling), register with lineage and evidence, promote past
 * the configured gates, card, evaluate and export the registered version.
 */
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareModelsTool } from '../../tools/compare-models.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { exportModelTool } from '../../tools/export-model.js';
import { modelCardTool } from '../../tools/model-card.js';
import { promoteModelTool } from '../../tools/promote-model.js';
import { registerModelTool } from '../../tools/register-model.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { makeSucceededJob, writeDatasetVersion } from '../registry/records.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const TEST_ROWS = [
  { prompt: 'Once upon a time,', completion: ' there was a little girl named Lily.' },
  { prompt: 'One day, Tom went to the park.', completion: ' He saw a big dog.' },
  { prompt: 'The sun was shining.', completion: ' Mia wanted to play outside.' },
  { prompt: 'Ben had a toy car.', completion: ' He loved it very much.' },
];

describe('evaluate → compare → register → promote → card → export', () => {
  let t: TestClient;
  let modelId: string;
  let jobId: string;
  beforeAll(async () => {
    t = await connectTestClient({
      clientCapabilities: { capabilities: { sampling: {} } },
      config: { evaluation: { gates: [{ metric: 'perplexity', comparator: '<=', threshold: 1e6 }, { metric: 'win_rate', comparator: '>=', threshold: 0.65 }], bootstrap_samples: 200, bootstrap_seed: 1 } },
    });
    // A judge that prefers the shorter answer (deterministic, order-blind).
    t.client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const text = (request.params.messages[0].content as { text: string }).text;
      const a = /Assistant A's Answer\]\n([\s\S]*?)\n\[The End/.exec(text)![1];
      const b = /Assistant B's Answer\]\n([\s\S]*?)\n\[The End/.exec(text)![1];
      return { model: 'j', role: 'assistant', content: { type: 'text', text: a.length === b.length ? '[[C]]' : a.length < b.length ? '[[A]]' : '[[B]]' } };
    });
    ({ model: { id: modelId } } = await t.services.models.import(join(ASSETS, 'stories260K.bin'), { tokenizer: join(ASSETS, 'tok512.bin') }));
    writeDatasetVersion(t.services, 'ds_stories_eval', 'e'.repeat(64), { test: TEST_ROWS, task_type: 'completion' });
    jobId = makeSucceededJob(t.services, { dataset_id: 'ds_stories_eval', base_model: modelId, kv_dim: 32, seed: 21 });
  });
  afterAll(async () => t?.close());

  it('carries the evidence from evaluation to a promoted, exported version', async () => {
    const evaluation = await t.callOk(evaluateModelTool, { job_id: jobId, dataset_id: 'ds_stories_eval', metrics: ['perplexity', 'chrf', 'rouge_l'], max_new_tokens: 10 });
    expect(evaluation.dataset).toBe('ds_stories_eval/test');
    expect(evaluation.dataset_hash).toBe('e'.repeat(64));
    expect(evaluation.model).toMatchObject({ job_id: jobId, base_model_id: modelId });
    expect(evaluation.examples).toBe(4);
    expect(evaluation.gates.map((g) => g.metric)).toEqual(['perplexity']);

    const comparison = await t.callOk(compareModelsTool, { models: [{ job_id: jobId, label: 'tuned' }], dataset_id: 'ds_stories_eval', metrics: ['chrf'], max_new_tokens: 10 });
    expect(comparison.models.map((m) => m.model)).toEqual([comparison.baseline, 'tuned']);
    expect(comparison.judge!.results).toHaveLength(1);

    const { model_version: v } = await t.callOk(registerModelTool, { name: 'stories-bot', version: '1.0.0', job_id: jobId, evaluation_ids: [evaluation.evaluation_id], comparison_id: comparison.comparison_id });
    expect(v.lineage.missing).toEqual([]);
    expect(v.lineage.evaluation_ids).toEqual([evaluation.evaluation_id, comparison.comparison_id]);
    expect(v.metrics.perplexity).toBe(evaluation.metrics.perplexity);
    expect(v.metrics.win_rate).toBe(comparison.judge!.results[0].win_rate);

    // The adapter's weights are small: both models answer alike, every pair is a tie, win-rate 0.5.
    expect(comparison.judge!.results[0]).toMatchObject({ ties: 4, win_rate: 0.5 });
    const refused = await t.call('promote_model', { name: 'stories-bot', version: '1.0.0', alias: 'production' });
    expect(errorCode(refused)).toBe('GATE_FAILED');
    expect(resultText(refused)).toContain('win_rate 0.5 (needs >= 0.65)');
    await t.callOk(promoteModelTool, { name: 'stories-bot', version: '1.0.0', alias: 'production', force: true, reason: 'pipeline test: ties only' });

    const card = await t.callOk(modelCardTool, { name: 'stories-bot', alias: 'production' });
    expect(card.markdown).toContain(comparison.comparison_id);
    expect(card.markdown).toContain(`| perplexity <= 1000000 |`);

    const again = await t.callOk(evaluateModelTool, { version: 'stories-bot@1.0.0', dataset_id: 'ds_stories_eval', metrics: ['perplexity'] });
    expect(again.model.version_id).toBe(v.version_id);
    expect(again.metrics.perplexity).toBeCloseTo(evaluation.metrics.perplexity, 5);

    const exported = await t.callOk(exportModelTool, { version: 'stories-bot@1.0.0' });
    expect(exported.model.version_id).toBe(v.version_id);
    expect(existsSync(exported.model_file)).toBe(true);
  });

  it('stops on cancellation and stores nothing', async () => {
    const before = t.services.workspace.db.prepare('SELECT COUNT(*) FROM evaluations').pluck().get() as number;
    const controller = new AbortController();
    const call = t.client.callTool(
      { name: 'evaluate_model', arguments: { job_id: jobId, dataset_id: 'ds_stories_eval', metrics: ['chrf'], max_new_tokens: 200 } },
      undefined,
      { signal: controller.signal, onprogress: () => controller.abort() },
    );
    await expect(call).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 1500));
    expect(t.services.workspace.db.prepare('SELECT COUNT(*) FROM evaluations').pluck().get()).toBe(before);
  });
});
