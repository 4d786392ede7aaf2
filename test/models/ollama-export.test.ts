/**
 * export_model format "ollama": the GGUF plus a Modelfile that parses as Ollama's documented grammar
 * (docs/modelfile.md: one instruction a line, `#` comments, multi-line values in triple quotes),
 * with a TEMPLATE only for chat templates it recognises by rendering them, never a wrong one.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/models/files/tokenizer.js';
import { renderGoTemplate } from '../../src/models/gguf/ollama.js';
import { exportModelTool } from '../../tools/export-model.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { STORIES_260K } from '../trainer/helpers/job-fixtures.js';
import { CHATML_TEMPLATE, writeLlamaFamilyFolder } from './tiny-models.js';

const INSTRUCTIONS = new Set(['FROM', 'PARAMETER', 'TEMPLATE', 'SYSTEM', 'ADAPTER', 'LICENSE', 'MESSAGE', 'REQUIRES']);

/** Ollama's Modelfile grammar: `INSTRUCTION arguments`; a value opened with """ runs to the closing """. */
function parseModelfile(text: string): Array<{ instruction: string; value: string }> {
  const lines = text.split('\n');
  const out: Array<{ instruction: string; value: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim() || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m || !INSTRUCTIONS.has(m[1].toUpperCase())) throw new Error(`line ${i + 1} is not an instruction: ${line}`);
    let value = m[2];
    if (value.startsWith('"""')) {
      value = value.slice(3);
      while (!value.endsWith('"""')) {
        if (++i >= lines.length) throw new Error(`unclosed """ in ${m[1]}`);
        value += `\n${lines[i]}`;
      }
      value = value.slice(0, -3);
    }
    out.push({ instruction: m[1].toUpperCase(), value });
  }
  return out;
}

const LLAMA3_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
const TINYLLAMA = JSON.parse(readFileSync(new URL('../fixtures/hub/tinyllama-chat-template.json', import.meta.url), 'utf8')) as { chat_template: string };

describe('export_model format ollama', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await connectTestClient();
  });
  afterAll(async () => t?.close());

  async function exportWith(chatTemplate: string | null, extra: Record<string, unknown> = {}) {
    const folder = join(mkdtempSync(join(t.home, 'ollama-')), 'tiny');
    writeLlamaFamilyFolder(folder, { modelType: 'qwen2', qkvBias: true, tied: true, ...(chatTemplate ? { chatTemplate } : {}) });
    if (!chatTemplate) writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|endoftext|>' }));
    const { model } = await t.services.models.import(folder);
    const out = await t.callOk(exportModelTool, { model_id: model.id, format: 'ollama', type: 'q8_0', ...extra });
    const modelfile = readFileSync(out.model_file, 'utf8');
    return { out, modelfile, parsed: parseModelfile(modelfile) };
  }

  it('ChatML: FROM the GGUF beside it, the ChatML Go template, stop tokens and SYSTEM', async () => {
    const { out, parsed } = await exportWith(CHATML_TEMPLATE, { system: 'You are a pirate storyteller.\nAnswer in one line.' });
    expect(out.ollama).toMatchObject({ template: 'ChatML', stop: ['<|im_start|>', '<|im_end|>'] });
    expect(out.files.map((f) => f.name)).toEqual(['model-q8_0.gguf', 'Modelfile']);
    const from = parsed.find((p) => p.instruction === 'FROM')!.value;
    expect(existsSync(join(out.path, from))).toBe(true);
    const template = parsed.find((p) => p.instruction === 'TEMPLATE')!.value;
    const messages = [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }];
    expect(renderGoTemplate(template, messages)).toBe('<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n');
    expect(parsed.filter((p) => p.instruction === 'PARAMETER').map((p) => p.value)).toEqual(['stop "<|im_start|>"', 'stop "<|im_end|>"']);
    expect(parsed.find((p) => p.instruction === 'SYSTEM')!.value).toBe('You are a pirate storyteller.\nAnswer in one line.');
    expect(out.ollama!.create_command).toMatch(/^ollama create [a-z0-9._:-]+ -f Modelfile$/);
  });

  it('recognises Llama 3 and Zephyr (TinyLlama) templates by what they render', async () => {
    expect((await exportWith(LLAMA3_TEMPLATE)).out.ollama!.template).toBe('Llama 3');
    const stories = join(mkdtempSync(join(t.home, 'tinyllama-')), 'stories-chat');
    const { model: base } = await t.services.models.import(join(STORIES_260K, 'stories260K.bin'), { tokenizer: join(STORIES_260K, 'tok512.bin') });
    cpSync(t.services.models.get(base.id).dir, stories, { recursive: true });
    const config = JSON.parse(readFileSync(join(stories, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(join(stories, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: TINYLLAMA.chat_template }));
    const { model } = await t.services.models.import(stories);
    const out = await t.callOk(exportModelTool, { model_id: model.id, format: 'ollama', type: 'f16' });
    expect(out.ollama!.template).toBe('Zephyr');
    // The Go template renders what the model's Jinja template renders (BOS aside: llama.cpp adds it).
    const tokenizer = loadTokenizer(model.dir);
    const messages = [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Tell a story.' }];
    const template = parseModelfile(readFileSync(out.model_file, 'utf8')).find((p) => p.instruction === 'TEMPLATE')!.value;
    expect(renderGoTemplate(template, messages)).toBe(tokenizer.applyChatTemplate(messages, { add_generation_prompt: true }));
  });

  it('writes no TEMPLATE for a chat template it cannot map, and says so in the result and the Modelfile', async () => {
    const custom = "{% for message in messages %}### {{ message['role'] | upper }}: {{ message['content'] }}\n{% endfor %}### ASSISTANT:";
    const { out, modelfile, parsed } = await exportWith(custom);
    expect(out.ollama!.template).toBeNull();
    expect(parsed.some((p) => p.instruction === 'TEMPLATE')).toBe(false);
    expect(out.ollama!.note).toMatch(/not a format this exporter maps/);
    expect(modelfile).toContain('# No TEMPLATE');
    expect(out.gguf!.chat_template).toBe(true);
  });

  it('a model without a chat template: plain completion, EOS as the stop', async () => {
    const { out, parsed } = await exportWith(null);
    expect(out.ollama!.note).toMatch(/no chat template/);
    expect(parsed.map((p) => p.instruction)).toEqual(['FROM', 'PARAMETER']);
    expect(out.ollama!.stop).toEqual(['<|endoftext|>']);
  });

  it('refuses a SYSTEM value that would end the triple quotes early, leaving no folder', async () => {
    const folder = join(mkdtempSync(join(t.home, 'ollama-bad-')), 'tiny');
    writeLlamaFamilyFolder(folder, { modelType: 'qwen2', qkvBias: true, tied: true });
    const { model } = await t.services.models.import(folder);
    const target = join(t.home, 'export', 'refused');
    const result = await t.call('export_model', { model_id: model.id, format: 'ollama', system: 'say """hi"""', output_path: target });
    expect(errorCode(result)).toBe('INVALID_INPUT');
    expect(existsSync(target)).toBe(false);
  });
});
