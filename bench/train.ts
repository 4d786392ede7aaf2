/**
 * bench/train: the LoRA and QLoRA SFT training step (forward + backward graph, then AdamW in JS on
 * the adapters) at batch 8 × 256 tokens, LoRA r 8 on q_proj and v_proj (PEFT's default Llama
 * targets), and how its cost grows with model size:
 * - stories260K (real) and a random stories15M shape, at 1 and 2 threads, median of 10 steps after 2
 *   warm-up steps;
 * - random stories110M and SmolLM2-135M shapes, 1 thread, median of 3 steps after 1 warm-up.
 * Each (shape, approach, threads) runs in its own process, so its peak RSS is its own. Where
 * /usr/bin/python3 has torch, the same step (autograd + torch.optim.AdamW; for QLoRA, NF4 weights
 * dequantised in forward and backward as bitsandbytes' CPU kernels do) runs in PyTorch in the same
 * run, with its own peak RSS, and the speed ratio is printed.
 *
 * Environment: BENCH_SHAPES=s260k,s15m,s110m,smol135m  BENCH_APPROACHES=lora,qlora  BENCH_THREADS=1,2
 * BENCH_STEPS=n  BENCH_WARMUP=n (override the per-shape defaults); BENCH_PROFILE=1 prints ONNX
 * Runtime's time per op type.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTrainStep } from '../plugins/local/engine/train-step.js';
import { benchShapes, SCALE_SHAPES } from './_shapes.js';
import { announceTorchRuntime, runTorch, torchAvailable, writeTorchWeights } from './_torch.js';

const B = 8;
const T = 256;
const TARGETS = ['q_proj', 'v_proj'];
const profile = process.argv.includes('--profile') || process.env.BENCH_PROFILE === '1';
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const list = (value: string | undefined): string[] | undefined => value?.split(',').map((s) => s.trim()).filter(Boolean);

type ShapeKey = 's260k' | 's15m' | keyof typeof SCALE_SHAPES;
interface ShapePlan {
  key: ShapeKey;
  name: string;
  threads: number[];
  steps: number;
  warmup: number;
}
const PLANS: ShapePlan[] = [
  { key: 's260k', name: 'stories260K', threads: [1, 2], steps: 10, warmup: 2 },
  { key: 's15m', name: 'stories15M-shape (random)', threads: [1, 2], steps: 10, warmup: 2 },
  // two warm-up steps: ONNX Runtime's allocations settle on the third run (steps 1–2 of SmolLM2 fault in ~1.3 GB of pages each)
  { key: 's110m', name: SCALE_SHAPES.s110m.name, threads: [1], steps: 3, warmup: 2 },
  { key: 'smol135m', name: SCALE_SHAPES.smol135m.name, threads: [1], steps: 3, warmup: 2 },
];

interface OneRun {
  shape: ShapeKey;
  approach: 'lora' | 'qlora';
  threads: number;
  steps: number;
  warmup: number;
  work: string;
  torch_dir?: string;
}
interface OneResult {
  ms: number;
  loss: number;
  peak_rss_mb: number;
  session_weight_mb: number;
  profile?: string;
}

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

/** One (shape, approach, threads) in this process: the child side. */
async function runOne(run: OneRun): Promise<OneResult> {
  const shape = run.shape in SCALE_SHAPES ? { model: SCALE_SHAPES[run.shape as keyof typeof SCALE_SHAPES].make() } : (await benchShapes(run.work))[run.shape === 's260k' ? 0 : 1]!;
  if (run.torch_dir) writeTorchWeights(run.torch_dir, shape.model.raw_config, shape.model.weights);
  const prefix = join(run.work, `prof-${run.shape}-${run.approach}-${run.threads}`);
  const step = await createTrainStep({
    model: shape.model as never,
    approach: run.approach,
    lora: { r: 8, alpha: 16, dropout: 0, target_modules: TARGETS, use_rslora: false, on_missing_target: 'error' },
    method: 'sft',
    batch_size: B,
    seq_len: T,
    threads: run.threads,
    ...(profile ? { profile_prefix: prefix } : {}),
  });
  const vocab = shape.model.raw_config.vocab_size as number;
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 104729 + 7919) % vocab);
  const ones = new Float32Array(B * T).fill(1);
  const params = step.trainable.map((t) => Float32Array.from(t.init));
  const m = params.map((p) => new Float32Array(p.length));
  const v = params.map((p) => new Float32Array(p.length));
  const times: number[] = [];
  let loss = 0;
  for (let i = 0; i < run.steps + run.warmup; i++) {
    const t0 = performance.now();
    const r = await step.step({ input_ids: ids, loss_mask: ones, attention_mask: ones }, params);
    adamw(params, r.grads, m, v, i + 1);
    if (i >= run.warmup) times.push(performance.now() - t0);
    loss = r.loss;
  }
  let summary: string | undefined;
  if (profile && step.endProfiling) {
    step.endProfiling();
    const file = readdirSync(run.work).find((f) => join(run.work, f).startsWith(prefix) && f.endsWith('.json'));
    if (file) summary = profileSummary(join(run.work, file));
  }
  const result: OneResult = { ms: median(times), loss, peak_rss_mb: process.resourceUsage().maxRSS / 1024, session_weight_mb: step.initializer_bytes / 2 ** 20, ...(summary ? { profile: summary } : {}) };
  await step.dispose();
  return result;
}

function spawnOne(run: OneRun): OneResult | { error: string } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--one', JSON.stringify(run)], { encoding: 'utf8', maxBuffer: 1 << 22 });
  const last = child.stdout.trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !last.startsWith('{')) return { error: (child.stderr || 'failed').trim().split('\n').slice(-1)[0]! };
  return JSON.parse(last) as OneResult;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ftm-bench-train-'));
  try {
    const shapes = list(process.env.BENCH_SHAPES);
    const approaches = (list(process.env.BENCH_APPROACHES) ?? ['lora', 'qlora']) as Array<'lora' | 'qlora'>;
    const threadsOverride = list(process.env.BENCH_THREADS)?.map(Number);
    const torch = torchAvailable();
    console.log(`SFT step: batch ${B} × ${T}, LoRA r 8, alpha 16, ${TARGETS.join('+')}; QLoRA: the same over NF4 linear weights${torch ? '' : '; PyTorch: not installed'}`);
    console.log('model | approach | threads | ms/step | tok/s | peak RSS MB | session weights MB | torch ms/step | torch tok/s | torch peak RSS MB | ratio');
    const described = new Set<string>();
    for (const plan of PLANS.filter((p) => !shapes || shapes.includes(p.key))) {
      const steps = Number(process.env.BENCH_STEPS) || plan.steps;
      const warmup = process.env.BENCH_WARMUP !== undefined ? Number(process.env.BENCH_WARMUP) : plan.warmup;
      const torchDir = join(work, `torch-${plan.key}`);
      for (const approach of approaches) {
        for (const threads of threadsOverride ?? plan.threads) {
          const needWeights = torch && approach === approaches[0] && threads === (threadsOverride ?? plan.threads)[0];
          const r = spawnOne({ shape: plan.key, approach, threads, steps, warmup, work, ...(needWeights ? { torch_dir: torchDir } : {}) });
          if ('error' in r) {
            console.log(`${plan.name} | ${approach} | ${threads} | failed: ${r.error}`);
            continue;
          }
          let torchCols = '- | - | - | -';
          if (torch) {
            const t = runTorch({ dir: torchDir, mode: 'train', threads, batch: B, seq: T, reps: steps, warmup, lora_targets: TARGETS, lora_r: 8, lora_alpha: 16, qlora: approach === 'qlora' });
            if ('median_s' in t) {
              // An untuned reference (netlib BLAS, glibc malloc) gets no ratio.
              const ratio = announceTorchRuntime(t.runtime, described) ? `${((t.median_s * 1000) / r.ms).toFixed(2)}×` : 'none (untuned reference)';
              torchCols = `${(t.median_s * 1000).toFixed(1)} | ${((B * T) / t.median_s).toFixed(0)} | ${t.peak_rss_mb.toFixed(0)} | ${ratio}`;
            } else torchCols = `failed: ${t.error}`;
          }
          console.log(`${plan.name} | ${approach} | ${threads} | ${r.ms.toFixed(1)} | ${((B * T) / (r.ms / 1000)).toFixed(0)} | ${r.peak_rss_mb.toFixed(0)} | ${r.session_weight_mb.toFixed(1)} | ${torchCols}   (loss ${r.loss.toFixed(4)})`);
          if (r.profile) console.log(`  profile: ${r.profile}`);
        }
      }
      rmSync(torchDir, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const one = process.argv.indexOf('--one');
if (one >= 0) console.log(JSON.stringify(await runOne(JSON.parse(process.argv[one + 1]!) as OneRun)));
else await main();
