/**
 * bench/runtime: forward tokens/s (batch 8 × 256, log-prob scoring, the perplexity path), generation
 * tokens/s with the KV cache (greedy, 128 tokens from BOS, batch 1) and graph + session build time, for
 * stories260K and a random model with the stories15M shape (dim 288, 6 layers, 6 heads, vocab 32000),
 * at 1 and 2 intra-op threads. Where /usr/bin/python3 has torch, the same forward runs in PyTorch in
 * the same run (tuned: OPENBLAS_NUM_THREADS=1, torch.set_num_threads) and the ratio is printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, loadRuntimeModel, releaseRuntimeModel, scoreSequences } from '../plugins/local/engine/index.js';
import { benchShapes } from './_shapes.js';
import { announceTorchRuntime, runTorch, torchAvailable, writeTorchWeights } from './_torch.js';

const work = mkdtempSync(join(tmpdir(), 'ftm-bench-runtime-'));
const B = 8;
const T = 256;
const REPS = 5;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const shapes = await benchShapes(work);
  const torch = torchAvailable();
  console.log(`forward: batch ${B} × ${T} tokens, median of ${REPS}; generation: 128 new tokens, batch 1, KV cache${torch ? '' : '; PyTorch: not installed'}`);
  console.log('model | threads | build ms | forward tok/s | torch forward tok/s | ratio | generate tok/s');
  const described = new Set<string>();
  for (const shape of shapes) {
    const torchDir = join(work, `torch-${shape.name.split(' ')[0]}`);
    if (torch) writeTorchWeights(torchDir, shape.config, shape.weights);
    for (const threads of [1, 2]) {
      const rt = await loadRuntimeModel(shape.model as never, { threads });
      const vocab = shape.config.vocab_size as number;
      const rows = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 7919 + t * 104729) % vocab));
      await scoreSequences(rt, { input_ids: rows });
      const times: number[] = [];
      for (let i = 0; i < REPS; i++) {
        const t0 = performance.now();
        await scoreSequences(rt, { input_ids: rows });
        times.push(performance.now() - t0);
      }
      const forward = (B * T) / (median(times) / 1000);
      await generate(rt, { input_ids: [1], max_tokens: 8 });
      const gen = await generate(rt, { input_ids: [1], max_tokens: 128, temperature: 0 });
      const genRate = gen.tokens.length / (128 / gen.tokens_per_s) || gen.tokens_per_s;
      let torchRate = NaN;
      let tuned = false;
      if (torch) {
        const r = runTorch({ dir: torchDir, mode: 'forward', threads, batch: B, seq: T, reps: REPS });
        if ('median_s' in r) {
          torchRate = (B * T) / r.median_s;
          tuned = announceTorchRuntime(r.runtime, described);
        } else console.log(`  torch failed: ${r.error}`);
      }
      const build = (rt.build_ms.score ?? 0) + (rt.build_ms.decode ?? 0);
      console.log(
        `${shape.name} | ${threads} | ${build.toFixed(0)} (score+decode) | ${forward.toFixed(0)} | ${Number.isNaN(torchRate) ? '-' : torchRate.toFixed(0)} | ${Number.isNaN(torchRate) ? '-' : tuned ? (forward / torchRate).toFixed(2) + '×' : 'none (untuned reference)'} | ${genRate.toFixed(0)}`,
      );
      await releaseRuntimeModel(rt);
    }
  }
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
