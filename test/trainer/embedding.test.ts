import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedTexts, loadHeadModel, releaseHeadModel } from '../../plugins/local/engine/heads/model.js';
import type { JobResult } from '../../plugins/local/trainer/job.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { runStoriesHeadJob, type MemorySink } from './helpers/job-fixtures.js';

/**
 * Acceptance of embedding fine-tuning: LoRA with MultipleNegativesRanking (in-batch negatives plus
 * each triplet's hard negative) on stories260K raises recall@1 of held-out story questions far above
 * the base model's (mean-pooled), and writes the sentence-transformers folder layout.
 */
const FIXTURE = new URL('../fixtures/story-retrieval/', import.meta.url).pathname;
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

let t: TestClient;
let root: string;
let modelId: string;
let baseDir: string;
let sink: MemorySink;
let result: JobResult;

beforeAll(async () => {
  t = await connectTestClient();
  ({ modelId, baseDir, root, sink, result } = await runStoriesHeadJob(t, { fixture: FIXTURE, task_type: 'triplet', method: 'embedding', hyper: { epochs: 2, batch_size: 16, learning_rate: 5e-3, max_seq_length: 80, eval_steps: 10, warmup_ratio: 0.1 } }));
}, 90_000);
afterAll(async () => {
  await t?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('embedding LoRA (MultipleNegativesRanking) on story questions, stories260K', () => {
  it('raises recall@1, MRR@10 and nDCG@10 on the held-out split far above the base model (evaluate_model)', async () => {
    const path = join(FIXTURE, 'test.jsonl');
    const base = await t.callOk(evaluateModelTool, { model_id: modelId, path });
    const tuned = await t.callOk(evaluateModelTool, { model_id: modelId, adapter_path: result.adapter_dir!, path });
    expect(tuned.task).toBe('triplet');
    expect(Object.keys(tuned.metrics).sort()).toEqual(['mrr_at_10', 'ndcg_at_10', 'recall_at_1', 'recall_at_10', 'recall_at_5']);
    expect(base.metrics.recall_at_1).toBeLessThan(0.2);
    expect(tuned.metrics.recall_at_1).toBeGreaterThan(0.6);
    expect(tuned.metrics.recall_at_1 - base.metrics.recall_at_1).toBeGreaterThan(0.4);
    expect(tuned.metrics.mrr_at_10).toBeGreaterThan(base.metrics.mrr_at_10);
    expect(tuned.metrics.ndcg_at_10).toBeGreaterThan(base.metrics.ndcg_at_10);
    expect(tuned.metrics.recall_at_10).toBeGreaterThanOrEqual(tuned.metrics.recall_at_5);
  });

  it('lowers the validation MultipleNegativesRanking loss', () => {
    const loss = sink.series('eval_loss');
    expect(loss[0]![0]).toBe(0);
    expect(loss.at(-1)![1]).toBeLessThan(loss[0]![1] * 0.5);
  });

  it('writes the sentence-transformers layout beside the Hugging Face weights, and a PEFT FEATURE_EXTRACTION adapter', async () => {
    const dir = result.merged_dir;
    expect(json(join(dir, 'modules.json'))).toEqual([
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    ]);
    expect(json(join(dir, '1_Pooling', 'config.json'))).toMatchObject({ word_embedding_dimension: 64, pooling_mode_mean_tokens: true, pooling_mode_lasttoken: false, pooling_mode_cls_token: false });
    expect(json(join(dir, 'sentence_bert_config.json'))).toMatchObject({ do_lower_case: false });
    expect(json(join(dir, 'config_sentence_transformers.json'))).toMatchObject({ similarity_fn_name: 'cosine' });
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(join(dir, file)), file).toBe(true);
    expect(json(join(result.adapter_dir!, 'adapter_config.json'))).toMatchObject({ peft_type: 'LORA', task_type: 'FEATURE_EXTRACTION', modules_to_save: null });
    // the folder alone embeds as base + adapter does
    const fromAdapter = await loadHeadModel(baseDir, result.adapter_dir!, { threads: 2 });
    const fromFolder = await loadHeadModel(dir, null, { threads: 2 });
    const texts = ['Which fox found a hat at home?', 'Once upon a time, there was a brave fox named Sue.'];
    const a = await embedTexts(fromAdapter, texts);
    const b = await embedTexts(fromFolder, texts);
    a.forEach((v, i) => v.forEach((x, k) => expect(Math.abs(x - b[i]![k]!)).toBeLessThan(1e-4)));
    await releaseHeadModel(fromAdapter);
    await releaseHeadModel(fromFolder);
  });
});
