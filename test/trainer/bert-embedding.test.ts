import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedTexts, loadHeadModel, releaseHeadModel } from '../../plugins/local/engine/heads/model.js';
import { runJob, type JobResult } from '../../plugins/local/trainer/job.js';
import { validateSpec } from '../../plugins/local/trainer/validate.js';
import { readSafetensorsShapes } from '../../src/models/files/safetensors.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { exportModelTool } from '../../tools/export-model.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { makeSpec, memorySink, type MemorySink } from './helpers/job-fixtures.js';
import { tripletTexts, writeTinyBert } from './helpers/tiny-bert.js';

/**
 * A BERT-family encoder (a BertModel folder with a WordPiece tokenizer.json, random weights)
 * trained as an embedding model by the local engine: CLS pooling, LoRA on query/key/value/dense,
 * MultipleNegativesRanking on story-question triplets. Recall@1 on the held-out split rises far above
 * the untrained encoder's; the output is a sentence-transformers folder with CLS pooling whose
 * weights keep BertModel's names. Methods an encoder cannot train, and generation, are refused.
 */
const FIXTURE = new URL('../fixtures/story-retrieval/', import.meta.url).pathname;
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

let t: TestClient;
let modelId: string;
let baseDir: string;
let sink: MemorySink;
let result: JobResult;

const spec = (method: 'embedding' | 'sft' | 'classification', approach: 'lora' | 'qlora' | 'full' = 'lora') =>
  makeSpec({
    root: join(t.home, `bert-${method}-${approach}`),
    modelDir: baseDir,
    train: join(FIXTURE, 'train.jsonl'),
    validation: join(FIXTURE, 'validation.jsonl'),
    task_type: 'triplet',
    method,
    approach,
    hyper: { epochs: 3, batch_size: 16, learning_rate: 5e-3, max_seq_length: 64, eval_steps: 10, warmup_ratio: 0.1, pooling: 'cls' },
  });

beforeAll(async () => {
  t = await connectTestClient();
  const texts = ['train', 'validation', 'test'].flatMap((s) => tripletTexts(join(FIXTURE, `${s}.jsonl`)));
  const { model } = await t.services.models.import(writeTinyBert(join(t.home, 'tiny-bert'), texts));
  modelId = model.id;
  baseDir = t.services.models.get(model.id).dir;
  sink = memorySink();
  result = await runJob(spec('embedding'), sink, { threads: 2 });
}, 180_000);
afterAll(async () => {
  await t?.close();
});

describe('BERT encoder: embedding LoRA with CLS pooling (MultipleNegativesRanking)', () => {
  it('imports as architecture bert', () => {
    expect(t.services.models.get(modelId)).toMatchObject({ architecture: 'bert', model_type: 'bert' });
  });

  it('raises recall@1 and MRR@10 on the held-out split far above the untrained encoder (evaluate_model)', async () => {
    const path = join(FIXTURE, 'test.jsonl');
    const base = await t.callOk(evaluateModelTool, { model_id: modelId, path });
    const tuned = await t.callOk(evaluateModelTool, { model_id: modelId, adapter_path: result.adapter_dir!, path });
    expect(base.metrics.recall_at_1).toBeLessThan(0.15);
    expect(tuned.metrics.recall_at_1).toBeGreaterThan(0.45);
    expect(tuned.metrics.recall_at_1 - base.metrics.recall_at_1).toBeGreaterThan(0.3);
    expect(tuned.metrics.mrr_at_10).toBeGreaterThan(base.metrics.mrr_at_10 + 0.3);
    const loss = sink.series('eval_loss');
    expect(loss.at(-1)![1]).toBeLessThan(loss[0]![1] * 0.3);
  });

  it('writes a sentence-transformers folder with CLS pooling and BertModel weight names; it embeds as base + adapter does', async () => {
    const dir = result.merged_dir;
    expect(json(join(dir, '1_Pooling', 'config.json'))).toMatchObject({ word_embedding_dimension: 64, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false, pooling_mode_lasttoken: false });
    expect(json(join(dir, 'config.json'))).toMatchObject({ model_type: 'bert', architectures: ['BertModel'] });
    const names = [...readSafetensorsShapes(join(dir, 'model.safetensors')).keys()];
    expect(names).toContain('encoder.layer.1.attention.self.query.weight');
    expect(names.some((n) => n.includes('lora'))).toBe(false);
    const adapter = json(join(result.adapter_dir!, 'adapter_config.json'));
    expect(adapter).toMatchObject({ peft_type: 'LORA', task_type: 'FEATURE_EXTRACTION' });
    expect([...(adapter.target_modules as string[])].sort()).toEqual(['dense', 'key', 'query', 'value']);
    const fromAdapter = await loadHeadModel(baseDir, result.adapter_dir!, { threads: 2 });
    const fromFolder = await loadHeadModel(dir, null, { threads: 2 });
    expect(fromFolder.pooling).toBe('cls');
    const texts = ['Which fish found a map by the classroom?', 'Once upon a time, there was a happy fish named Zoe.'];
    const a = await embedTexts(fromAdapter, texts);
    const b = await embedTexts(fromFolder, texts);
    a.forEach((v, i) => v.forEach((x, k) => expect(Math.abs(x - b[i]![k]!)).toBeLessThan(1e-4)));
    await releaseHeadModel(fromAdapter);
    await releaseHeadModel(fromFolder);
  });

  it('export_model format "hf" of the adapter writes the sentence-transformers folder (CLS pooling) with the adapter merged', async () => {
    const out = await t.callOk(exportModelTool, { model_id: modelId, adapter_path: result.adapter_dir!, format: 'hf' });
    expect(out.files.map((f) => f.name)).toEqual(expect.arrayContaining(['modules.json', '1_Pooling/config.json', 'sentence_bert_config.json', 'model.safetensors', 'tokenizer.json']));
    expect(json(join(out.path, '1_Pooling', 'config.json'))).toMatchObject({ pooling_mode_cls_token: true });
    expect(json(join(out.path, 'sentence_bert_config.json'))).toMatchObject({ max_seq_length: json(join(result.merged_dir, 'sentence_bert_config.json')).max_seq_length });
    const exported = await loadHeadModel(out.path, null, { threads: 2 });
    const fromJob = await loadHeadModel(result.merged_dir, null, { threads: 2 });
    const texts = ['Which fish found a map by the classroom?'];
    const [a] = await embedTexts(exported, texts);
    const [b] = await embedTexts(fromJob, texts);
    a!.forEach((x, k) => expect(Math.abs(x - b![k]!)).toBeLessThan(1e-5));
    await releaseHeadModel(exported);
    await releaseHeadModel(fromJob);
  });

  it('refuses at pre-flight what an encoder cannot train: sft, qlora', () => {
    const problems = (method: 'sft' | 'classification' | 'embedding', approach: 'lora' | 'qlora' = 'lora') => validateSpec(spec(method, approach)).filter((i) => i.severity === 'error');
    expect(problems('sft')).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'CAPABILITY_UNSUPPORTED', field: 'method', message: expect.stringContaining('method "embedding"') })]));
    expect(problems('classification').map((i) => i.field)).not.toContain('method');
    expect(problems('embedding', 'qlora')).toEqual([expect.objectContaining({ field: 'approach', message: expect.stringContaining('with lora') })]);
    expect(problems('embedding')).toEqual([]);
  });

  it('generate, and GGUF / ONNX decoder export, of an encoder are isError results that say why, not a crash', async () => {
    const res = await t.call('generate', { model_id: modelId, prompt: 'Once upon a time' });
    expect(res.isError).toBe(true);
    expect(errorCode(res)).toBe('MODEL_UNSUPPORTED');
    expect(JSON.stringify(res.content)).toContain('encoder');
    for (const format of ['gguf', 'onnx']) {
      const exported = await t.call('export_model', { model_id: modelId, format });
      expect(exported.isError, format).toBe(true);
      expect(JSON.stringify(exported.content), format).toContain('is an encoder');
    }
  });
});
