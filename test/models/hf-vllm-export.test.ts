/**
 * export_model formats "hf" and "vllm": the merged safetensors folder (sharded past max_shard_mb)
 * reads back to exactly the engine's merged weights, the adapter alone is the registry's copy, the
 * version's model card is README.md; the vLLM folder carries the adapter and the serve command.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRuntimeModel } from '../../plugins/local/engine/index.js';
import { loadModelFolder } from '../../src/models/files/load-model.js';
import { exportModelTool } from '../../tools/export-model.js';
import { modelCardTool } from '../../tools/model-card.js';
import { registerModelTool } from '../../tools/register-model.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { writeAdapter } from '../registry/records.js';
import { STORIES_260K } from '../trainer/helpers/job-fixtures.js';

describe('export_model formats hf and vllm', () => {
  let t: TestClient;
  let modelId: string;
  let baseDir: string;
  let adapter: string;

  beforeAll(async () => {
    t = await connectTestClient();
    ({ model: { id: modelId, dir: baseDir } } = await t.services.models.import(join(STORIES_260K, 'stories260K.bin'), { tokenizer: join(STORIES_260K, 'tok512.bin') }));
    adapter = writeAdapter(join(mkdtempSync(join(t.home, 'adapter-')), 'adapter'), { r: 32, seed: 3, kv_dim: 32 });
    await t.callOk(registerModelTool, { name: 'stories-bot', version: '1.0.0', adapter_path: adapter, base_model: modelId, description: 'Pirate stories' });
  });
  afterAll(async () => t?.close());

  it('hf merged: shards past max_shard_mb, and the shards hold exactly the engine\'s merged weights', async () => {
    const out = await t.callOk(exportModelTool, { version: 'stories-bot@1.0.0', format: 'hf', max_shard_mb: 0.3, output_path: join(t.home, 'export', 'hf') });
    const names = out.files.map((f) => f.name);
    expect(out.hf).toEqual({ merged: true, shards: 4 });
    expect(names).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors.index.json', 'model-00001-of-00004.safetensors', 'README.md']));
    expect(out.files.filter((f) => f.name.endsWith('-of-00004.safetensors')).every((f) => f.bytes < 300_000 + 70_000)).toBe(true);
    const index = JSON.parse(readFileSync(join(out.path, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata.total_size).toBe(260_032 * 4);

    const exported = await loadModelFolder(out.path);
    const engine = await loadRuntimeModel(baseDir, { adapter_dir: adapter });
    expect([...exported.weights.keys()].sort()).toEqual([...engine.weights.keys()].sort());
    for (const [name, tensor] of engine.weights) {
      expect(exported.weights.get(name)!.shape, name).toEqual(tensor.shape);
      expect(exported.weights.get(name)!.data, name).toEqual(tensor.data);
    }
    const base = await loadModelFolder(baseDir);
    expect(exported.weights.get('model.layers.0.self_attn.q_proj.weight')!.data).not.toEqual(base.weights.get('model.layers.0.self_attn.q_proj.weight')!.data);

    const card = await t.callOk(modelCardTool, { name: 'stories-bot', version: '1.0.0' });
    expect(readFileSync(join(out.path, 'README.md'), 'utf8')).toBe(card.markdown);
  });

  it('hf with merged false: the adapter alone, as the registry holds it, with the card', async () => {
    const out = await t.callOk(exportModelTool, { version: 'stories-bot@1.0.0', format: 'hf', merged: false });
    expect(out.files.map((f) => f.name)).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'README.md']);
    expect(out.hf).toEqual({ merged: false, shards: 0 });
    expect(readFileSync(join(out.path, 'adapter_model.safetensors'))).toEqual(readFileSync(join(adapter, 'adapter_model.safetensors')));
    expect(readFileSync(join(out.path, 'README.md'), 'utf8')).toContain('stories-bot');
  });

  it('refuses an adapter-only export of a base model, and an existing output folder', async () => {
    const alone = await t.call('export_model', { model_id: modelId, format: 'hf', merged: false });
    expect(errorCode(alone)).toBe('INVALID_INPUT');
    expect(JSON.stringify(alone.content)).toMatch(/no adapter to export alone/);
    const vllmBase = await t.call('export_model', { model_id: modelId, format: 'vllm' });
    expect(errorCode(vllmBase)).toBe('INVALID_INPUT');
    expect(JSON.stringify(vllmBase.content)).toMatch(/vllm serve <model>/);
    const again = await t.call('export_model', { version: 'stories-bot@1.0.0', format: 'hf', output_path: join(t.home, 'export', 'hf') });
    expect(errorCode(again)).toBe('STATE_CONFLICT');
    const type = await t.call('export_model', { version: 'stories-bot@1.0.0', format: 'hf', type: 'q8_0' });
    expect(errorCode(type)).toBe('INVALID_INPUT');
    expect(JSON.stringify(type.content)).toMatch(/does not write type .*q8_0.*; it writes f32\./);
  });

  it('vllm: the adapter and the exact serve command, in the result and the README', async () => {
    const target = join(t.home, 'export', 'vllm');
    const out = await t.callOk(exportModelTool, { version: 'stories-bot@1.0.0', format: 'vllm', output_path: target });
    expect(out.files.map((f) => f.name)).toEqual(['adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'README.md']);
    // The registry's adapter has rank 32, past vLLM's default --max-lora-rank of 16.
    expect(out.vllm!.serve_command).toBe(`vllm serve ${baseDir} --enable-lora --lora-modules stories-bot-1.0.0=${join(target, 'adapter')} --max-lora-rank 32`);
    expect(existsSync(join(target, 'adapter', 'adapter_config.json'))).toBe(true);
    expect(out.vllm!.request_example).toMatch(/^curl http:\/\/localhost:8000\/v1\/completions .*"model":"stories-bot-1.0.0"/);
    const readme = readFileSync(join(target, 'README.md'), 'utf8');
    expect(readme).toContain(out.vllm!.serve_command);
    expect(readme).toContain(out.vllm!.request_example);
  });
});
