import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardLogits, generate, loadRuntimeModel, scoreSequences } from '../../plugins/local/engine/index.js';
import { sftBatch } from '../../plugins/local/trainer/batches.js';
import { runJob, type JobResult } from '../../plugins/local/trainer/job.js';
import { Renderer } from '../../plugins/local/trainer/render.js';
import type { TrainStepLike } from '../../plugins/local/trainer/step-contract.js';
import { loadModelFolder } from '../../plugins/local/model-files/load-model.js';
import { convertStories260K, makeSpec, memorySink, STYLE_STORIES, writeJsonl, type MemorySink } from './helpers/job-fixtures.js';

/**
 * Proof that the local trainer learns, on the real stories260K model: LoRA SFT on pirate-narrated
 * stories (test/fixtures/style-stories) and DPO on pirate-vs-plain pairs.
 */
let root: string;
let baseDir: string;
const PROMPT = "Ahoy, me hearties! Cap'n Pip will tell ye a tale. Once upon a time,";

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ftm-learn-'));
  baseDir = convertStories260K(root);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const stories = (file: string) => readFileSync(join(STYLE_STORIES, file), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
const pirateMarks = (text: string) => (text.match(/Arr!|me hearties|Yo ho ho|be the end of me tale|\bYe must/g) ?? []).length;

describe('LoRA SFT on pirate stories (stories260K)', () => {
  let sink: MemorySink;
  let result: JobResult;
  let step: TrainStepLike | undefined;
  let trainedLogps: Float32Array;
  let rows: number[][];

  beforeAll(async () => {
    sink = memorySink();
    const spec = makeSpec({ root, job_id: 'job_sft', modelDir: baseDir, train: join(STYLE_STORIES, 'train.jsonl'), validation: join(STYLE_STORIES, 'validation.jsonl'), task_type: 'text', hyper: { epochs: 2, max_seq_length: 160, eval_steps: 10, learning_rate: 1e-2 } });
    // Score held-out stories with the trained parameters while the train step is still in memory.
    const model = await loadModelFolder(baseDir);
    const renderer = new Renderer(model.tokenizer, 'all');
    rows = stories('validation.jsonl').slice(0, 4).map((text, i) => renderer.sft({ text }, 'text', { file: 'validation', line: i + 1 }).ids.slice(0, 96));
    result = await runJob(spec, sink, {
      threads: 2,
      afterTraining: async (s, params, seqLen) => {
        step = s;
        const batch = sftBatch(rows.map((ids) => ({ ids, mask: ids.map((_, t) => (t === 0 ? 0 : 1)) })), 4, seqLen, 0);
        trainedLogps = await s.sequenceLogps(batch, params);
      },
    });
  }, 60_000);

  it('lowers validation loss well below the base model’s', () => {
    const evals = sink.series('eval_loss');
    const [, base] = evals[0];
    const [, last] = evals[evals.length - 1];
    expect(evals[0][0]).toBe(0);
    expect(last).toBeLessThan(base * 0.25);
    expect(result.outcome.reason).toBe('completed');
    expect(step?.trainable_parameters).toBeGreaterThan(0);
  });

  it('continues a story in the pirate style, which the base model does not', async () => {
    const tuned = await loadRuntimeModel(baseDir, { adapter_dir: result.adapter_dir!, threads: 2 });
    const base = await loadRuntimeModel(baseDir, { threads: 2 });
    const tunedText = (await generate(tuned, { prompt: PROMPT, max_tokens: 120, temperature: 0 })).text;
    const baseText = (await generate(base, { prompt: PROMPT, max_tokens: 120, temperature: 0 })).text;
    expect(pirateMarks(tunedText), tunedText).toBeGreaterThanOrEqual(2);
    expect(pirateMarks(baseText), baseText).toBe(0);
  });

  it('gives, loaded from the PEFT adapter onto its base, the log-probs of the trained model in memory', async () => {
    const fromAdapter = await loadRuntimeModel(baseDir, { adapter_dir: result.adapter_dir!, threads: 2 });
    const scored = await scoreSequences(fromAdapter, { input_ids: rows });
    scored.logps.forEach((logp, i) => expect(Math.abs(logp - trainedLogps[i]) / Math.abs(trainedLogps[i])).toBeLessThan(1e-4));
    // and the merged folder gives the same logits as base + adapter
    const merged = await loadRuntimeModel(result.merged_dir, { threads: 2 });
    const a = await forwardLogits(fromAdapter, rows.slice(0, 1));
    const b = await forwardLogits(merged, rows.slice(0, 1));
    let worst = 0;
    for (let i = 0; i < a.logits.length; i++) worst = Math.max(worst, Math.abs(a.logits[i] - b.logits[i]));
    expect(worst).toBeLessThan(1e-4);
  });
});

