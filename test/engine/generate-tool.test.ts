/** The generate tool through a real MCP client, on stories260K imported with import_model. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, loadRuntimeModel } from '../../plugins/local/engine/index.js';
import { writePeftAdapter } from '../../src/models/files/peft.js';
import { generateTool } from '../../tools/generate.js';
import { importModelTool } from '../../tools/import-model.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { seededRandom } from './helpers/random-model.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;

describe('generate tool', () => {
  let t: TestClient;
  let modelId: string;
  let modelDir: string;
  const scratch = mkdtempSync(join(tmpdir(), 'ftm-gen-'));
  beforeAll(async () => {
    t = await connectTestClient({ config: { allowed_roots: [ASSETS, scratch] } });
    const imported = await t.callOk(importModelTool, { source: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin') });
    modelId = imported.model_id;
    modelDir = t.services.models.get(modelId).dir;
  });
  afterAll(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('continues a prompt greedily, as the engine does, reporting provider and speed', async () => {
    const out = await t.callOk(generateTool, { model_id: modelId, prompt: 'Once upon a time', max_tokens: 30 });
    expect(out.tokens).toBe(30);
    expect(out.finish_reason).toBe('length');
    expect(out.provider).toBe('cpu');
    expect(out.tokens_per_s).toBeGreaterThan(0);
    expect(out.adapter).toBeNull();
    const direct = await generate(await loadRuntimeModel(modelDir), { prompt: 'Once upon a time', max_tokens: 30, temperature: 0 });
    expect(out.text).toBe(direct.text);
    expect(out.text).toMatch(/[a-z]/);
  });

  it('stops at a stop string and repeats a seeded sample', async () => {
    const stopped = await t.callOk(generateTool, { model_id: modelId, prompt: 'Once upon a time', max_tokens: 100, stop: ['.'] });
    expect(stopped.finish_reason).toBe('stop');
    expect(stopped.text).not.toContain('.');
    const a = await t.callOk(generateTool, { model_id: modelId, prompt: 'Lily', max_tokens: 25, temperature: 1, top_p: 0.95, seed: 9 });
    const b = await t.callOk(generateTool, { model_id: modelId, prompt: 'Lily', max_tokens: 25, temperature: 1, top_p: 0.95, seed: 9 });
    expect(a.text).toBe(b.text);
  });

  it('applies an adapter from adapter_path, and refuses a job without one', async () => {
    const base = await loadRuntimeModel(modelDir);
    const next = seededRandom(4);
    const tensors = new Map();
    for (let l = 0; l < 5; l++) {
      const rand = (n: number) => Float32Array.from({ length: n }, () => (2 * next() - 1) * 0.5);
      tensors.set(`model.layers.${l}.mlp.down_proj`, { A: { shape: [4, 172], data: rand(4 * 172) }, B: { shape: [64, 4], data: rand(64 * 4) } });
    }
    const adapterDir = join(scratch, 'adapter');
    writePeftAdapter(adapterDir, { base_model_name_or_path: 'stories260K', r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['down_proj'], use_rslora: false, tensors });
    const plain = await generate(base, { prompt: 'Once upon a time', max_tokens: 30 });
    const adapted = await t.callOk(generateTool, { model_id: modelId, prompt: 'Once upon a time', max_tokens: 30, adapter_path: adapterDir });
    expect(adapted.adapter).toBe(adapterDir);
    expect(adapted.text).not.toBe(plain.text);
    const direct = await generate(await loadRuntimeModel(modelDir, { adapter_dir: adapterDir }), { prompt: 'Once upon a time', max_tokens: 30 });
    expect(adapted.text).toBe(direct.text);

    const missing = await t.call('generate', { model_id: modelId, prompt: 'x', job_id: 'job_nope' });
    expect(missing.isError).toBe(true);
    expect(JSON.stringify(missing.content)).toContain('[NOT_FOUND]');
  });

  it('refuses an unknown model and a call with neither prompt nor messages', async () => {
    const unknown = await t.call('generate', { model_id: 'mdl_missing', prompt: 'x' });
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.content)).toContain('[NOT_FOUND]');
    const empty = await t.call('generate', { model_id: modelId });
    expect(empty.isError).toBe(true);
    expect(JSON.stringify(empty.content)).toContain('[INVALID_INPUT]');
  });
});
