import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyTexts, loadHeadModel, releaseHeadModel } from '../../plugins/local/engine/heads/model.js';
import { readSafetensorsShapes } from '../../src/models/files/safetensors.js';
import { classifyTool } from '../../tools/classify.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { ended, waitFor } from '../training/jobs-helpers.js';
import { writeTinyBert } from './helpers/tiny-bert.js';

/**
 * A BERT encoder classifier (BertForSequenceClassification: [CLS] → pooler tanh(dense) → classifier
 * with bias), fully fine-tuned from a tiny random BertModel (with a pooler) on story sentences versus
 * the same words shuffled. Bidirectional attention and learned positions must carry word order: the
 * held-out accuracy beats the majority class, and the saved folder is transformers' layout
 * (`bert.`-prefixed body, `classifier.*`, id2label), loadable from config.json alone. Driven through
 * the MCP tools, as an agent would: evaluate_model takes the full job's job_id (no adapter: its merged folder).
 */
const FIXTURE = new URL('../fixtures/story-fluency/', import.meta.url).pathname;
const rows = (split: string) => readFileSync(join(FIXTURE, `${split}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string });

let t: TestClient;
let jobId: string;
let mergedDir: string;

beforeAll(async () => {
  t = await connectTestClient({ config: { allowed_roots: [FIXTURE], training: { watch_interval_ms: 100 } } });
  const texts = ['train', 'validation', 'test'].flatMap((s) => rows(s).map((r) => r.text));
  const { model } = await t.services.models.import(writeTinyBert(join(t.home, 'tiny-bert'), texts, { hidden: 64, layers: 2, heads: 4, inter: 128, positions: 128, pooler: true }));
  // the agent's path: prepare, configure (auto picks classification), start, watch
  const dataset = await t.callOk(prepareDatasetTool, { path: join(FIXTURE, 'train.jsonl') });
  const config = await t.callOk(configureTrainingTool, {
    base_model: model.id,
    dataset_id: dataset.dataset_id,
    approach: 'full',
    overrides: { epochs: 6, batch_size: 16, gradient_accumulation: 1, learning_rate: 1e-3, max_seq_length: 64, warmup_ratio: 0.1 },
  });
  expect(config.method).toBe('classification');
  const job = await t.callOk(startTrainingTool, { config_id: config.config_id });
  jobId = job.job_id;
  const done = await waitFor(t, jobId, ended, 200_000);
  expect(done.status).toBe('succeeded');
  mergedDir = t.services.workspace.artifactPath('jobs', jobId, 'output', 'merged');
}, 240_000);
afterAll(async () => t?.close());

describe('BERT encoder classifier, full fine-tune (CLS pooling, pooler + classifier)', () => {
  it('beats the majority class on the held-out split (evaluate_model with the full job\'s job_id)', async () => {
    const test = rows('test');
    const majority = Math.max(...['fluent', 'scrambled'].map((l) => test.filter((r) => r.label === l).length)) / test.length;
    const out = await t.callOk(evaluateModelTool, { job_id: jobId, path: join(FIXTURE, 'test.jsonl') });
    expect(out.model.job_id).toBe(jobId);
    expect(out.metrics.accuracy).toBeGreaterThan(majority + 0.12);
    expect(out.metrics.macro_f1).toBeGreaterThan(0.6);
    const events = await t.callOk(monitorTrainingTool, { job_id: jobId, events_limit: 500 });
    expect(events.events.find((e) => e.type === 'training_started')?.message).toMatch(/full, classification, 2 labels, cls pooling/);
  });

  it('classify takes the full job by job_id alone; register_model says why a full fine-tune is not versioned', async () => {
    const out = await t.callOk(classifyTool, { job_id: jobId, texts: rows('test').slice(0, 4).map((r) => r.text) });
    expect(out.labels).toEqual(['fluent', 'scrambled']);
    expect(out.adapter).toBe(mergedDir);
    const refused = await t.call('register_model', { job_id: jobId, name: 'bert-fluency', version: '1.0.0' });
    expect(errorCode(refused)).toBe('CAPABILITY_UNSUPPORTED');
    expect(resultText(refused)).toMatch(/full fine-tune: the registry versions adapters[\s\S]*job_id \(evaluate_model, classify, export_model format "hf"\)/);
  });

  it('writes BertForSequenceClassification as transformers names it, and the folder classifies from config.json alone', async () => {
    const dir = mergedDir;
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
