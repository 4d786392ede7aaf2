/** The two model shapes the runtime and training benchmarks measure: stories260K (real) and a random stories15M-shaped Llama. */
import { join } from 'node:path';
import { convertLlama2c } from '../src/models/files/llama2c.js';
import { loadModelFolder } from '../src/models/files/load-model.js';
import { randomLlama } from '../test/engine/helpers/random-model.js';

const root = new URL('..', import.meta.url).pathname;

export async function benchShapes(work: string) {
  convertLlama2c({ checkpoint: join(root, 'assets/models/stories260K/stories260K.bin'), tokenizer: join(root, 'assets/models/stories260K/tok512.bin'), out_dir: join(work, 's260k') });
  const s260k = await loadModelFolder(join(work, 's260k'));
  const s15m = randomLlama({ vocab: 32000, hidden: 288, layers: 6, heads: 6, kvHeads: 6, inter: 768, tied: true }, 15, 0.05);
  return [
    { name: 'stories260K', model: s260k, config: s260k.raw_config, weights: s260k.weights },
    { name: 'stories15M-shape (random)', model: s15m, config: s15m.raw_config, weights: s15m.weights },
  ];
}

/**
 * Larger random-weight Llama shapes for the cost-at-scale rows of bench/train, made one at a time
 * (each is 0.4–0.5 GB of float32):
 * - stories110M: llama2.c's 110M model (dim 768, 12 layers, 12 heads, hidden_dim 2048, vocab 32000, shared head);
 * - SmolLM2-135M: HuggingFaceTB/SmolLM2-135M's config.json (hidden 576, intermediate 1536, 30 layers,
 *   9 heads, 3 kv heads, head_dim 64, vocab 49152, tied embeddings, rope_theta 100000).
 */
export const SCALE_SHAPES = {
  s110m: { name: 'stories110M-shape (random)', make: () => randomLlama({ vocab: 32000, hidden: 768, layers: 12, heads: 12, kvHeads: 12, inter: 2048, tied: true }, 110, 0.02) },
  smol135m: { name: 'SmolLM2-135M-shape (random)', make: () => randomLlama({ vocab: 49152, hidden: 576, layers: 30, heads: 9, kvHeads: 3, inter: 1536, tied: true, ropeTheta: 100000 }, 135, 0.02) },
} as const;
