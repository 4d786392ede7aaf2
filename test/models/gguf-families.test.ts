/**
 * The GGUF export of each family it writes — GPT-2 (Conv1D weights transposed, learned positions),
 * Qwen2 (q/k/v biases, rotate-half RoPE kept), Llama with a byte-level tokenizer and llama3 RoPE
 * scaling (Q/K permuted, rope_freqs) — loads in real llama.cpp (node-llama-cpp 3.21.1) and
 * greedily continues token ids as the engine does. Weights are seeded, not trained.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getLlama, readGgufFileInfo, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, loadRuntimeModel } from '../../plugins/local/engine/index.js';
import { exportModelTool } from '../../tools/export-model.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { CHATML_TEMPLATE as CHATML, writeLlamaFamilyFolder, writeTinyGpt2Folder } from './tiny-models.js';

const PROMPT_IDS = [10, 70, 258, 256, 40, 99, 33];

describe('GGUF export per family, run in llama.cpp', () => {
  let t: TestClient;
  let llama: Llama;
  const loaded: LlamaModel[] = [];

  beforeAll(async () => {
    t = await connectTestClient();
    llama = await getLlama({ gpu: false });
  });
  afterAll(async () => {
    for (const m of loaded) await m.dispose();
    await t?.close();
  });

  async function exportAndCompare(folder: string, expected: { architecture: string; pre: string }) {
    const { model } = await t.services.models.import(folder);
    const out = await t.callOk(exportModelTool, { model_id: model.id, format: 'gguf', type: 'f32' });
    expect(out.gguf!.architecture).toBe(expected.architecture);
    const info = await readGgufFileInfo(out.model_file);
    expect(info.version).toBe(3);
    const meta = info.metadata as unknown as { tokenizer: { ggml: { model: string; pre: string } } };
    expect(meta.tokenizer.ggml.model).toBe('gpt2');
    expect(meta.tokenizer.ggml.pre).toBe(expected.pre);

    const runtime = await loadRuntimeModel(model.dir);
    const engine = await generate(runtime, { input_ids: PROMPT_IDS, max_tokens: 12, temperature: 0 });
    expect(engine.tokens).toHaveLength(12);
    const ggufModel = await llama.loadModel({ modelPath: out.model_file });
    loaded.push(ggufModel);
    expect(ggufModel.tokenize(' the tin').map(Number)).toEqual(runtime.tokenizer!.encode(' the tin', { add_special_tokens: false }));
    const context = await ggufModel.createContext({ contextSize: 32, threads: 1 });
    // The sequence's own greedy loop: completion text would hold back tokens that end inside a UTF-8 character.
    const tokens: number[] = [];
    for await (const token of context.getSequence().evaluate(PROMPT_IDS as Token[], { temperature: 0 })) {
      tokens.push(Number(token));
      if (tokens.length === engine.tokens.length) break;
    }
    await context.dispose();
    expect(tokens).toEqual(engine.tokens);
    return { out, info };
  }

  it('GPT-2: Conv1D weights transposed, learned positions', async () => {
    const folder = join(mkdtempSync(join(t.home, 'gpt2-')), 'tiny-gpt2');
    writeTinyGpt2Folder(folder, { d: 32, layers: 2, heads: 4, positions: 32, seed: 3 });
    await exportAndCompare(folder, { architecture: 'gpt2', pre: 'gpt-2' });
  });

  it('Qwen2: biases on q, k, v and the chat template in the metadata', async () => {
    const folder = join(mkdtempSync(join(t.home, 'qwen2-')), 'tiny-qwen2');
    writeLlamaFamilyFolder(folder, { modelType: 'qwen2', qkvBias: true, tied: true });
    const { info } = await exportAndCompare(folder, { architecture: 'qwen2', pre: 'qwen2' });
    expect((info.metadata as unknown as { tokenizer: { chat_template: string } }).tokenizer.chat_template).toBe(CHATML);
  });

  it('Llama with a byte-level tokenizer, an untied head and llama3 RoPE scaling', async () => {
    const folder = join(mkdtempSync(join(t.home, 'llama3-')), 'tiny-llama3');
    writeLlamaFamilyFolder(folder, { modelType: 'llama', qkvBias: false, tied: false, ropeScaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } });
    const { info } = await exportAndCompare(folder, { architecture: 'llama', pre: 'llama-bpe' });
    expect(info.tensorInfo!.map((tensor) => tensor.name)).toEqual(expect.arrayContaining(['rope_freqs.weight', 'output.weight']));
  });

  it('refuses what llama.cpp cannot run as the engine does: a Mistral sliding window shorter than the context', async () => {
    const folder = join(mkdtempSync(join(t.home, 'mistral-')), 'tiny-mistral');
    writeLlamaFamilyFolder(folder, { modelType: 'mistral', qkvBias: false, tied: true });
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, sliding_window: 16 }));
    const { model } = await t.services.models.import(folder);
    const result = await t.call('export_model', { model_id: model.id, format: 'gguf' });
    expect(errorCode(result)).toBe('MODEL_UNSUPPORTED');
    expect(JSON.stringify(result.content)).toMatch(/sliding_window 16/);
  });
});
