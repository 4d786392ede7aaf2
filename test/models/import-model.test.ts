import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { loadTokenizer } from '../../src/models/files/tokenizer.js';
import { importModelTool } from '../../tools/import-model.js';
import { inspectModelTool } from '../../tools/inspect-model.js';
import { listModelsTool } from '../../tools/list-models.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const CHECKPOINT = join(ASSETS, 'stories260K.bin');
const TOKENIZER = join(ASSETS, 'tok512.bin');
const CHAT = JSON.parse(readFileSync(new URL('../fixtures/hub/tinyllama-chat-template.json', import.meta.url), 'utf8'));

let work: string;
let hfFolder: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ftm-import-'));
  hfFolder = join(work, 'stories-hf');
  convertLlama2c({ checkpoint: CHECKPOINT, tokenizer: TOKENIZER, out_dir: hfFolder });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Model folders in the workspace, ignoring temp folders (there must be none left). */
function modelDirs(t: TestClient): string[] {
  return readdirSync(join(t.home, 'models'));
}

describe('import_model, list_models, inspect_model (local sources)', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('imports a llama2.c checkpoint once, dedupes the same files, lists and inspects it', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work, ASSETS] } });
    const first = await t.callOk(importModelTool, { source: CHECKPOINT, tokenizer: TOKENIZER });
    expect(first).toMatchObject({ created: true, name: 'stories260K', source_kind: 'llama2c', architecture: 'llama', model_type: 'llama', parameters: 260_032, context_length: 512 });
    expect(first.model_id).toMatch(/^mdl_/);
    const again = await t.callOk(importModelTool, { source: CHECKPOINT, tokenizer: TOKENIZER, name: 'other name' });
    expect(again).toMatchObject({ created: false, model_id: first.model_id, name: 'stories260K' });
    // The same files as a Hugging Face folder are the same model.
    const folder = await t.callOk(importModelTool, { source: hfFolder });
    expect(folder).toMatchObject({ created: false, model_id: first.model_id });
    expect(modelDirs(t)).toEqual([first.model_id]);

    const listed = await t.callOk(listModelsTool);
    expect(listed.models.map((m) => m.model_id)).toEqual([first.model_id]);
    const info = await t.callOk(inspectModelTool, { model_id: first.model_id });
    expect(info.config).toMatchObject({ hidden_size: 64, num_hidden_layers: 5, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 8, vocab_size: 512, rope_theta: 10000, tie_word_embeddings: true });
    expect(info.tokenizer).toMatchObject({ vocab_size: 512, bos_token: '<s>', bos_token_id: 1, eos_token: '</s>', eos_token_id: 2, has_chat_template: false });
    expect(info.weights).toEqual({ tensors: 47, dtypes: ['F32'] });
    expect(info.files.map((f) => f.name)).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    // The record is immutable in the database.
    expect(() => t.services.workspace.db.prepare("UPDATE models SET name = 'x'").run()).toThrow(/IMMUTABLE_RECORD/);
  });

  it('a folder with a chat template is a different model whose template renders as transformers does', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work] } });
    const chatFolder = join(work, 'stories-chat');
    cpSync(hfFolder, chatFolder, { recursive: true });
    const config = JSON.parse(readFileSync(join(chatFolder, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(join(chatFolder, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: CHAT.chat_template }));
    const plain = await t.callOk(importModelTool, { source: hfFolder });
    const chat = await t.callOk(importModelTool, { source: chatFolder, name: 'stories-chat' });
    expect(chat.model_id).not.toBe(plain.model_id);
    expect(chat.sha256).toBe(plain.sha256); // same weights
    const info = await t.callOk(inspectModelTool, { model_id: chat.model_id });
    expect(info.tokenizer.has_chat_template).toBe(true);
    const rendered = loadTokenizer(chat.dir).applyChatTemplate(
      [
        { role: 'system', content: 'You are a friendly chatbot who always responds in the style of a pirate.' },
        { role: 'user', content: 'How many helicopters can a human eat in one sitting?' },
      ],
      { add_generation_prompt: true },
    );
    // As printed on the TinyLlama-1.1B-Chat-v1.0 model card.
    expect(rendered).toBe(
      '<|system|>\nYou are a friendly chatbot who always responds in the style of a pirate.</s>\n<|user|>\nHow many helicopters can a human eat in one sitting?</s>\n<|assistant|>\n',
    );
  });

  it('refuses bad inputs with clear codes and leaves no folder behind', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work, ASSETS] } });
    const empty = join(work, 'empty');
    mkdirSync(empty, { recursive: true });
    const notModel = await t.call('import_model', { source: empty });
    expect(errorCode(notModel)).toBe('FILE_ERROR');
    expect(resultText(notModel)).toMatch(/not a Hugging Face model folder: config.json is missing/);

    const t5 = join(work, 't5');
    cpSync(hfFolder, t5, { recursive: true });
    writeFileSync(join(t5, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(hfFolder, 'config.json'), 'utf8')), model_type: 't5' }));
    const unsupported = await t.call('import_model', { source: t5 });
    expect(errorCode(unsupported)).toBe('MODEL_UNSUPPORTED');
    expect(resultText(unsupported)).toMatch(/'t5'.*llama, mistral, qwen2, gpt2, bert/);

    const truncated = join(work, 'truncated.bin');
    writeFileSync(truncated, readFileSync(CHECKPOINT).subarray(0, 4000));
    const short = await t.call('import_model', { source: truncated, tokenizer: TOKENIZER });
    expect(errorCode(short)).toBe('FILE_ERROR');
    expect(resultText(short)).toMatch(/truncated/);

    const noTokenizer = await t.call('import_model', { source: truncated });
    expect(errorCode(noTokenizer)).toBe('INVALID_INPUT');
    expect(resultText(noTokenizer)).toMatch(/tokenizer/);

    const outside = await t.call('import_model', { source: '/etc/passwd.bin' });
    expect(errorCode(outside)).toBe('PATH_NOT_ALLOWED');
    const missing = await t.call('inspect_model', { model_id: 'mdl_nope' });
    expect(errorCode(missing)).toBe('NOT_FOUND');
    expect(resultText(missing)).toMatch(/Known models: none/);
    expect(modelDirs(t)).toEqual([]);
    expect(existsSync(join(t.home, 'models'))).toBe(true);
  });
});
