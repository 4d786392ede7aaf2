/**
 * bench/train: LoRA SFT training step (forward + backward graph, then AdamW in JS on the adapters)
 * at batch 8 × 256 tokens, LoRA r 8 on q_proj and v_proj (PEFT's default Llama targets), for
 * stories260K and a random stories15M-shaped model, at 1 and 2 threads: tokens/s and ms per step
 * (median of 10 after 2 warm-up steps). Where /usr/bin/python3 has torch, the same step (autograd +
 * torch.optim.AdamW) runs in PyTorch in the same run and the ratio is printed.
 * `BENCH_PROFILE=1 npm run bench train` also writes ONNX Runtime profiles and prints time per op type.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainStep } from '../plugins/local/engine/train-step.js';
import { benchShapes } from './_shapes.js';
import { announceTorchRuntime, runTorch, torchAvailable, writeTorchWeights } from './_torch.js';

const work = mkdtempSync(join(tmpdir(), 'ftm-bench-train-'));
const B = 8;
const T = 256;
const STEPS = 10;
const profile = process.argv.includes('--profile') || process.env.BENCH_PROFILE === '1';
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** AdamW with PyTorch's semantics (decoupled weight decay, bias correction), in place. */
function adamw(params: Float32Array[], grads: Float32Array[], m: Float32Array[], v: Float32Array[], step: number, lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01): void {
  const c1 = 1 - b1 ** step;
  const c2 = 1 - b2 ** step;
  params.forEach((p, k) => {
    const g = grads[k]!;
    const mk = m[k]!;
    const vk = v[k]!;
    for (let i = 0; i < p.length; i++) {
      p[i]! *= 1 - lr * wd;
      mk[i] = b1 * mk[i]! + (1 - b1) * g[i]!;
      vk[i] = b2 * vk[i]! + (1 - b2) * g[i]! * g[i]!;
      p[i]! -= (lr * (mk[i]! / c1)) / (Math.sqrt(vk[i]! / c2) + eps);
    }
  });
}

function profileSummary(path: string): string {
  const events = JSON.parse(readFileSync(path, 'utf8')) as Array<{ cat: string; dur: number; args?: { op_name?: string } }>;
  const byOp = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.args?.op_name) continue;
    byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + e.dur);
    total += e.dur;
  }
  return [...byOp.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([op, us]) => `${op} ${((100 * us) / total).toFixed(1)}%`)
    .join(', ');
}

async function main(): Promise<void> {
  const shapes = await benchShapes(work);
  const torch = torchAvailable();
  console.log(`LoRA SFT step: batch ${B} × ${T}, r 8, alpha 16, q_proj+v_proj; median of ${STEPS} steps${torch ? '' : '; PyTorch: not installed'}`);
  console.log('model | threads | ms/step | tok/s | torch ms/step | torch tok/s | ratio');
  const described = new Set<string>();
  for (const shape of shapes) {
    const torchDir = join(work, `torch-${shape.name.split(' ')[0]}`);
    if (torch) writeTorchWeights(torchDir, shape.config, shape.weights);
    for (const threads of [1, 2]) {
      const step = await createTrainStep({
        model: shape.model as never,
        approach: 'lora',
        lora: { r: 8, alpha: 16, dropout: 0, target_modules: ['q_proj', 'v_proj'], use_rslora: false, on_missing_target: 'error' },
        method: 'sft',
        batch_size: B,
        seq_len: T,
        threads,
        ...(profile ? { profile_prefix: join(work, `prof-${shape.name.slice(0, 9)}-${threads}`) } : {}),
      });
      const vocab = shape.config.vocab_size as number;
      const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 104729 + 7919) % vocab);
      const ones = new Float32Array(B * T).fill(1);
      const params = step.trainable.map((t) => Float32Array.from(t.init));
      const m = params.map((p) => new Float32Array(p.length));
      const v = params.map((p) => new Float32Array(p.length));
      const times: number[] = [];
      let loss = 0;
      for (let i = 0; i < STEPS + 2; i++) {
        const t0 = performance.now();
        const r = await step.step({ input_ids: ids, loss_mask: ones, attention_mask: ones }, params);
        adamw(params, r.grads, m, v, i + 1);
        if (i >= 2) times.push(performance.now() - t0);
        loss = r.loss;
      }
      const ms = median(times);
      let torchCols = '- | - | -';
      if (torch) {
        const r = runTorch({ dir: torchDir, mode: 'train', threads, batch: B, seq: T, reps: STEPS, lora_targets: ['q_proj', 'v_proj'], lora_r: 8, lora_alpha: 16 });
        if ('median_s' in r) {
          // An untuned reference (netlib BLAS, glibc malloc) gets no ratio.
          const ratio = announceTorchRuntime(r.runtime, described) ? `${((r.median_s * 1000) / ms).toFixed(2)}×` : 'none (untuned reference)';
          torchCols = `${(r.median_s * 1000).toFixed(1)} | ${((B * T) / r.median_s).toFixed(0)} | ${ratio}`;
        } else torchCols = `failed: ${r.error}`;
      }
      console.log(`${shape.name} | ${threads} | ${ms.toFixed(1)} | ${((B * T) / (ms / 1000)).toFixed(0)} | ${torchCols}   (loss ${loss.toFixed(4)})`);
      if (profile && step.endProfiling) {
        step.endProfiling();
        const file = readdirSync(work).find((f) => f.startsWith(`prof-${shape.name.slice(0, 9)}-${threads}`) && f.endsWith('.json'));
        if (file) console.log(`  profile: ${profileSummary(join(work, file))}`);
      }
      await step.dispose();
    }
  }
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
