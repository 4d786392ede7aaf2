import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyTexts, loadHeadModel, releaseHeadModel } from '../../plugins/local/engine/heads/model.js';
import { runJob, type JobResult } from '../../plugins/local/trainer/job.js';
import { readSafetensorsShapes } from '../../src/models/files/safetensors.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { makeSpec, memorySink, type MemorySink } from './helpers/job-fixtures.js';
import { writeTinyBert } from './helpers/tiny-bert.js';

/**
 * A BERT encoder classifier (BertForSequenceClassification: [CLS] → pooler tanh(dense) → classifier
 * with bias), fully fine-tuned from a tiny random BertModel (with a pooler) on story sentences versus
 * the same words shuffled. Bidirectional attention and learned positions must carry word order: the
 * held-out accuracy beats the majority class, and the saved folder is transformers' layout
 * (`bert.`-prefixed body, `classifier.*`, id2label), loadable from config.json alone.
 */
const FIXTURE = new URL('../fixtures/story-fluency/', import.meta.url).pathname;
const rows = (split: string) => readFileSync(join(FIXTURE, `${split}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string });

let t: TestClient;
let sink: MemorySink;
let result: JobResult;

beforeAll(async () => {
  t = await connectTestClient();
  const texts = ['train', 'validation', 'test'].flatMap((s) => rows(s).map((r) => r.text));
  const { model } = await t.services.models.import(writeTinyBert(join(t.home, 'tiny-bert'), texts, { hidden: 64, layers: 2, heads: 4, inter: 128, positions: 128, pooler: true }));
  sink = memorySink();
  const spec = makeSpec({
    root: join(t.home, 'job'),
    modelDir: t.services.models.get(model.id).dir,
    train: join(FIXTURE, 'train.jsonl'),
    validation: join(FIXTURE, 'validation.jsonl'),
    task_type: 'classification',
    method: 'classification',
    approach: 'full',
    hyper: { epochs: 6, batch_size: 16, learning_rate: 1e-3, max_seq_length: 64, eval_steps: 20, warmup_ratio: 0.1 },
  });
  result = await runJob(spec, sink, { threads: 2 });
}, 240_000);
afterAll(async () => t?.close());

describe('BERT encoder classifier, full fine-tune (CLS pooling, pooler + classifier)', () => {
  it('beats the majority class on the held-out split (evaluate_model on the imported output folder)', async () => {
    const test = rows('test');
    const majority = Math.max(...['fluent', 'scrambled'].map((l) => test.filter((r) => r.label === l).length)) / test.length;
    const { model } = await t.services.models.import(result.merged_dir);
    const out = await t.callOk(evaluateModelTool, { model_id: model.id, path: join(FIXTURE, 'test.jsonl') });
    expect(out.metrics.accuracy).toBeGreaterThan(majority + 0.12);
    expect(out.metrics.macro_f1).toBeGreaterThan(0.6);
    expect(sink.events.find((e) => e.type === 'training_started')?.message).toMatch(/cls pooling/);
  });

  it('writes BertForSequenceClassification as transformers names it, and the folder classifies from config.json alone', async () => {
    const dir = result.merged_dir;
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ architectures: ['BertForSequenceClassification'], id2label: { 0: 'fluent', 1: 'scrambled' }, model_type: 'bert' });
    const shapes = readSafetensorsShapes(join(dir, 'model.safetensors'));
    expect(shapes.get('classifier.weight')?.shape).toEqual([2, 64]);
    expect(shapes.get('classifier.bias')?.shape).toEqual([2]);
    expect(shapes.get('bert.pooler.dense.weight')?.shape).toEqual([64, 64]);
    expect(shapes.has('bert.encoder.layer.1.attention.self.query.weight')).toBe(true);
    expect([...shapes.keys()].filter((n) => !n.startsWith('bert.') && !n.startsWith('classifier.'))).toEqual([]);
    // without finetune_head.json: labels from id2label, [CLS] pooling because the model is an encoder
    const bare = join(t.home, 'bare-classifier');
    cpSync(dir, bare, { recursive: true });
    rmSync(join(bare, 'finetune_head.json'));
    const texts = rows('test').slice(0, 8).map((r) => r.text);
    const a = await loadHeadModel(dir, null, { threads: 2 });
    const b = await loadHeadModel(bare, null, { threads: 2 });
    expect(b.pooling).toBe('cls');
    expect(b.labels).toEqual(['fluent', 'scrambled']);
    const pa = await classifyTexts(a, texts);
    const pb = await classifyTexts(b, texts);
    pa.forEach((p, i) => expect(Math.abs(p.probabilities.fluent! - pb[i]!.probabilities.fluent!)).toBeLessThan(1e-5));
    await releaseHeadModel(a);
    await releaseHeadModel(b);
  });
});
