/**
 * The ONNX training graph's loss and gradients equal TensorFlow.js autodiff (`tf.grads`) of an
 * independent implementation of the same model and loss, on small random models, for each path.
 */
import { describe, expect, it } from 'vitest';
import { createTrainStep, type LoraSpec, type SftBatch, type TrainStepSpec } from '../../plugins/local/engine/train-step.js';
import { relError } from './helpers/rel-error.js';
import { randomGpt2, randomLlama, type RandomModel, seededRandom } from './helpers/random-model.js';
import { gpt2Logits, llamaLogits, type RefBatch, type RefLora, rowLogps, tf, toTensors } from './helpers/tf-reference.js';

await tf.setBackend('cpu');

const B = 2;
const T = 8;

function makeBatch(model: RandomModel, seed: number, variant = 0): { batch: SftBatch; ref: RefBatch; lossMask: number[][] } {
  const vocab = model.raw_config.vocab_size as number;
  const next = seededRandom(seed);
  const ids: number[][] = [];
  const attention: number[][] = [];
  const lossMask: number[][] = [];
  for (let b = 0; b < B; b++) {
    const pad = b === 1 ? 2 + variant : 0; // row 1 is right-padded
    ids.push(Array.from({ length: T }, (_, t) => (t < T - pad ? Math.floor(next() * vocab) : 0)));
    attention.push(Array.from({ length: T }, (_, t) => (t < T - pad ? 1 : 0)));
    lossMask.push(Array.from({ length: T }, (_, t) => (t >= 3 && t < T - pad ? 1 : 0))); // prompt tokens carry no loss
  }
  return {
    batch: { input_ids: Int32Array.from(ids.flat()), attention_mask: Float32Array.from(attention.flat()), loss_mask: Float32Array.from(lossMask.flat()) },
    ref: { ids, attention },
    lossMask,
  };
}

interface Case {
  name: string;
  model: RandomModel;
  approach: 'lora' | 'full';
  lora?: LoraSpec;
  method: 'sft' | 'dpo';
}

const loraSpec = (targets: LoraSpec['target_modules'], rslora = false): LoraSpec => ({
  r: 4,
  alpha: 8,
  dropout: 0,
  target_modules: targets,
  use_rslora: rslora,
  on_missing_target: 'error',
});

const llamaGqa = randomLlama({ vocab: 48, hidden: 32, layers: 2, heads: 4, kvHeads: 2, inter: 40, tied: false });
const llamaTied = randomLlama({ vocab: 48, hidden: 32, layers: 2, heads: 4, kvHeads: 1, inter: 40, tied: true }, 5);
const qwen = randomLlama({ vocab: 48, hidden: 32, layers: 2, heads: 4, kvHeads: 2, inter: 40, tied: true, qkvBias: true, ropeTheta: 1e6 }, 7);
const gpt2 = randomGpt2({ vocab: 48, hidden: 32, layers: 2, heads: 4, positions: 16 });

const CASES: Case[] = [
  { name: 'llama GQA untied, LoRA all-linear, SFT', model: llamaGqa, approach: 'lora', lora: loraSpec('all-linear'), method: 'sft' },
  { name: 'llama tied (1 kv head), full, SFT', model: llamaTied, approach: 'full', method: 'sft' },
  { name: 'qwen2 q/k/v bias, rsLoRA q,k,v,o, SFT', model: qwen, approach: 'lora', lora: loraSpec(['q_proj', 'k_proj', 'v_proj', 'o_proj'], true), method: 'sft' },
  { name: 'qwen2 full, SFT', model: qwen, approach: 'full', method: 'sft' },
  { name: 'gpt2 LoRA c_attn/c_proj/c_fc, SFT', model: gpt2, approach: 'lora', lora: loraSpec('all-linear'), method: 'sft' },
  { name: 'gpt2 full, SFT', model: gpt2, approach: 'full', method: 'sft' },
  { name: 'llama GQA LoRA, DPO', model: llamaGqa, approach: 'lora', lora: loraSpec(['q_proj', 'v_proj', 'down_proj']), method: 'dpo' },
  { name: 'gpt2 full, DPO', model: gpt2, approach: 'full', method: 'dpo' },
];

describe('training graph gradients equal tf.grads of an independent TensorFlow.js model', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const beta = 0.3;
      const spec: TrainStepSpec = { model: c.model as unknown as TrainStepSpec['model'], approach: c.approach, lora: c.lora, method: c.method, dpo_beta: beta, batch_size: B, seq_len: T, threads: 1 };
      const step = await createTrainStep(spec);
      // non-zero B matrices so that every LoRA gradient (dA included) is exercised
      const next = seededRandom(11);
      const params = step.trainable.map((t) => (c.approach === 'lora' ? t.init.map(() => (2 * next() - 1) * 0.2) : t.init));
      const first = makeBatch(c.model, 21);
      const second = makeBatch(c.model, 22, 1);
      const refChosen = Float32Array.from([-30, -25]);
      const refRejected = Float32Array.from([-28, -31]);
      const result =
        c.method === 'sft'
          ? await step.step(first.batch, params)
          : await step.step({ chosen: first.batch, rejected: second.batch, reference_chosen_logps: refChosen, reference_rejected_logps: refRejected }, params);

      const base = toTensors(c.model.weights);
      const logitsOf = (w: typeof base, l?: RefLora) => (ref: RefBatch) => (c.model.raw_config.model_type === 'gpt2' ? gpt2Logits(c.model, w, ref, l) : llamaLogits(c.model, w, ref, l));
      const lossOf = (...xs: tf.Tensor[]): tf.Scalar => {
        let forward;
        if (c.approach === 'full') {
          const w = new Map(base);
          step.trainable.forEach((t, i) => w.set(t.name, xs[i]!));
          forward = logitsOf(w);
        } else {
          const adapters = new Map<string, [tf.Tensor, tf.Tensor]>();
          for (let i = 0; i < xs.length; i += 2) adapters.set(step.trainable[i]!.name.replace('base_model.model.', '').replace('.lora_A.weight', ''), [xs[i]!, xs[i + 1]!]);
          const r = c.lora!.r;
          forward = logitsOf(base, { scale: c.lora!.use_rslora ? c.lora!.alpha / Math.sqrt(r) : c.lora!.alpha / r, adapters });
        }
        if (c.method === 'sft') {
          const tokens = first.lossMask.flat().reduce((a, b) => a + b, 0) - first.lossMask.map((r) => r[0]!).reduce((a, b) => a + b, 0);
          return rowLogps(forward(first.ref), first.ref, first.lossMask).sum().neg().div(tokens) as tf.Scalar;
        }
        const pc = rowLogps(forward(first.ref), first.ref, first.lossMask);
        const pr = rowLogps(forward(second.ref), second.ref, second.lossMask);
        const z = pc.sub(tf.tensor1d(refChosen)).sub(pr.sub(tf.tensor1d(refRejected))).mul(beta);
        return tf.softplus(z.neg()).mean() as tf.Scalar;
      };
      const xs = step.trainable.map((t, i) => tf.tensor(params[i]!, t.shape));
      const refGrads = tf.grads((...args: tf.Tensor[]) => lossOf(...args))(xs);
      const refLoss = lossOf(...xs).dataSync()[0]!;
      expect(Math.abs(result.loss - refLoss) / Math.abs(refLoss)).toBeLessThan(1e-5);
      let worst = 0;
      for (let i = 0; i < xs.length; i++) {
        const expected = refGrads[i]!.dataSync() as Float32Array;
        const norm = Math.hypot(...expected);
        expect(norm, `${step.trainable[i]!.name} has a zero reference gradient`).toBeGreaterThan(0);
        const err = relError(result.grads[i]!, expected);
        worst = Math.max(worst, err);
        expect(err, step.trainable[i]!.name).toBeLessThan(1e-4);
      }
      if (c.method === 'dpo') {
        expect(result.metrics.reward_accuracy).toBeGreaterThanOrEqual(0);
        expect(Number.isFinite(result.metrics.reward_margin)).toBe(true);
      }
      expect(worst).toBeLessThan(1e-4);
      await step.dispose();
    });
  }
});
