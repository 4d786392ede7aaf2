/**
 * The runtime's forward, scoring and generation on small random models, against an independent
 * TensorFlow.js forward; generation with and without the KV cache; adapters merged at load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forwardLogits, generate, loadRuntimeModel, runtimeInfo, scoreSequences } from '../../plugins/local/engine/index.js';
import { argmax, sampleNext, seededRng } from '../../plugins/local/engine/sampling.js';
import { createTrainStep, type TrainStepSpec } from '../../plugins/local/engine/train-step.js';
import { type PeftAdapter, writePeftAdapter } from '../../src/models/files/peft.js';
import { randomGpt2, randomLlama, type RandomModel, seededRandom } from './helpers/random-model.js';
import { gpt2Logits, llamaLogits, tf, toTensors } from './helpers/tf-reference.js';

await tf.setBackend('cpu');

const qwen = randomLlama({ vocab: 40, hidden: 32, layers: 2, heads: 4, kvHeads: 2, inter: 48, tied: false, qkvBias: true, ropeTheta: 1e6 }, 31, 0.3);
const llamaLinearRope = randomLlama({ vocab: 40, hidden: 32, layers: 2, heads: 2, kvHeads: 1, inter: 48, tied: true, ropeScaling: { type: 'linear', factor: 2 } }, 33, 0.3);
const gpt2 = randomGpt2({ vocab: 40, hidden: 32, layers: 2, heads: 4, positions: 64 }, 35, 0.3);
const mistral = randomLlama({ vocab: 40, hidden: 32, layers: 2, heads: 4, kvHeads: 2, inter: 48, tied: false, modelType: 'mistral' }, 37, 0.3);
mistral.raw_config.sliding_window = 3;

function rows(seed: number, lengths: number[], vocab: number): number[][] {
  const next = seededRandom(seed);
  return lengths.map((n) => Array.from({ length: n }, () => Math.floor(next() * vocab)));
}

/** tfjs logits of one unpadded row. */
function referenceLogits(model: RandomModel, row: number[]): Float32Array {
  const weights = toTensors(model.weights);
  const batch = { ids: [row], attention: [row.map(() => 1)] };
  return (model.raw_config.model_type === 'gpt2' ? gpt2Logits(model, weights, batch) : llamaLogits(model, weights, batch)).dataSync() as Float32Array;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst / scale;
}

describe('runtime forward equals the TensorFlow.js forward', () => {
  for (const [name, model] of [
    ['qwen2 (q/k/v bias, GQA, untied)', qwen],
    ['gpt2 (learned positions, LayerNorm, GELU, Conv1D)', gpt2],
    ['llama (1 kv head, tied, linear rope scaling)', llamaLinearRope],
    ['mistral (sliding window 3)', mistral],
  ] as const) {
    it(`${name}: logits of right-padded rows within 1e-4`, async () => {
      const rt = await loadRuntimeModel(model as never, { threads: 1 });
      const batch = rows(41, [9, 5, 7], 40);
      const { logits, dims } = await forwardLogits(rt, batch);
      expect(dims).toEqual([3, 9, 40]);
      batch.forEach((row, b) => {
        const ref = referenceLogits(model, row);
        const ours = logits.subarray(b * 9 * 40, b * 9 * 40 + row.length * 40);
        expect(maxRelDiff(ours, ref)).toBeLessThan(1e-4);
      });
    });
  }

  it('scoreSequences equals log-softmax of the forward logits, per row and token count', async () => {
    const rt = await loadRuntimeModel(qwen as never, { threads: 1 });
    const batch = rows(45, [6, 4], 40);
    const scores = await scoreSequences(rt, { input_ids: batch, loss_mask: [[0, 0, 1, 1, 1, 1], [0, 1, 1, 1]] });
    const { logits } = await forwardLogits(rt, batch);
    batch.forEach((row, b) => {
      let expected = 0;
      for (let t = 0; t + 1 < row.length; t++) {
        if (b === 0 && t + 1 < 2) continue;
        const slice = logits.subarray((b * 6 + t) * 40, (b * 6 + t + 1) * 40);
        const max = Math.max(...slice);
        const lse = max + Math.log(slice.reduce((s, v) => s + Math.exp(v - max), 0));
        expected += slice[row[t + 1]!]! - lse;
      }
      expect(scores.logps[b]).toBeCloseTo(expected, 4);
    });
    expect(scores.tokens).toEqual([4, 3]);
    expect(scores.provider).toBe('cpu');
  });
});

describe('generation', () => {
  for (const [name, model] of [
    ['qwen2', qwen],
    ['gpt2', gpt2],
    ['mistral (sliding window)', mistral],
  ] as const) {
    it(`${name}: with and without the KV cache give the same tokens (greedy and seeded sampling)`, async () => {
      const rt = await loadRuntimeModel(model as never, { threads: 1 });
      for (const opts of [{ temperature: 0 }, { temperature: 0.9, top_k: 20, top_p: 0.9, repetition_penalty: 1.3, seed: 7 }]) {
        const cached = await generate(rt, { input_ids: [3, 5, 7], max_tokens: 24, ...opts });
        const uncached = await generate(rt, { input_ids: [3, 5, 7], max_tokens: 24, use_cache: false, ...opts });
        expect(cached.tokens).toHaveLength(24);
        expect(cached.tokens).toEqual(uncached.tokens);
        expect(cached.finish_reason).toBe('length');
        expect(cached.tokens_per_s).toBeGreaterThan(0);
      }
      // greedy continuation equals the argmax of the full forward at each step
      const greedy = await generate(rt, { input_ids: [3, 5, 7], max_tokens: 5, temperature: 0 });
      const { logits } = await forwardLogits(rt, [[3, 5, 7, ...greedy.tokens.slice(0, 4)]]);
      for (let i = 0; i < 5; i++) expect(argmax(logits.subarray((2 + i) * 40, (3 + i) * 40))).toBe(greedy.tokens[i]);
    });
  }

  it('refuses token ids outside the vocabulary and prompts that fill the context', async () => {
    const rt = await loadRuntimeModel(gpt2 as never, { threads: 1 });
    await expect(generate(rt, { input_ids: [1, 40], max_tokens: 2 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(scoreSequences(rt, { input_ids: [[1, -1]] })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(generate(rt, { input_ids: new Array(64).fill(1), max_tokens: 2 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('stops at an EOS token id from config.json', async () => {
    const rt = await loadRuntimeModel(qwen as never, { threads: 1 });
    const free = await generate(rt, { input_ids: [1, 2], max_tokens: 6, temperature: 0 });
    const eosCfg = { ...qwen.raw_config, eos_token_id: free.tokens[2] };
    const withEos = await loadRuntimeModel({ ...qwen, config: eosCfg, raw_config: eosCfg } as never, { threads: 1 });
    const out = await generate(withEos, { input_ids: [1, 2], max_tokens: 6, temperature: 0 });
    expect(out.finish_reason).toBe('stop');
    expect(out.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(free.tokens[2]!)));
  });
});

describe('sampling', () => {
  const logits = Float32Array.from([1, 3, 2.9, -1, 0.5]);
  it('temperature 0 and top_k 1 are greedy; a seed reproduces a draw', () => {
    expect(sampleNext(logits, [], { temperature: 0 }, seededRng(1))).toBe(1);
    for (let s = 0; s < 20; s++) expect(sampleNext(logits, [], { temperature: 1, top_k: 1 }, seededRng(s))).toBe(1);
    const draws = (seed: number) => {
      const rng = seededRng(seed);
      return Array.from({ length: 30 }, () => sampleNext(logits, [], { temperature: 1 }, rng));
    };
    expect(draws(5)).toEqual(draws(5));
    expect(new Set(draws(5)).size).toBeGreaterThan(2);
  });
  it('top_p keeps the smallest set reaching p; repetition penalty demotes seen tokens', () => {
    for (let s = 0; s < 30; s++) expect([1, 2]).toContain(sampleNext(logits, [], { temperature: 1, top_p: 0.8 }, seededRng(s)));
    expect(sampleNext(logits, [1], { temperature: 0, repetition_penalty: 1.5 }, seededRng(0))).toBe(2);
  });
});

describe('adapters', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  for (const [name, model] of [
    ['llama', randomLlama({ vocab: 40, hidden: 32, layers: 2, heads: 4, kvHeads: 2, inter: 48, tied: false }, 51, 0.3)],
    ['gpt2 (Conv1D, unprefixed checkpoint names)', randomGpt2({ vocab: 40, hidden: 32, layers: 2, heads: 4, positions: 16 }, 52, 0.3)],
  ] as const)
  it(`${name}: a PEFT adapter merged at load gives the log-probs the training graph computes with those adapters`, async () => {
    const spec: TrainStepSpec = {
      model: model as unknown as TrainStepSpec['model'],
      approach: 'lora',
      lora: { r: 4, alpha: 16, dropout: 0, target_modules: 'all-linear', use_rslora: false, on_missing_target: 'error' },
      method: 'sft',
      batch_size: 2,
      seq_len: 6,
    };
    const step = await createTrainStep(spec);
    const next = seededRandom(3);
    const params = step.trainable.map((t) => t.init.map(() => (2 * next() - 1) * 0.3));
    const ids = rows(53, [6, 6], 40);
    const batch = { input_ids: Int32Array.from(ids.flat()), loss_mask: new Float32Array(12).fill(1), attention_mask: new Float32Array(12).fill(1) };
    const trained = await step.sequenceLogps(batch, params);
    const reference = await step.sequenceLogps(batch, null);

    const dir = mkdtempSync(join(tmpdir(), 'ftm-adapter-'));
    dirs.push(dir);
    const tensors: PeftAdapter['tensors'] = new Map();
    for (let i = 0; i < step.trainable.length; i += 2) {
      const module = step.trainable[i]!.name.replace('base_model.model.', '').replace('.lora_A.weight', '');
      tensors.set(module, { A: { shape: step.trainable[i]!.shape, data: params[i]! }, B: { shape: step.trainable[i + 1]!.shape, data: params[i + 1]! } });
    }
    writePeftAdapter(dir, { base_model_name_or_path: 'random', r: 4, lora_alpha: 16, lora_dropout: 0, target_modules: ['q_proj'], use_rslora: false, tensors });
    const merged = await loadRuntimeModel(model as never, { threads: 1, adapter_dir: dir });
    const base = await loadRuntimeModel(model as never, { threads: 1 });
    const mergedScores = await scoreSequences(merged, { input_ids: ids });
    const baseScores = await scoreSequences(base, { input_ids: ids });
    for (let b = 0; b < 2; b++) {
      expect(mergedScores.logps[b]).toBeCloseTo(trained[b]!, 3);
      expect(baseScores.logps[b]).toBeCloseTo(reference[b]!, 3);
      expect(Math.abs(trained[b]! - reference[b]!)).toBeGreaterThan(0.01);
    }
    await step.dispose();
  });
});

describe('runtimeInfo', () => {
  it('lists the bundled providers with cpu first', async () => {
    const info = await runtimeInfo();
    expect(info.providers[0]).toBe('cpu');
    expect(info.onnxruntime_version).toMatch(/^1\./);
  });
});

describe('ONNX external data (the route for models past the 2 GB protobuf limit)', () => {
  it('sessions loaded from a model file + external weights give the same logits and gradients', async () => {
    const inMemory = await loadRuntimeModel(qwen as never, { threads: 1 });
    const external = await loadRuntimeModel(qwen as never, { threads: 1, external_data_threshold: 0 });
    const batch = rows(61, [7, 4], 40);
    expect(Array.from((await forwardLogits(external, batch)).logits)).toEqual(Array.from((await forwardLogits(inMemory, batch)).logits));
    const base: TrainStepSpec = { model: qwen as never, approach: 'full', method: 'sft', batch_size: 1, seq_len: 5, threads: 1 };
    const a = await createTrainStep(base);
    const b = await createTrainStep({ ...base, external_data_threshold: 0 });
    const sft = { input_ids: Int32Array.from([1, 2, 3, 4, 5]), loss_mask: new Float32Array(5).fill(1), attention_mask: new Float32Array(5).fill(1) };
    const ra = await a.step(sft, a.trainable.map((t) => t.init));
    const rb = await b.step(sft, b.trainable.map((t) => t.init));
    expect(rb.loss).toBe(ra.loss);
    expect(Array.from(rb.grads[3]!)).toEqual(Array.from(ra.grads[3]!));
    await a.dispose();
    await b.dispose();
  });
});
