/**
 * export_model format "gguf": a LoRA fine-tune of stories260K, exported as GGUF f32 and q8_0, loads
 * in real llama.cpp (node-llama-cpp 3.21.1, CPU) which tokenizes the prompt as the engine does and
 * greedily generates the engine's own first 20 tokens (f32 all 20; q8_0 at least 15).
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { getLlama, LlamaCompletion, type Llama, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, loadRuntimeModel } from '../../plugins/local/engine/index.js';
import { runJob } from '../../plugins/local/trainer/job.js';
import { exportModelTool } from '../../tools/export-model.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { makeSpec, memorySink, STORIES_260K, STYLE_STORIES } from '../trainer/helpers/job-fixtures.js';

const PROMPT = 'Once upon a time, Lily and Tim went to the park.';
const TOKENS = 20;

type Exported = Awaited<ReturnType<TestClient['callOk']>> & { path: string; model_file: string; gguf: { tensor_types: Record<string, number>; fallbacks: string[]; architecture: string } };

describe('export_model format gguf: llama.cpp runs the fine-tune as the engine does', () => {
  let t: TestClient;
  let modelId: string;
  let adapter: string;
  let llama: Llama;
  const loaded: LlamaModel[] = [];
  let engineTokens: number[];
  let promptTokens: number[];

  /** llama.cpp's greedy continuation of PROMPT, as token ids, and its tokenization of the prompt. */
  async function llamaCppGenerate(file: string): Promise<{ prompt: number[]; tokens: number[] }> {
    const model = await llama.loadModel({ modelPath: file });
    loaded.push(model);
    const context = await model.createContext({ contextSize: 256, threads: 1 }) // more threads than free cores spin: 70 s instead of 30 ms here;
    const tokens: number[] = [];
    // repeatPenalty: false: LlamaCompletion penalises the last 64 tokens by default, which is not greedy decoding.
    await new LlamaCompletion({ contextSequence: context.getSequence() }).generateCompletion(PROMPT, { maxTokens: TOKENS, temperature: 0, repeatPenalty: false, onToken: (chunk) => tokens.push(...chunk.map(Number)) });
    await context.dispose();
    return { prompt: model.tokenize(PROMPT).map(Number), tokens };
  }

  beforeAll(async () => {
    t = await connectTestClient();
    ({ model: { id: modelId } } = await t.services.models.import(join(STORIES_260K, 'stories260K.bin'), { tokenizer: join(STORIES_260K, 'tok512.bin') }));
    const baseDir = t.services.models.get(modelId).dir;
    // A real LoRA fine-tune (q, k, v, o and the MLP), short: the export must carry what training changed.
    const spec = makeSpec({ root: mkdtempSync(join(t.home, 'train-')), modelDir: baseDir, train: join(STYLE_STORIES, 'train.jsonl'), task_type: 'text', hyper: { epochs: 1, max_seq_length: 64, learning_rate: 2e-2 } });
    const result = await runJob(spec, memorySink(), { threads: 2 });
    adapter = result.adapter_dir!;
    const runtime = await loadRuntimeModel(baseDir, { adapter_dir: adapter });
    const out = await generate(runtime, { prompt: PROMPT, max_tokens: TOKENS, temperature: 0 });
    engineTokens = out.tokens;
    promptTokens = runtime.tokenizer!.encode(PROMPT);
    const base = await generate(await loadRuntimeModel(baseDir), { prompt: PROMPT, max_tokens: TOKENS, temperature: 0 });
    expect(base.tokens, 'the fine-tune changed the greedy continuation').not.toEqual(engineTokens);
    llama = await getLlama({ gpu: false });
  }, 120_000);

  afterAll(async () => {
    for (const m of loaded) await m.dispose();
    await t?.close();
  });

  it('f32: llama.cpp loads it, tokenizes the prompt as the engine and generates the same 20 tokens', async () => {
    const out = (await t.callOk(exportModelTool, { model_id: modelId, adapter_path: adapter, format: 'gguf', type: 'f32', output_path: join(t.home, 'export', 'f32') })) as Exported;
    expect(out.gguf.architecture).toBe('llama');
    expect(out.gguf.tensor_types).toEqual({ f32: 47 });
    const run = await llamaCppGenerate(out.model_file);
    expect([1, ...run.prompt]).toEqual(promptTokens);
    expect(engineTokens).toHaveLength(TOKENS);
    expect(run.tokens).toEqual(engineTokens);
  });

  it('q8_0 with f16 fallback: at least 15 of the 20 tokens match', async () => {
    const out = (await t.callOk(exportModelTool, { model_id: modelId, adapter_path: adapter, format: 'gguf', type: 'q8_0', fallback: 'f16', output_path: join(t.home, 'export', 'q8') })) as Exported;
    // stories260K's MLP is 172 wide: ffn_down rows (172 values) are not whole q8_0 blocks.
    expect(out.gguf.fallbacks).toEqual([0, 1, 2, 3, 4].map((l) => `blk.${l}.ffn_down.weight`));
    expect(out.gguf.tensor_types).toEqual({ q8_0: 31, f16: 5, f32: 11 });
    const run = await llamaCppGenerate(out.model_file);
    const same = run.tokens.filter((token, i) => token === engineTokens[i]).length;
    expect(same).toBeGreaterThanOrEqual(15);
  });

  it('refuses q8_0 of a tensor q8_0 cannot hold, naming it, and leaves no folder behind', async () => {
    const target = join(t.home, 'export', 'q8-refused');
    const result = await t.call('export_model', { model_id: modelId, format: 'gguf', type: 'q8_0', output_path: target });
    expect(errorCode(result)).toBe('INVALID_INPUT');
    const text = JSON.stringify(result.content);
    expect(text).toContain('blk.0.ffn_down.weight');
    expect(text).toContain('172');
    expect(text).toContain('fallback');
  });

  it('refuses a type the format does not write', async () => {
    const result = await t.call('export_model', { model_id: modelId, format: 'gguf', type: 'q4_0' });
    expect(errorCode(result)).toBe('INVALID_INPUT');
    expect(JSON.stringify(result.content)).toMatch(/f16, f32, q8_0/);
  });
});
