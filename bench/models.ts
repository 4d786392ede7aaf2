/**
 * bench/models: model-file speeds. safetensors read (f32, and f16/bf16 upcast) of a random model with
 * the stories15M shape against plain readFileSync of the same bytes; tokenizer encode tokens/s of the
 * converted stories260K tokenizer.json (@huggingface/tokenizers) against the run.c encode algorithm
 * (test/models/runc-encode.ts) on TinyStories text; llama2.c conversion time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertLlama2c } from '../src/models/files/llama2c.js';
import { encodeSafetensors, readSafetensors, writeSafetensors } from '../src/models/files/safetensors.js';
import { loadTokenizer } from '../src/models/files/tokenizer.js';
import { readRunCTokenizer, runCEncode } from '../test/models/runc-encode.js';

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ftm-bench-models-'));

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

function toHalfFile(path: string, source: string, dtype: 'F16' | 'BF16'): void {
  // Re-encode the f32 file's tensors as 16-bit (truncating: speed only, not precision, matters here).
  const bytes = readFileSync(source);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const floats = new Uint32Array(bytes.buffer.slice(bytes.byteOffset + 8 + n, bytes.byteOffset + bytes.length));
  const halves = new Uint16Array(floats.length);
  for (let i = 0; i < floats.length; i++) halves[i] = dtype === 'BF16' ? floats[i] >>> 16 : 0x3c00 ^ (floats[i] & 0x3ff);
  for (const entry of Object.values(header)) {
    if (!entry.data_offsets) continue;
    entry.dtype = dtype;
    entry.data_offsets = [entry.data_offsets[0] / 2, entry.data_offsets[1] / 2];
  }
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([prefix, json, Buffer.from(halves.buffer)]));
}

// 1. safetensors, stories15M shape (dim 288, 6 layers, hidden 768, vocab 32000): ~15M f32 weights.
const dim = 288;
const hidden = 768;
const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const tensors = new Map([['model.embed_tokens.weight', { shape: [32000, dim], data: rand(32000 * dim) }]]);
for (let l = 0; l < 6; l++) {
  for (const p of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) tensors.set(`model.layers.${l}.self_attn.${p}.weight`, { shape: [dim, dim], data: rand(dim * dim) });
  for (const p of ['gate_proj', 'up_proj']) tensors.set(`model.layers.${l}.mlp.${p}.weight`, { shape: [hidden, dim], data: rand(hidden * dim) });
  tensors.set(`model.layers.${l}.mlp.down_proj.weight`, { shape: [dim, hidden], data: rand(dim * hidden) });
}
const f32 = join(work, 'f32.safetensors');
const writeMs = best(3, () => writeSafetensors(f32, tensors));
const mb = readFileSync(f32).length / 1e6;
const rawMs = best(5, () => readFileSync(f32));
const readMs = best(5, () => readSafetensors(f32));
const f16 = join(work, 'f16.safetensors');
const bf16 = join(work, 'bf16.safetensors');
toHalfFile(f16, f32, 'F16');
toHalfFile(bf16, f32, 'BF16');
const f16Ms = best(5, () => readSafetensors(f16));
const bf16Ms = best(5, () => readSafetensors(bf16));
const encodeMs = best(3, () => encodeSafetensors(tensors));
const params = [...tensors.values()].reduce((n, t) => n + t.data.length, 0);
console.log(`safetensors, stories15M-shaped random model (${(params / 1e6).toFixed(1)}M weights, ${mb.toFixed(1)} MB f32):`);
console.log(`  readFileSync (reference)  ${rawMs.toFixed(1)} ms  ${(mb / rawMs * 1000).toFixed(0)} MB/s`);
console.log(`  readSafetensors F32       ${readMs.toFixed(1)} ms  ${(mb / readMs * 1000).toFixed(0)} MB/s  (${(readMs / rawMs).toFixed(2)}x readFileSync)`);
console.log(`  readSafetensors F16→F32   ${f16Ms.toFixed(1)} ms  ${(params / f16Ms / 1000).toFixed(0)} M weights/s`);
console.log(`  readSafetensors BF16→F32  ${bf16Ms.toFixed(1)} ms  ${(params / bf16Ms / 1000).toFixed(0)} M weights/s`);
console.log(`  encodeSafetensors         ${encodeMs.toFixed(1)} ms; writeSafetensors (atomic, fsync) ${writeMs.toFixed(1)} ms`);

// 2. llama2.c conversion.
const out = join(work, 'stories260K');
const assets = join(root, 'assets/models/stories260K');
const convertMs = best(3, () => {
  rmSync(out, { recursive: true, force: true });
  convertLlama2c({ checkpoint: join(assets, 'stories260K.bin'), tokenizer: join(assets, 'tok512.bin'), out_dir: out });
});
console.log(`llama2.c → Hugging Face conversion of stories260K: ${convertMs.toFixed(1)} ms`);

// 3. Tokenizer encode on TinyStories text (46 stories), against the run.c algorithm.
const text = readFileSync(join(root, 'test/fixtures/tinystories/TinyStories-valid.head.txt'), 'utf8');
const stories = text.split('<|endoftext|>').map((s) => s.trim()).filter(Boolean);
const tokenizer = loadTokenizer(out);
const reference = readRunCTokenizer(readFileSync(join(assets, 'tok512.bin')), 512);
let tokens = 0;
for (const s of stories) tokens += tokenizer.encode(s).length;
const hfMs = best(3, () => stories.forEach((s) => tokenizer.encode(s)));
const runcMs = best(3, () => stories.forEach((s) => runCEncode(reference, s, true, false)));
console.log(`tokenizer encode, ${stories.length} TinyStories stories, ${tokens} tokens:`);
console.log(`  @huggingface/tokenizers (converted tokenizer.json)  ${(tokens / hfMs * 1000).toFixed(0)} tokens/s`);
console.log(`  run.c encode algorithm, TS transcription (reference) ${(tokens / runcMs * 1000).toFixed(0)} tokens/s  → ratio ${(runcMs / hfMs).toFixed(2)}x`);
const decodeMs = best(3, () => stories.forEach((s) => tokenizer.decode(tokenizer.encode(s))));
console.log(`  encode+decode round trip                          ${(tokens / decodeMs * 1000).toFixed(0)} tokens/s`);
rmSync(work, { recursive: true, force: true });
