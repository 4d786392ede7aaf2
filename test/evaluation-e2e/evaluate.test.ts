/**
 * evaluate_model on stories260K (llama2.c's test model, MIT; assets/models/stories260K/SOURCE.md).
 * References come from elsewhere: log-likelihoods from a transcription of llama2.c's run.c forward
 * (test/engine/helpers/runc-forward.ts, independent of the ONNX engine), and llama2.c's own greedy
 * output (`test_all.py` expected_stdout).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder } from '../../src/models/files/load-model.js';
import { Bleu, Chrf, classificationReport } from '../../src/evaluation/metrics/index.js';
import { evaluateModelTool } from '../../tools/evaluate-model.js';
import { readRunCCheckpoint, runCNll } from '../engine/helpers/runc-forward.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { writeAdapter } from '../registry/records.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const STORIES = readFileSync(new URL('../fixtures/tinystories/TinyStories-valid.head.txt', import.meta.url), 'utf8')
  .split('<|endoftext|>')
  .map((s) => s.trim())
  .filter(Boolean)
  .slice(2, 8) // the first story is cut at the file start
  .map((s) => s.slice(0, 300)); // short rows keep the run.c reference (plain JS, quadratic) quick
/** llama2.c test_all.py expected_stdout (greedy from BOS), first sentence after "Once upon a time,". */
const LLAMA2C_CONTINUATION = ' there was a little girl named Lily. She loved to play outside in the park.';

describe('evaluate_model on stories260K', () => {
  let t: TestClient;
  let modelId: string;
  let work: string;
  beforeAll(async () => {
    t = await connectTestClient();
    const { model } = await t.services.models.import(join(ASSETS, 'stories260K.bin'), { tokenizer: join(ASSETS, 'tok512.bin') });
    modelId = model.id;
    work = mkdtempSync(join(t.home, 'eval-'));
  });
  afterAll(async () => t?.close());

  it('perplexity = exp(total NLL / predicted tokens) with BOS and no EOS, equal to the run.c forward', async () => {
    const path = join(work, 'stories.jsonl');
    writeFileSync(path, STORIES.map((text) => JSON.stringify({ text })).join('\n') + '\n');
    const progress: number[] = [];
    const result = await t.client.callTool(
      { name: 'evaluate_model', arguments: { model_id: modelId, path, batch_size: 4, detail: true } },
      undefined,
      { onprogress: (p) => void progress.push(p.progress) },
    );
    expect(result.isError).toBeFalsy();
    const out = (await import('zod')).z.object(evaluateModelTool.output).parse(result.structuredContent);
    const tokenizer = (await loadModelFolder(t.services.models.get(modelId).dir)).tokenizer!;
    const reference = readRunCCheckpoint(readFileSync(join(ASSETS, 'stories260K.bin')));
    let nll = 0;
    let tokens = 0;
    for (const story of STORIES) {
      const ids = tokenizer.encode(story).slice(0, 512);
      expect(ids[0]).toBe(1); // BOS
      expect(ids[ids.length - 1]).not.toBe(2); // no EOS
      nll += runCNll(reference, ids);
      tokens += ids.length - 1;
    }
    expect(out.examples).toBe(6);
    expect(out.per_example!.reduce((s, e) => s + e.tokens!, 0)).toBe(tokens);
    expect(Math.abs(out.metrics.perplexity - Math.exp(nll / tokens)) / Math.exp(nll / tokens)).toBeLessThan(1e-5);
    expect(out.metrics.mean_token_loss).toBeCloseTo(nll / tokens, 4);
    expect(out.ci.perplexity.low).toBeLessThan(out.metrics.perplexity);
    expect(out.ci.perplexity.high).toBeGreaterThan(out.metrics.perplexity);
    expect(progress.at(-1)).toBe(6);
    const row = t.services.workspace.db.prepare('SELECT metrics, examples FROM evaluations WHERE id = ?').get(out.evaluation_id) as { metrics: string; examples: number };
    expect(JSON.parse(row.metrics).perplexity).toBe(out.metrics.perplexity);
    const stored = readFileSync(out.per_example_path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { tokens: number });
    expect(stored.map((e) => e.tokens)).toEqual(out.per_example!.map((e) => e.tokens));
  });

  it("generates greedily from the prompt as llama2.c does and scores the text against the references", async () => {
    const path = join(work, 'completion.jsonl');
    const rows = [
      { prompt: 'Once upon a time,', completion: LLAMA2C_CONTINUATION },
      { prompt: 'Once upon a time,', completion: ' there was a big dog named Max.' },
    ];
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = await t.callOk(evaluateModelTool, { model_id: modelId, path, metrics: ['bleu', 'chrf', 'answer_perplexity'], max_new_tokens: 20, detail: true });
    const prediction = out.per_example![0].prediction!;
    expect(prediction.length).toBeGreaterThan(20);
    // SentencePiece decoding drops the leading space of the first generated piece.
    expect(LLAMA2C_CONTINUATION.trim().startsWith(prediction.trim()) || prediction.trim().startsWith(LLAMA2C_CONTINUATION.trim())).toBe(true);
    const predictions = out.per_example!.map((e) => e.prediction!);
    const refs = rows.map((r) => [r.completion]);
    expect(out.metrics.bleu).toBeCloseTo(new Bleu().corpusScore(predictions, refs).score, 10);
    expect(out.metrics.chrf).toBeCloseTo(new Chrf().corpusScore(predictions, refs), 10);
    expect(out.per_example![0].scores.chrf).toBeGreaterThan(out.per_example![1].scores.chrf);
    expect(out.metrics.answer_perplexity).toBeGreaterThan(1);
    expect(out.gates.map((g) => g.metric)).toEqual(['bleu']);
  });

  it('reports label metrics on classification rows from the generated labels', async () => {
    const path = join(work, 'labels.jsonl');
    const rows = [
      { text: 'Lily smiled at the sun.', label: 'happy' },
      { text: 'Tom cried when his toy broke.', label: 'sad' },
      { text: 'The dog ran and played.', label: 'happy' },
    ];
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = await t.callOk(evaluateModelTool, { model_id: modelId, path, max_new_tokens: 4, detail: true });
    expect(out.task).toBe('classification');
    expect(Object.keys(out.metrics).sort()).toEqual(['accuracy', 'macro_f1', 'mean_token_loss', 'perplexity']);
    const predictions = out.per_example!.map((e) => e.prediction!);
    const report = classificationReport(rows.map((r) => r.label), predictions, { labels: ['happy', 'sad'] });
    expect(out.metrics.accuracy).toBe(report.accuracy);
    expect(out.metrics.macro_f1).toBe(report.macro.f1);
  });

  it('merges an adapter: a non-zero LoRA changes the perplexity, and the refusals are clear', async () => {
    const path = join(work, 'stories.jsonl');
    const adapter = writeAdapter(join(work, 'adapter'), { r: 4, seed: 3, base: 'stories260K', kv_dim: 32 });
    const base = await t.callOk(evaluateModelTool, { model_id: modelId, path, metrics: ['perplexity'], max_examples: 3 });
    const tuned = await t.callOk(evaluateModelTool, { model_id: modelId, adapter_path: adapter, path, metrics: ['perplexity'], max_examples: 3 });
    expect(tuned.model.adapter_dir).toBe(adapter);
    expect(tuned.metrics.perplexity).not.toBe(base.metrics.perplexity);
    expect(errorCode(await t.call('evaluate_model', { model_id: modelId, path, metrics: ['bleu'] }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('evaluate_model', { model_id: 'mdl_missing', path }))).toBe('NOT_FOUND');
    expect(errorCode(await t.call('evaluate_model', { model_id: modelId }))).toBe('INVALID_INPUT');
    writeFileSync(join(work, 'bad.jsonl'), '{"text": "ok"}\n{oops\n');
    const bad = await t.call('evaluate_model', { model_id: modelId, path: join(work, 'bad.jsonl') });
    expect(errorCode(bad)).toBe('DATASET_INVALID');
    expect(bad._meta).toMatchObject({ details: { line: 2 } });
  });
});
