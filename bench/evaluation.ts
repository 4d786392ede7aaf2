/**
 * bench/evaluation: the evaluation stage on stories260K (CPU).
 * - perplexity scoring through the local plugin's inference provider, as evaluate_model calls it
 *   (render rows as the trainer does, BOS, no EOS, batch 8) in tokens/s, against the engine's bare
 *   scoreSequences on the same ids;
 * - greedy generation for text metrics in tokens/s;
 * - the exported ONNX decoder (Optimum names) against the runtime's own graph on one forward.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { forwardLogits, loadRuntimeModel, scoreSequences } from '../plugins/local/engine/index.js';
import { LocalInference } from '../plugins/local/inference.js';
import { buildExportGraph, writeOnnx } from '../plugins/local/export/onnx.js';
import { Renderer } from '../plugins/local/trainer/render.js';
import { convertLlama2c } from '../src/models/files/llama2c.js';

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'bench-eval-'));
try {
  const dir = join(work, 'hf');
  convertLlama2c({ checkpoint: join(root, 'assets/models/stories260K/stories260K.bin'), tokenizer: join(root, 'assets/models/stories260K/tok512.bin'), out_dir: dir });
  const stories = readFileSync(join(root, 'test/fixtures/tinystories/TinyStories-valid.head.txt'), 'utf8').split('<|endoftext|>').map((s) => s.trim()).filter(Boolean).slice(1, 41);
  const items = stories.map((text, i) => ({ text, line: i + 1 }));
  const inference = new LocalInference();
  const local_model = { base_dir: dir, adapter_dir: null };
  const runtime = await loadRuntimeModel(dir); // the same cached model the provider runs
  const renderer = new Renderer(runtime.tokenizer!, 'completion');
  const ids = items.map((item) => renderer.sft({ text: item.text }, 'text', { file: 'bench', line: item.line }).ids.slice(0, -1).slice(0, runtime.arch.max_positions)); // no EOS, cut to the context, as scored
  const tokens = ids.reduce((s, r) => s + r.length - 1, 0);
  const score = (batch: typeof items) => inference.score({ model: 'bench', local_model, items: batch, answers: false });
  await score(items.slice(0, 8)); // build the session once

  const time = async (fn: () => Promise<unknown>, repeats = 3) => {
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      await fn();
      best = Math.min(best, performance.now() - t0);
    }
    return best / 1000;
  };
  const viaRunner = await time(async () => {
    for (let i = 0; i < items.length; i += 8) await score(items.slice(i, i + 8));
  });
  const bare = await time(async () => {
    for (let i = 0; i < ids.length; i += 8) await scoreSequences(runtime, { input_ids: ids.slice(i, i + 8) });
  });
  console.log(`perplexity scoring: ${items.length} rows, ${tokens} tokens`);
  console.log(`  evaluate runner   ${(tokens / viaRunner).toFixed(0)} tokens/s`);
  console.log(`  bare engine       ${(tokens / bare).toFixed(0)} tokens/s   (runner/bare time ratio ${(viaRunner / bare).toFixed(3)})`);

  const prompts = ['Once upon a time,', 'Tom had a ball.', 'The sun was hot.', 'Lily saw a cat.'];
  let generated = 0;
  const gen = await time(async () => {
    generated = 0;
    for (const prompt of prompts) {
      const out = await inference.generate({ model: 'bench', local_model, messages: [], prompt, max_tokens: 64, temperature: 0 });
      generated += out.usage!.completion_tokens;
    }
  }, 2);
  console.log(`greedy generation (KV cache): ${(generated / gen).toFixed(0)} tokens/s over ${generated} new tokens`);

  const model = await loadRuntimeModel(dir);
  const { graph } = buildExportGraph(model.arch, model.weights);
  await writeOnnx(graph, work, 'never');
  const session = await ort.InferenceSession.create(join(work, 'model.onnx'), { intraOpNumThreads: 1 });
  const batch = ids.slice(0, 8).map((r) => r.slice(0, 128));
  const T = 128;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(batch.flat().map(BigInt)), [8, T]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(8 * T).fill(1n), [8, T]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from(batch.flatMap(() => Array.from({ length: T }, (_, i) => BigInt(i)))), [8, T]),
  };
  for (let l = 0; l < model.arch.num_layers; l++) {
    for (const kind of ['key', 'value']) feeds[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [8, model.arch.num_kv_heads, 0, model.arch.head_dim]);
  }
  const runtime1 = await loadRuntimeModel(dir, { threads: 1 });
  await forwardLogits(runtime1, batch);
  await session.run(feeds);
  const exported = await time(() => session.run(feeds), 5);
  const native = await time(() => forwardLogits(runtime1, batch), 5);
  console.log(`forward 8×${T} tokens, 1 thread: exported ONNX ${(exported * 1000).toFixed(1)} ms, runtime graph ${(native * 1000).toFixed(1)} ms (ratio ${(exported / native).toFixed(3)})`);
  await session.release();
} finally {
  rmSync(work, { recursive: true, force: true });
}
