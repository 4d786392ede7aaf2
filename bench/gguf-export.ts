/**
 * bench/gguf-export: GGUF export speed (MB of f32 weights in per second, and MB written) for f32,
 * f16 and q8_0, on the largest model shape the repo ships a config for that the local engine runs:
 * Qwen2-0.5B (test/fixtures/model-configs/qwen2-0.5b.json, 494M parameters, 2 GB in f32), with
 * seeded random weights. It times the writer (tensor mapping, encoding, file write with fsync and
 * rename), not loading safetensors or the tokenizer metadata.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archFromConfig } from '../src/models/files/arch.js';
import { ggufModel } from '../src/models/gguf/architecture.js';
import type { GgmlType } from '../src/models/gguf/quantize.js';
import { writeGguf } from '../src/models/gguf/writer.js';
import { randomLlama } from '../test/engine/helpers/random-model.js';

const config = JSON.parse(readFileSync(new URL('../test/fixtures/model-configs/qwen2-0.5b.json', import.meta.url), 'utf8')) as Record<string, number>;
const arch = archFromConfig(config);
const model = randomLlama(
  { vocab: config.vocab_size, hidden: config.hidden_size, layers: config.num_hidden_layers, heads: config.num_attention_heads, kvHeads: config.num_key_value_heads, inter: config.intermediate_size, tied: true, qkvBias: true, modelType: 'qwen2' },
  1,
  0.05,
);
let inputBytes = 0;
for (const t of model.weights.values()) inputBytes += t.data.byteLength;
const work = mkdtempSync(join(tmpdir(), 'ftm-bench-gguf-'));
console.log(`model: qwen2-0.5b shape, ${(inputBytes / 4 / 1e6).toFixed(0)}M parameters, ${(inputBytes / 1e6).toFixed(0)} MB f32`);
try {
  for (const type of ['f32', 'f16', 'q8_0'] as GgmlType[]) {
    const started = performance.now();
    const { metadata, tensors } = ggufModel(arch, model.weights, { type, fallback: 'f16', fallback_field: 'fallback' });
    const bytes = writeGguf(join(work, `model-${type}.gguf`), metadata, tensors);
    const seconds = (performance.now() - started) / 1000;
    console.log(`${type.padEnd(5)} ${seconds.toFixed(2)} s, ${(inputBytes / 1e6 / seconds).toFixed(0)} MB/s of f32 weights in, ${(bytes / 1e6).toFixed(0)} MB written (${(bytes / 1e6 / seconds).toFixed(0)} MB/s out)`);
    rmSync(join(work, `model-${type}.gguf`));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
