import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeLora, readPeftAdapter, writeModelFolder, writePeftAdapter, type LoraPair } from '../../src/models/files/peft.js';
import { loadModelFolder } from '../../src/models/files/load-model.js';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { readSafetensors } from '../../src/models/files/safetensors.js';

const work = mkdtempSync(join(tmpdir(), 'ftm-peft-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function seeded(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}
function random(shape: number[], rand: () => number) {
  return { shape, data: Float32Array.from({ length: shape[0] * shape[1] }, rand) };
}

describe('PEFT adapter I/O', () => {
  it('round-trips names, shapes and values in PEFT layout', () => {
    const rand = seeded(1);
    const tensors = new Map<string, LoraPair>([
      ['model.layers.0.self_attn.q_proj', { A: random([4, 64], rand), B: random([64, 4], rand) }],
      ['model.layers.1.self_attn.v_proj', { A: random([4, 64], rand), B: random([32, 4], rand) }],
    ]);
    const dir = join(work, 'adapter');
    writePeftAdapter(dir, { base_model_name_or_path: 'mdl_x', r: 4, lora_alpha: 8, lora_dropout: 0.05, target_modules: ['q_proj', 'v_proj'], use_rslora: false, tensors });
    const names = [...readSafetensors(join(dir, 'adapter_model.safetensors')).keys()].sort();
    expect(names).toEqual([
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
      'base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight',
      'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight',
    ]);
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], use_rslora: false });
    const back = readPeftAdapter(dir);
    expect(back.tensors.get('model.layers.1.self_attn.v_proj')!.B.shape).toEqual([32, 4]);
    expect(Array.from(back.tensors.get('model.layers.0.self_attn.q_proj')!.A.data)).toEqual(Array.from(tensors.get('model.layers.0.self_attn.q_proj')!.A.data));
  });

  it('merges W + scale·B·A as TensorFlow.js computes it (alpha/r and rsLoRA alpha/sqrt(r))', () => {
    const rand = seeded(7);
    const W = random([6, 5], rand);
    const pair = { A: random([3, 5], rand), B: random([6, 3], rand) };
    const weights = new Map([['m.proj.weight', W], ['other.weight', random([2, 2], rand)]]);
    for (const use_rslora of [false, true]) {
      const adapter = { base_model_name_or_path: 'x', r: 3, lora_alpha: 6, lora_dropout: 0, target_modules: ['proj'], use_rslora, tensors: new Map([['m.proj', pair]]) };
      const merged = mergeLora(weights, adapter);
      const scale = use_rslora ? 6 / Math.sqrt(3) : 2;
      const reference = tf.add(tf.tensor2d(W.data, [6, 5]), tf.mul(tf.matMul(tf.tensor2d(pair.B.data, [6, 3]), tf.tensor2d(pair.A.data, [3, 5])), scale));
      const expected = reference.dataSync();
      const got = merged.get('m.proj.weight')!.data;
      for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i], 5);
      expect(merged.get('other.weight')).toBe(weights.get('other.weight'));
      expect(weights.get('m.proj.weight')!.data).toBe(W.data); // input untouched
    }
    // Conv1D (GPT-2) weights are [in, out]: the delta is transposed.
    const conv = { shape: [5, 6], data: new Float32Array(30) };
    const merged = mergeLora(new Map([['h.0.attn.c_attn.weight', conv]]), {
      base_model_name_or_path: 'x', r: 3, lora_alpha: 3, lora_dropout: 0, target_modules: ['c_attn'], use_rslora: false, fan_in_fan_out: true,
      tensors: new Map([['h.0.attn.c_attn', pair]]),
    });
    const deltaT = tf.transpose(tf.matMul(tf.tensor2d(pair.B.data, [6, 3]), tf.tensor2d(pair.A.data, [3, 5]))).dataSync();
    const got = merged.get('h.0.attn.c_attn.weight')!.data;
    for (let i = 0; i < 30; i++) expect(got[i]).toBeCloseTo(deltaT[i], 5);
  });

  it('reads PEFT alpha_pattern per module and refuses DoRA adapters', () => {
    const rand = seeded(11);
    const dir = join(work, 'patterned');
    const pair = { A: random([2, 4], rand), B: random([4, 2], rand) };
    writePeftAdapter(dir, { base_model_name_or_path: 'x', r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], use_rslora: false, tensors: new Map([['model.layers.0.self_attn.q_proj', pair], ['model.layers.0.self_attn.v_proj', pair]]) });
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...config, alpha_pattern: { v_proj: 8 } }));
    const adapter = readPeftAdapter(dir);
    expect(adapter.tensors.get('model.layers.0.self_attn.v_proj')!.alpha).toBe(8);
    expect(adapter.tensors.get('model.layers.0.self_attn.q_proj')!.alpha).toBeUndefined();
    const zero = { shape: [4, 4], data: new Float32Array(16) };
    const merged = mergeLora(new Map([['model.layers.0.self_attn.q_proj.weight', zero], ['model.layers.0.self_attn.v_proj.weight', zero]]), adapter);
    const q = merged.get('model.layers.0.self_attn.q_proj.weight')!.data;
    const v = merged.get('model.layers.0.self_attn.v_proj.weight')!.data;
    for (let i = 0; i < 16; i++) expect(v[i]).toBeCloseTo(2 * q[i], 6); // alpha 8 vs 4 at the same r
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...config, use_dora: true }));
    expect(() => readPeftAdapter(dir)).toThrow(/DoRA/);
  });

  it('refuses an adapter whose module is missing from the base and a folder that is not an adapter', () => {
    const rand = seeded(3);
    const adapter = { base_model_name_or_path: 'x', r: 2, lora_alpha: 2, lora_dropout: 0, target_modules: ['q_proj'], use_rslora: false, tensors: new Map([['nope.q_proj', { A: random([2, 4], rand), B: random([4, 2], rand) }]]) };
    expect(() => mergeLora(new Map(), adapter)).toThrow(/no nope.q_proj.weight/);
    expect(() => readPeftAdapter(work)).toThrow(/not a PEFT adapter folder/);
  });

  it('writes a merged model folder that loads back with the merged weights and the tokenizer', async () => {
    const base = join(work, 'base');
    convertLlama2c({ checkpoint: new URL('../../assets/models/stories260K/stories260K.bin', import.meta.url).pathname, tokenizer: new URL('../../assets/models/stories260K/tok512.bin', import.meta.url).pathname, out_dir: base });
    const model = await loadModelFolder(base);
    const rand = seeded(5);
    const adapter = { base_model_name_or_path: base, r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj'], use_rslora: false, tensors: new Map([['model.layers.0.self_attn.q_proj', { A: random([2, 64], rand), B: random([64, 2], rand) }]]) };
    const merged = mergeLora(model.weights, adapter);
    const out = join(work, 'merged');
    writeModelFolder(out, model, merged);
    const reloaded = await loadModelFolder(out);
    expect(Array.from(reloaded.weights.get('model.layers.0.self_attn.q_proj.weight')!.data)).toEqual(Array.from(merged.get('model.layers.0.self_attn.q_proj.weight')!.data));
    expect(reloaded.config.hidden_size).toBe(64);
    expect(reloaded.tokenizer.encode('Once upon a time')).toEqual(model.tokenizer.encode('Once upon a time'));
  });
});
