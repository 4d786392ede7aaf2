/**
 * Issue 13 item 1: a chat template is a program. One with a huge loop, or one that doubles a string
 * until the heap is gone, used to kill the server (heap out of memory); it now renders in a bounded
 * worker and the call fails with INVALID_INPUT while the server keeps answering.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { renderTemplate, TEMPLATE_LIMITS } from '../../src/datasets/jinja-sandbox.js';
import { generateTool } from '../../tools/generate.js';
import { importModelTool } from '../../tools/import-model.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const LOOP = '{% for i in range(100000000) %}x{% endfor %}';
const DOUBLING = "{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}";
const NESTED = '{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}';
const GOOD = "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";

describe('hostile chat templates', () => {
  let t: TestClient;
  let scratch: string;
  let data: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ftm-hostile-tpl-'));
    data = join(scratch, 'chat.jsonl');
    const row = { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }] };
    writeFileSync(data, `${JSON.stringify(row)}\n`.repeat(3));
    t = await connectTestClient({ config: { allowed_roots: [scratch, ASSETS] } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each([
    ['a loop of 10^8 iterations', LOOP],
    ['a string doubled 40 times', DOUBLING],
    ['nested loops of 10^8 empty iterations', NESTED],
  ])('prepare_dataset refuses %s with INVALID_INPUT and the server answers the next call', async (_name, template) => {
    const started = Date.now();
    const result = await t.call(prepareDatasetTool.name, { path: data, chat_template: template });
    expect(result.isError).toBe(true);
    expect(errorCode(result)).toBe('INVALID_INPUT');
    expect(resultText(result)).toMatch(/chat template .*(1000 ms|characters|too large)/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const info = await t.callOk(serverInfoTool);
    expect(info.name).toBe('finetune-mcp');
    const good = await t.callOk(prepareDatasetTool, { path: data, chat_template: GOOD });
    expect(good.task_type).toBe('completion');
  });

  it('caps the output, and renders again after a refusal', () => {
    const content = 'w'.repeat(100_000);
    const repeat = '{% for i in range(400) %}{{ messages[0].content }}{% endfor %}'; // 40 M characters
    expect(() => renderTemplate(repeat, { messages: [{ role: 'user', content }] })).toThrow(`rendered 40,000,000 characters (at most ${TEMPLATE_LIMITS.maxOutputChars.toLocaleString('en')})`);
    expect(renderTemplate(GOOD, { messages: [{ role: 'user', content: 'Hi' }], eos_token: '</s>', add_generation_prompt: true })).toBe('<|user|>\nHi</s>\n<|assistant|>\n');
  });

  it('a syntax error or raise_exception is INVALID_INPUT naming chat_template', async () => {
    const broken = await t.call(prepareDatasetTool.name, { path: data, chat_template: '{% for m in messages %}' });
    expect(errorCode(broken)).toBe('INVALID_INPUT');
    expect(resultText(broken)).toMatch(/does not parse/);
    const raised = await t.call(prepareDatasetTool.name, { path: data, chat_template: "{{ raise_exception('no chats here') }}" });
    expect(errorCode(raised)).toBe('INVALID_INPUT');
    expect(resultText(raised)).toMatch(/no chats here/);
  });

  it("generate refuses a model whose tokenizer_config.json template loops, then generates from a prompt", async () => {
    const folder = join(scratch, 'stories-loop');
    convertLlama2c({ checkpoint: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin'), out_dir: folder });
    const configPath = join(folder, 'tokenizer_config.json');
    writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), chat_template: LOOP }));
    const model = await t.callOk(importModelTool, { source: folder, name: 'stories-loop' });
    const result = await t.call(generateTool.name, { model_id: model.model_id, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    expect(errorCode(result)).toBe('INVALID_INPUT');
    expect(resultText(result)).toMatch(/chat template did not finish within 1000 ms/);
    const plain = await t.callOk(generateTool, { model_id: model.model_id, prompt: 'Once upon a time', max_tokens: 4 });
    expect(plain.tokens).toBe(4);
  });
});
