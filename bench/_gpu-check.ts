/**
 * The engine on GPU execution providers, run by bench/gpu.sh (`node --import tsx bench/_gpu-check.ts
 * '<json options>'`). For each model shape and approach (LoRA, QLoRA) it builds the same training
 * step on the CPU provider and on each GPU provider asked for, runs one step on the same parameters
 * and batch, and compares loss and gradients with the CPU's (the CPU graph is the one checked
 * against tf.grads in test/engine); then it times training steps (graph + AdamW in JS) per provider,
 * and, where the Python it is given has torch with CUDA, the same step in PyTorch on the GPU.
 * Prints a table and writes every figure to `<out>/gpu-summary.json` (rewritten after each item).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainStep, type TrainStep } from '../plugins/local/engine/train-step.js';
import { AdamW } from '../plugins/local/trainer/adamw.js';
import { seededRandom } from '../test/engine/helpers/random-model.js';
import { benchShapes, SCALE_SHAPES } from './_shapes.js';
import { runTorch, torchAvailable, writeTorchWeights } from './_torch.js';

interface Options {
  providers: string[];
  shapes: string[];
  approaches: Array<'lora' | 'qlora'>;
  steps: number;
  warmup: number;
  threads: number;
  out: string;
  /** Relative L2 error of a gradient against the CPU's above which the check fails. */
  tolerance: number;
}

const B = 8;
const T = 256;
// attention projections: the PyTorch reference (bench/_torch.ts) adapts the same ones; dx still flows through every frozen linear
const TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const LORA = { r: 8, alpha: 16, dropout: 0, target_modules: TARGETS, use_rslora: false, on_missing_target: 'error' as const };

interface Row {
  shape: string;
  approach: string;
  provider: string;
  ms_per_step?: number;
  tokens_per_s?: number;
  loss?: number;
  loss_rel_diff_vs_cpu?: number;
  worst_grad_rel_err_vs_cpu?: number;
  grads_match?: boolean;
  error?: string;
}

function relError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
}

async function loadShape(key: string, work: string) {
  if (key === 's260k' || key === 's15m') return (await benchShapes(work))[key === 's260k' ? 0 : 1]!.model;
  const scale = SCALE_SHAPES[key as keyof typeof SCALE_SHAPES];
  if (!scale) throw new Error(`unknown shape ${key}; known: s260k, s15m, ${Object.keys(SCALE_SHAPES).join(', ')}`);
  return scale.make();
}

/** Steps timed after warm-up, AdamW in JS between them, as the trainer runs them. */
async function timeSteps(step: TrainStep, batch: Parameters<TrainStep['step']>[0], start: Float32Array[], o: Options): Promise<{ ms: number; loss: number }> {
  const params = start.map((p) => p.slice());
  const opt = new AdamW(params.map((p) => p.length), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 });
  const times: number[] = [];
  let loss = 0;
  for (let i = 0; i < o.warmup + o.steps; i++) {
    const t0 = performance.now();
    const r = await step.step(batch, params);
    opt.update(params, r.grads, 1e-3);
    if (i >= o.warmup) times.push(performance.now() - t0);
    loss = r.loss;
  }
  return { ms: times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!, loss };
}

async function main(o: Options): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ftm-gpu-check-'));
  mkdirSync(o.out, { recursive: true });
  const rows: Row[] = [];
  const save = () => writeFileSync(join(o.out, 'gpu-summary.json'), JSON.stringify({ batch: B, seq: T, lora: LORA, options: o, rows }, null, 2));
  const torchCuda = torchAvailable('cuda');
  console.log(`batch ${B} × ${T}, LoRA r ${LORA.r} on ${TARGETS.join(', ')}; ${o.warmup} warm-up + ${o.steps} timed steps; ${o.threads} CPU thread(s); PyTorch CUDA: ${torchCuda ? 'yes' : 'not available'}`);
  console.log('shape | approach | provider | ms/step | tok/s | loss | loss rel diff vs cpu | worst grad rel err vs cpu');
  try {
    for (const key of o.shapes) {
      const model = await loadShape(key, work);
      const vocab = model.raw_config.vocab_size as number;
      const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 104729 + 7919) % vocab);
      const ones = new Float32Array(B * T).fill(1);
      const batch = { input_ids: ids, loss_mask: ones, attention_mask: ones };
      for (const approach of o.approaches) {
        let reference: { loss: number; grads: Float32Array[] } | undefined;
        let start: Float32Array[] = [];
        for (const provider of ['cpu', ...o.providers.filter((p) => p !== 'cpu')]) {
          const row: Row = { shape: key, approach, provider };
          rows.push(row);
          let step: TrainStep | undefined;
          try {
            step = await createTrainStep({ model: model as never, approach, lora: LORA, method: 'sft', batch_size: B, seq_len: T, threads: o.threads, provider });
            if (!reference) {
              // non-zero B so that every LoRA gradient (dA included) is compared
              const next = seededRandom(3);
              start = step.trainable.map((t) => (t.init.every((x) => x === 0) ? t.init.map(() => (2 * next() - 1) * 0.01) : t.init.slice()));
            }
            const first = await step.step(batch, start);
            const grads = first.grads.map((g) => g.slice());
            if (!reference) reference = { loss: first.loss, grads };
            else {
              row.loss_rel_diff_vs_cpu = Math.abs(first.loss - reference.loss) / Math.abs(reference.loss);
              row.worst_grad_rel_err_vs_cpu = Math.max(...grads.map((g, i) => relError(g, reference!.grads[i]!)));
              row.grads_match = row.worst_grad_rel_err_vs_cpu < o.tolerance && row.loss_rel_diff_vs_cpu < o.tolerance;
            }
            const timed = await timeSteps(step, batch, start, o);
            Object.assign(row, { ms_per_step: timed.ms, tokens_per_s: (B * T) / (timed.ms / 1000), loss: timed.loss });
          } catch (error) {
            row.error = (error as Error).message.split('\n')[0]!.slice(0, 400);
          } finally {
            await step?.dispose();
          }
          const fmt = (x: number | undefined, d: number) => (x === undefined ? '-' : x.toExponential(d));
          console.log(
            row.error
              ? `${key} | ${approach} | ${provider} | failed: ${row.error}`
              : `${key} | ${approach} | ${provider} | ${row.ms_per_step!.toFixed(1)} | ${row.tokens_per_s!.toFixed(0)} | ${row.loss!.toFixed(4)} | ${fmt(row.loss_rel_diff_vs_cpu, 1)} | ${fmt(row.worst_grad_rel_err_vs_cpu, 1)}${row.grads_match === false ? '  MISMATCH' : ''}`,
          );
          save();
        }
        if (torchCuda) {
          const dir = join(work, `torch-${key}`);
          writeTorchWeights(dir, model.raw_config, model.weights);
          const t = runTorch({ dir, mode: 'train', threads: o.threads, batch: B, seq: T, reps: o.steps, warmup: o.warmup, lora_targets: TARGETS, lora_r: LORA.r, lora_alpha: LORA.alpha, qlora: approach === 'qlora', device: 'cuda' });
          const row: Row = { shape: key, approach, provider: 'torch-cuda' };
          if ('median_s' in t) Object.assign(row, { ms_per_step: t.median_s * 1000, tokens_per_s: (B * T) / t.median_s, loss: t.loss });
          else row.error = t.error;
          rows.push(row);
          console.log(row.error ? `${key} | ${approach} | ${row.provider} | failed: ${row.error}` : `${key} | ${approach} | ${row.provider} | ${row.ms_per_step!.toFixed(1)} | ${row.tokens_per_s!.toFixed(0)} | ${row.loss!.toFixed(4)} | - | -`);
          save();
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const mismatched = rows.filter((r) => r.grads_match === false);
  const failed = rows.filter((r) => r.error);
  if (failed.length) {
    console.log(`could not run: ${failed.map((r) => `${r.shape}/${r.approach}/${r.provider}`).join(', ')}`);
    process.exitCode = 5;
  }
  if (mismatched.length) {
    console.log(`gradient check FAILED for ${mismatched.map((r) => `${r.shape}/${r.approach}/${r.provider}`).join(', ')} (tolerance ${o.tolerance})`);
    process.exitCode = 3;
  }
}

await main(JSON.parse(process.argv[2] ?? '{}') as Options);
