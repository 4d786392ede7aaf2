import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardLogits, generate, loadRuntimeModel, scoreSequences } from '../../plugins/local/engine/index.js';
import { sftBatch } from '../../plugins/local/trainer/batches.js';
import { runJob, type JobResult } from '../../plugins/local/trainer/job.js';
import { Renderer } from '../../plugins/local/trainer/render.js';
import type { TrainStepLike } from '../../plugins/local/trainer/step-contract.js';
import { loadModelFolder } from '../../src/models/files/load-model.js';
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


/** The same story told plainly: no narrator, no "Arr!", no refrain, no pirate words. */
function plain(story: string): string {
  return story
    .replace("Ahoy, me hearties! Cap'n Pip will tell ye a tale. ", '')
    .replace(' Arr!', '')
    .replace(/ Ye must (.*?), me hearties\./, ' It is good to $1.')
    .replace(' Yo ho ho, and that be the end of me tale!', ' The end.')
    .replace(/there be/g, 'there was')
    .replace(/yer/g, 'your');
}

describe('DPO on pirate-vs-plain pairs (stories260K)', () => {
  it('raises the chosen-over-rejected log-prob margin on held-out pairs', async () => {
    const pair = (story: string) => ({ prompt: [{ role: 'user', content: 'Tell me a story.' }], chosen: [{ role: 'assistant', content: story }], rejected: [{ role: 'assistant', content: plain(story) }] });
    const dir = mkdtempSync(join(root, 'dpo-'));
    const train = writeJsonl(join(dir, 'train.jsonl'), stories('train.jsonl').slice(0, 16).map(pair));
    const heldOut = stories('validation.jsonl').map(pair);
    const validation = writeJsonl(join(dir, 'validation.jsonl'), heldOut);
    expect(heldOut[0].rejected[0].content).not.toMatch(/Arr|hearties|Yo ho/);
    const sink = memorySink();
    const spec = makeSpec({ root, job_id: 'job_dpo', modelDir: baseDir, train, validation, task_type: 'preference', method: 'dpo', hyper: { epochs: 2, max_seq_length: 192, eval_steps: 0, learning_rate: 5e-3, dpo_beta: 0.1 } });
    const result = await runJob(spec, sink, { threads: 2 });
    const margins = sink.series('eval_reward_margin');
    expect(margins[0][0]).toBe(0);
    expect(Math.abs(margins[0][1])).toBeLessThan(1e-3); // policy = reference before training
    expect(margins[margins.length - 1][1]).toBeGreaterThan(1);
    expect(sink.series('eval_reward_accuracy').at(-1)![1]).toBe(1);

    // Independently, through the runtime: log p(chosen) − log p(rejected) on the held-out responses, tuned vs base.
    const model = await loadModelFolder(baseDir);
    const renderer = new Renderer(model.tokenizer);
    const rendered = heldOut.map((p, i) => renderer.preference(p, { file: 'held-out', line: i + 1 }));
    const margin = async (adapter?: string) => {
      const runtime = await loadRuntimeModel(baseDir, { threads: 2, ...(adapter ? { adapter_dir: adapter } : {}) });
      const c = await scoreSequences(runtime, { input_ids: rendered.map((r) => r.chosen.ids), loss_mask: rendered.map((r) => r.chosen.mask) });
      const r = await scoreSequences(runtime, { input_ids: rendered.map((x) => x.rejected.ids), loss_mask: rendered.map((x) => x.rejected.mask) });
      return c.logps.map((v, i) => v - r.logps[i]);
    };
    const before = await margin();
    const after = await margin(result.adapter_dir);
    after.forEach((m, i) => expect(m).toBeGreaterThan(before[i]));
  }, 60_000);
});
