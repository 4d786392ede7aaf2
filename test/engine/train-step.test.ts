/** createTrainStep's contract beyond gradients: targets, dropout, init, validation, DPO reference. */
import { describe, expect, it } from 'vitest';
import { FinetuneError } from '../../src/errors.js';
import { createTrainStep, type LoraSpec, type SftBatch, type TrainStepSpec } from '../../plugins/local/engine/train-step.js';
import { randomGpt2, randomLlama, seededRandom } from './helpers/random-model.js';

const llama = randomLlama({ vocab: 32, hidden: 16, layers: 2, heads: 4, kvHeads: 2, inter: 24, tied: true }, 61);
const gpt2 = randomGpt2({ vocab: 32, hidden: 16, layers: 1, heads: 2, positions: 16 }, 62);
const B = 2;
const T = 8;

const lora = (over: Partial<LoraSpec> = {}): LoraSpec => ({ r: 2, alpha: 4, dropout: 0, target_modules: ['q_proj', 'v_proj'], use_rslora: false, on_missing_target: 'error', ...over });
const spec = (over: Partial<TrainStepSpec> = {}): TrainStepSpec => ({ model: llama as never, approach: 'lora', lora: lora(), method: 'sft', batch_size: B, seq_len: T, threads: 1, ...over });

function batch(seed: number): SftBatch {
  const next = seededRandom(seed);
  return {
    input_ids: Int32Array.from({ length: B * T }, () => Math.floor(next() * 32)),
    loss_mask: Float32Array.from({ length: B * T }, (_, i) => (i % T >= 2 ? 1 : 0)),
    attention_mask: new Float32Array(B * T).fill(1),
  };
}

async function rejects(promise: Promise<unknown>, code: string, text: RegExp): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(FinetuneError);
  expect((error as FinetuneError).code).toBe(code);
  expect((error as FinetuneError).message).toMatch(text);
}

describe('createTrainStep', () => {
  it('LoRA tensors carry PEFT names and shapes, A kaiming-uniform (seeded), B zeros; counts parameters', async () => {
    const step = await createTrainStep(spec());
    expect(step.trainable.map((t) => t.name)).toEqual([
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
      'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight',
      'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight',
      'base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight',
      'base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight',
      'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight',
    ]);
    expect(step.trainable[0]!.shape).toEqual([2, 16]);
    expect(step.trainable[3]!.shape).toEqual([8, 2]); // v_proj: 2 kv heads × head_dim 4
    expect(step.trainable_parameters).toBe(2 * (2 * 16 + 16 * 2 + 2 * 16 + 8 * 2));
    const a = step.seed(1);
    const bound = 1 / Math.sqrt(16);
    expect(a[0]!.init.every((x) => Math.abs(x) <= bound)).toBe(true);
    expect(a[0]!.init.some((x) => x !== 0)).toBe(true);
    expect(a[1]!.init.every((x) => x === 0)).toBe(true);
    expect(step.seed(1)[0]!.init).toEqual(a[0]!.init);
    expect(step.seed(2)[0]!.init).not.toEqual(a[0]!.init);
    // B = 0: the adapted model is the base model, so the step's loss equals evaluate with adapters off
    const b = batch(1);
    const r = await step.step(b, a.map((t) => t.init));
    const e = await step.evaluate(b, a.map((t) => t.init));
    expect(r.loss).toBeCloseTo(e.loss_sum / e.tokens, 5);
    expect(r.tokens).toBe(e.tokens);
    expect(r.tokens).toBe(2 * (T - 2));
    await step.dispose();
  });

  it('missing target modules: error naming what exists, or continue and list them; never train nothing', async () => {
    await rejects(createTrainStep(spec({ lora: lora({ target_modules: ['q_proj', 'c_attn'] }) })), 'INVALID_INPUT', /"c_attn".*q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/);
    const step = await createTrainStep(spec({ lora: lora({ target_modules: ['q_proj', 'c_attn'], on_missing_target: 'continue' }) }));
    expect(step.missing_targets).toEqual(['c_attn']);
    expect(step.trainable).toHaveLength(4);
    await step.dispose();
    await rejects(createTrainStep(spec({ lora: lora({ target_modules: ['nothing_here'], on_missing_target: 'continue' }) })), 'MODEL_UNSUPPORTED', /nothing would train/);
    const all = await createTrainStep(spec({ model: gpt2 as never, lora: lora({ target_modules: 'all-linear' }) }));
    expect(all.trainable.map((t) => t.name.split('.').slice(-3, -2)[0])).toEqual(['c_attn', 'c_attn', 'c_proj', 'c_proj', 'c_fc', 'c_fc', 'c_proj', 'c_proj']);
    await all.dispose();
  });

  it('full fine-tuning trains every weight, starting from the weights themselves', async () => {
    const step = await createTrainStep(spec({ approach: 'full', lora: undefined }));
    expect(step.trainable).toHaveLength(llama.weights.size);
    expect(step.trainable_parameters).toBe([...llama.weights.values()].reduce((n, t) => n + t.data.length, 0));
    const embed = step.trainable.find((t) => t.name === 'model.embed_tokens.weight')!;
    expect(embed.init).toEqual(llama.weights.get('model.embed_tokens.weight')!.data);
    await step.dispose();
  });

  it('LoRA dropout: a seed fixes the mask (same seed, same step), eval runs without dropout, grads are the loss slope', async () => {
    const step = await createTrainStep(spec({ lora: lora({ dropout: 0.3, target_modules: 'all-linear' }) }));
    const next = seededRandom(8);
    const params = step.trainable.map((t) => t.init.map(() => (2 * next() - 1) * 0.5));
    const b = batch(2);
    const s1 = await step.step(b, params, { dropout_seed: 11 });
    const s1again = await step.step(b, params, { dropout_seed: 11 });
    const s2 = await step.step(b, params, { dropout_seed: 12 });
    expect(s1again.loss).toBe(s1.loss);
    expect(s1again.grads[0]).toEqual(s1.grads[0]);
    expect(s2.loss).not.toBe(s1.loss);
    const noDrop = await createTrainStep(spec({ lora: lora({ dropout: 0, target_modules: 'all-linear' }) }));
    const clean = await noDrop.step(b, params);
    const evalLoss = await step.evaluate(b, params);
    expect(evalLoss.loss_sum / evalLoss.tokens).toBeCloseTo(clean.loss, 5);
    expect(s1.loss).not.toBeCloseTo(clean.loss, 5);
    // central differences on a few coordinates of lora_B (the mask is fixed by the seed)
    const k = 1;
    for (const i of [0, 3, 7]) {
      const plus = params.map((p) => Float32Array.from(p));
      const minus = params.map((p) => Float32Array.from(p));
      plus[k]![i]! += 1e-2;
      minus[k]![i]! -= 1e-2;
      const lp = (await step.step(b, plus, { dropout_seed: 11 })).loss;
      const lm = (await step.step(b, minus, { dropout_seed: 11 })).loss;
      expect(Math.abs((lp - lm) / 2e-2 - s1.grads[k]![i]!)).toBeLessThan(2e-3 + 0.02 * Math.abs(s1.grads[k]![i]!));
    }
    await step.dispose();
    await noDrop.dispose();
  });

  it('refuses batches of the wrong shape, no target tokens, and the wrong batch kind', async () => {
    const step = await createTrainStep(spec());
    const params = step.trainable.map((t) => t.init);
    const short = { ...batch(3), input_ids: new Int32Array(5) };
    await rejects(step.step(short, params), 'INVALID_INPUT', /input_ids has 5 values; expected 2 rows × 8/);
    await rejects(step.step({ ...batch(3), loss_mask: new Float32Array(B * T) }, params), 'INVALID_INPUT', /no target tokens/);
    await rejects(step.step(batch(3), params.slice(1)), 'INVALID_INPUT', /parameter tensors/);
    await rejects(step.step({ ...batch(3), input_ids: new Int32Array(B * T).fill(32) }, params), 'INVALID_INPUT', /input_ids\[0\] = 32 is not a token id/);
    await rejects(step.step({ chosen: batch(3), rejected: batch(4), reference_chosen_logps: new Float32Array(2), reference_rejected_logps: new Float32Array(2) }, params), 'INVALID_INPUT', /SFT step/);
    await step.dispose();
  });

  it('DPO: references from sequenceLogps(null) give loss ln 2 and zero rewards while adapters are zero', async () => {
    const step = await createTrainStep(spec({ method: 'dpo', dpo_beta: 0.5 }));
    const init = step.seed(0).map((t) => t.init);
    const chosen = batch(5);
    const rejected = batch(6);
    const refC = await step.sequenceLogps(chosen, null);
    const refR = await step.sequenceLogps(rejected, null);
    expect(refC).toHaveLength(B);
    const r = await step.step({ chosen, rejected, reference_chosen_logps: refC, reference_rejected_logps: refR }, init);
    expect(r.loss).toBeCloseTo(Math.log(2), 5);
    expect(r.metrics.reward_margin).toBeCloseTo(0, 5);
    expect(r.metrics.chosen_reward).toBeCloseTo(0, 5);
    expect(r.grads.some((g) => g.some((x) => x !== 0))).toBe(true);
    const e = await step.evaluate({ chosen, rejected, reference_chosen_logps: refC, reference_rejected_logps: refR }, init);
    expect(e.loss_sum / e.tokens).toBeCloseTo(Math.log(2), 5);
    await step.dispose();
  });
});
