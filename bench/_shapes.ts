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
