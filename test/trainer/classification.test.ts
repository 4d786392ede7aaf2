import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyTexts, loadHeadModel, releaseHeadModel } from '../../plugins/local/engine/heads/model.js';
import type { JobResult } from '../../plugins/local/trainer/job.js';
import { readSafetensorsShapes } from '../../src/models/files/safetensors.js';
import { classificationReport } from '../../src/evaluation/metrics/classification.js';
import { classifyTool } from '../../tools/classify.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { exportModelTool } from '../../tools/export-model.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { runStoriesHeadJob, type MemorySink } from './helpers/job-fixtures.js';

/**
 * Acceptance of the classification head: LoRA on stories260K learns to tell story sentences from the
 * same words shuffled (test/fixtures/story-fluency), well above the majority class on the held-out
 * stories, and writes a PEFT SEQ_CLS adapter and a transformers …ForSequenceClassification folder.
 */
const FIXTURE = new URL('../fixtures/story-fluency/', import.meta.url).pathname;
const rows = (split: string) => readFileSync(join(FIXTURE, `${split}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string });

let t: TestClient;
let root: string;
let modelId: string;
let baseDir: string;
let sink: MemorySink;
let result: JobResult;
let testPredictions: Array<{ label: string }> = [];

beforeAll(async () => {
  t = await connectTestClient();
  ({ modelId, baseDir, root, sink, result } = await runStoriesHeadJob(t, { fixture: FIXTURE, task_type: 'classification', method: 'classification', hyper: { epochs: 2, batch_size: 16, learning_rate: 5e-3, max_seq_length: 64, eval_steps: 10, warmup_ratio: 0.1, class_weights: 'balanced' } }));
}, 60_000);
afterAll(async () => {
  await t?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('LoRA sequence classification on stories260K (fluent vs scrambled sentences)', () => {
  it('beats the majority class on the held-out test split by a wide margin', async () => {
    const test = rows('test');
    const majority = Math.max(...['fluent', 'scrambled'].map((l) => test.filter((r) => r.label === l).length)) / test.length;
    const model = await loadHeadModel(baseDir, result.adapter_dir!, { threads: 2 });
    const predictions = await classifyTexts(model, test.map((r) => r.text));
    testPredictions = predictions;
    const accuracy = predictions.filter((p, i) => p.label === test[i]!.label).length / test.length;
    expect(majority).toBeLessThan(0.55);
    expect(accuracy).toBeGreaterThan(0.8);
    // the merged …ForSequenceClassification folder predicts exactly what base + adapter predicts
    const merged = await loadHeadModel(result.merged_dir, null, { threads: 2 });
    const again = await classifyTexts(merged, test.slice(0, 16).map((r) => r.text));
    again.forEach((p, i) => {
      expect(p.label).toBe(predictions[i]!.label);
      expect(p.probabilities.fluent).toBeCloseTo(predictions[i]!.probabilities.fluent!, 4);
    });
    await releaseHeadModel(model);
    await releaseHeadModel(merged);
  });

  it('evaluate_model scores the classifier with its head: accuracy, macro-F1 (scikit-learn\'s definition) and the confusion matrix', async () => {
    const path = join(FIXTURE, 'test.jsonl');
    const out = await t.callOk(evaluateModelTool, { model_id: modelId, adapter_path: result.adapter_dir!, path });
    expect(out.task).toBe('classification');
    expect(Object.keys(out.metrics).sort()).toEqual(['accuracy', 'macro_f1']);
    const perExample = readFileSync(out.per_example_path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prediction: string; reference: string });
    const report = classificationReport(perExample.map((e) => e.reference), perExample.map((e) => e.prediction));
    expect(out.metrics.macro_f1).toBe(report.macro.f1);
    expect(out.metrics.accuracy).toBeGreaterThan(0.8);
    expect(out.confusion_matrix).toEqual({ labels: ['fluent', 'scrambled'], matrix: report.confusion_matrix });
    expect(out.confusion_matrix!.matrix.flat().reduce((a, b) => a + b, 0)).toBe(rows('test').length);
    // The summary an agent reads names the majority-class baseline, and does not warn when the classifier beats it.
    const text = resultText(await t.call('evaluate_model', { model_id: modelId, adapter_path: result.adapter_dir!, path }));
    expect(text).toMatch(/always answering '(fluent|scrambled)' would score accuracy 0\.\d+/);
    expect(text).not.toContain('does no better');
    // Text rows carry no labels for the head, and the classifier has no LM head to score them: refused, not a meaningless perplexity.
    const textRows = join(t.home, 'plain-text.jsonl');
    writeFileSync(textRows, `${JSON.stringify({ text: 'Once upon a time there was a cat.' })}\n`);
    const refused = await t.call('evaluate_model', { model_id: modelId, adapter_path: result.adapter_dir!, path: textRows });
    expect(errorCode(refused)).toBe('INVALID_INPUT');
    expect(resultText(refused)).toContain('classification rows {text, label}');
    if (process.env.WRITE_CLASSIFIER_VECTORS) {
      writeFileSync(process.env.WRITE_CLASSIFIER_VECTORS, `${JSON.stringify({ labels: perExample.map((e) => e.reference), predictions: perExample.map((e) => e.prediction) })}\n`);
    }
  });

  it('classify returns each text\'s label and probabilities through the MCP tool', async () => {
    const texts = rows('test').slice(0, 6).map((r) => r.text);
    const out = await t.callOk(classifyTool, { model_id: modelId, adapter_path: result.adapter_dir!, texts });
    expect(out.labels).toEqual(['fluent', 'scrambled']);
    expect(out.results.map((r) => r.label)).toEqual(testPredictions.slice(0, 6).map((p) => p.label));
    for (const r of out.results) expect(r.probabilities.fluent! + r.probabilities.scrambled!).toBeCloseTo(1, 5);
    // an adapter without a classification head is refused with what to pass instead
    const refused = await t.call('classify', { model_id: modelId, texts: ['x'] });
    expect(refused.isError).toBe(true);
  });

  it('export_model format "hf" of the adapter writes the classifier folder (score.weight, id2label), which classifies as the adapter does', async () => {
    const out = await t.callOk(exportModelTool, { model_id: modelId, adapter_path: result.adapter_dir!, format: 'hf' });
    const config = JSON.parse(readFileSync(join(out.path, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ architectures: ['LlamaForSequenceClassification'], id2label: { 0: 'fluent', 1: 'scrambled' }, problem_type: 'single_label_classification' });
    expect(readSafetensorsShapes(join(out.path, 'model.safetensors')).get('score.weight')?.shape).toEqual([2, 64]);
    expect(out.files.map((f) => f.name)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'finetune_head.json', 'README.md']));
    const exported = await loadHeadModel(out.path, null, { threads: 2 });
    const texts = rows('test').slice(0, 6).map((r) => r.text);
    expect((await classifyTexts(exported, texts)).map((r) => r.label)).toEqual(testPredictions.slice(0, 6).map((p) => p.label));
    await releaseHeadModel(exported);
  });

  it('reports eval accuracy and lowers eval loss from the untrained head', () => {
    const loss = sink.series('eval_loss');
    expect(loss[0]![0]).toBe(0);
    expect(loss.at(-1)![1]).toBeLessThan(loss[0]![1] * 0.6);
    expect(sink.series('eval_accuracy').at(-1)![1]).toBeGreaterThan(0.8);
    expect(result.outcome.reason).toBe('completed');
  });

  it('saves a PEFT SEQ_CLS adapter with the head in modules_to_save, as PEFT does', () => {
    const config = JSON.parse(readFileSync(join(result.adapter_dir!, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.task_type).toBe('SEQ_CLS');
    expect(config.modules_to_save).toEqual(['score']);
    const shapes = readSafetensorsShapes(join(result.adapter_dir!, 'adapter_model.safetensors'));
    expect(shapes.get('base_model.model.score.weight')?.shape).toEqual([2, 64]);
    expect(shapes.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape[1]).toBe(64);
  });

  it('saves a transformers LlamaForSequenceClassification folder with id2label', () => {
    const config = JSON.parse(readFileSync(join(result.merged_dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.architectures).toEqual(['LlamaForSequenceClassification']);
    expect(config.id2label).toEqual({ 0: 'fluent', 1: 'scrambled' });
    expect(config.label2id).toEqual({ fluent: 0, scrambled: 1 });
    expect(typeof config.pad_token_id).toBe('number');
    const shapes = readSafetensorsShapes(join(result.merged_dir, 'model.safetensors'));
    expect(shapes.get('score.weight')?.shape).toEqual([2, 64]);
    expect(shapes.has('lm_head.weight')).toBe(false);
    expect(existsSync(join(result.merged_dir, 'tokenizer.json'))).toBe(true);
  });
});
