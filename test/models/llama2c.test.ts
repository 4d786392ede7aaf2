import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FinetuneError } from '../../src/errors.js';
import { convertLlama2c, permuteForRotateHalf } from '../../src/models/files/llama2c.js';
import { loadModelFolder } from '../../src/models/files/load-model.js';
import { readSafetensors } from '../../src/models/files/safetensors.js';
import { readRunCTokenizer, runCEncode } from './runc-encode.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const CHECKPOINT = join(ASSETS, 'stories260K.bin');
const TOKENIZER = join(ASSETS, 'tok512.bin');
const TINYSTORIES = new URL('../fixtures/tinystories/', import.meta.url).pathname;

describe('llama2.c converter (stories260K)', () => {
  let work: string;
  let out: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ftm-l2c-'));
    out = join(work, 'hf');
    convertLlama2c({ checkpoint: CHECKPOINT, tokenizer: TOKENIZER, out_dir: out });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('writes LlamaForCausalLM tensors with the shapes transformers expects', () => {
    const weights = readSafetensors(join(out, 'model.safetensors'));
    expect(weights.get('model.embed_tokens.weight')!.shape).toEqual([512, 64]);
    expect(weights.get('model.layers.4.self_attn.q_proj.weight')!.shape).toEqual([64, 64]);
    expect(weights.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([32, 64]);
    expect(weights.get('model.layers.0.self_attn.v_proj.weight')!.shape).toEqual([32, 64]);
    expect(weights.get('model.layers.0.mlp.gate_proj.weight')!.shape).toEqual([172, 64]);
    expect(weights.get('model.layers.0.mlp.down_proj.weight')!.shape).toEqual([64, 172]);
    expect(weights.get('model.norm.weight')!.shape).toEqual([64]);
    expect(weights.has('lm_head.weight')).toBe(false); // tied, as transformers saves it
    expect(weights.size).toBe(1 + 5 * 9 + 1);
    const params = [...weights.values()].reduce((n, t) => n + t.data.length, 0);
    expect(params).toBe(260_032); // FORMAT.md: 264,128 floats − 4,096 freq_cis
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'llama', hidden_size: 64, num_key_value_heads: 4, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2 });
  });

  it('copies weights in file order: embedding row 0 and wv of layer 0 are the raw floats', () => {
    const file = readFileSync(CHECKPOINT);
    const raw = new Float32Array(file.buffer.slice(file.byteOffset + 28, file.byteOffset + file.length));
    const weights = readSafetensors(join(out, 'model.safetensors'));
    expect(Array.from(weights.get('model.embed_tokens.weight')!.data.subarray(0, 64))).toEqual(Array.from(raw.subarray(0, 64)));
    const vOffset = 512 * 64 + 5 * 64 + 5 * 64 * 64 + 5 * 32 * 64;
    expect(Array.from(weights.get('model.layers.0.self_attn.v_proj.weight')!.data)).toEqual(Array.from(raw.subarray(vOffset, vOffset + 32 * 64)));
  });

  it('permutes q/k rows from interleaved pairs to rotate-half halves (export.py permute_original)', () => {
    // one head of size 4, in_dim 1: rows [r0 r1 r2 r3] (pairs (r0,r1), (r2,r3)) → [r0 r2 r1 r3]
    expect(Array.from(permuteForRotateHalf(Float32Array.from([0, 1, 2, 3]), 1, 4, 1))).toEqual([0, 2, 1, 3]);
    expect(Array.from(permuteForRotateHalf(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 2, 4, 1))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });

  it('tokenizer.json encodes the TinyStories text exactly as run.c encode does, and decodes it back', async () => {
    const model = await loadModelFolder(out);
    const reference = readRunCTokenizer(readFileSync(TOKENIZER), 512);
    const text = readFileSync(join(TINYSTORIES, 'TinyStories-valid.head.txt'), 'utf8');
    const stories = text.split('<|endoftext|>').map((s) => s.trim()).filter(Boolean);
    expect(stories.length).toBeGreaterThan(40);
    for (const story of stories) {
      expect(model.tokenizer.encode(story)).toEqual(runCEncode(reference, story, true, false));
    }
    const sample = readFileSync(join(TINYSTORIES, 'tinystories_sample.txt'), 'utf8');
    const ids = model.tokenizer.encode(sample, { add_special_tokens: false });
    expect(ids).toEqual(runCEncode(reference, sample, false, false));
    expect(model.tokenizer.decode(ids)).toBe(sample);
    // Non-ASCII goes through byte fallback in both.
    const odd = 'Café — naïve 😀 “quotes”\n\ttabs';
    expect(model.tokenizer.encode(odd)).toEqual(runCEncode(reference, odd, true, false));
    expect(model.tokenizer.decode(model.tokenizer.encode(odd), { skip_special_tokens: true })).toBe(odd);
    expect(model.tokenizer.bos_token_id).toBe(1);
    expect(model.tokenizer.eos_token_id).toBe(2);
  });

  it('refuses a truncated checkpoint and a mismatched tokenizer with FILE_ERROR', () => {
    const bad = join(work, 'truncated.bin');
    writeFileSync(bad, readFileSync(CHECKPOINT).subarray(0, 500_000));
    const attempt = () => convertLlama2c({ checkpoint: bad, tokenizer: TOKENIZER, out_dir: join(work, 'x') });
    expect(attempt).toThrow(FinetuneError);
    expect(attempt).toThrow(/truncated/);
    const badTok = join(work, 'tok.bin');
    writeFileSync(badTok, readFileSync(TOKENIZER).subarray(0, 3000));
    expect(() => convertLlama2c({ checkpoint: CHECKPOINT, tokenizer: badTok, out_dir: join(work, 'y') })).toThrow(/truncated/);
  });
});
