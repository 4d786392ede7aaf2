/**
 * Issue 13 item 5: a hostile tokenizer.json hung the server: a pre-tokenizer regex `(a+)+$` spun at
 * 100 % CPU on the first long input, and a token id of 2^31 blocked ~110 s on every load. Both are now
 * refused when the tokenizer is read (import, counting, generation), naming the file and the field.
 * A pattern the static check cannot see as slow (polynomial) is caught at import by a timed probe
 * in a worker thread.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { catastrophicRegex } from '../../src/models/files/tokenizer-check.js';
import { probeTokenizer } from '../../src/models/files/tokenizer-probe.js';
import { importModelTool } from '../../tools/import-model.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;

// Pre-tokenizer Split patterns as their tokenizer.json files on the Hugging Face Hub write them.
const REAL_PATTERNS = {
  'meta-llama/Meta-Llama-3-8B': "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  'Qwen/Qwen2.5-0.5B': "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  'openai/gpt-oss-20b (o200k)':
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  'deepseek-ai/DeepSeek-V3': "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
};

describe('regexes that backtrack exponentially', () => {
  it.each(Object.entries(REAL_PATTERNS))('accepts the pattern of %s', (_model, pattern) => {
    expect(catastrophicRegex(pattern)).toBeUndefined();
  });

  it.each(['(a+)+$', '(a|aa)*b', '(?:\\s*x)+y', '((ab)*)+$', '(\\w+\\d+){2,}!'])('refuses %s', (pattern) => {
    expect(catastrophicRegex(pattern)).toMatch(/exponential backtracking/);
  });

  it('accepts repeated groups whose body is fixed, and refuses a pattern too long to be a tokenizer regex', () => {
    expect(catastrophicRegex('(ab)+|(?:cd){1,3}|[(a+)+]+|\\(a+\\)+')).toBeUndefined();
    expect(catastrophicRegex('a'.repeat(5_000))).toMatch(/characters long/);
  });
});

describe('hostile tokenizer.json through the tools', () => {
  let t: TestClient;
  let scratch: string;
  let base: string;
  /** A copy of stories260K as a Hugging Face folder with its tokenizer.json changed by `edit`. */
  const hostileFolder = (name: string, edit: (json: Record<string, any>) => void) => {
    const folder = join(scratch, name);
    convertLlama2c({ checkpoint: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin'), out_dir: folder });
    const json = JSON.parse(readFileSync(join(base, 'tokenizer.json'), 'utf8'));
    edit(json);
    writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(json));
    return folder;
  };
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ftm-hostile-tok-'));
    base = join(scratch, 'base');
    convertLlama2c({ checkpoint: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin'), out_dir: base });
    t = await connectTestClient({ config: { allowed_roots: [scratch, ASSETS] } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('import_model and prepare_dataset refuse a pre-tokenizer regex (a+)+$, naming the file and field', async () => {
    const folder = hostileFolder('redos', (json) => {
      json.pre_tokenizer = { type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false };
    });
    const imported = await t.call(importModelTool.name, { source: folder });
    expect(errorCode(imported)).toBe('MODEL_UNSUPPORTED');
    expect(resultText(imported)).toContain('tokenizer.json: pre_tokenizer.pattern.Regex "(a+)+$" repeats the group');
    const data = join(scratch, 'rows.jsonl');
    writeFileSync(data, `${JSON.stringify({ text: `${'a'.repeat(64)}!` })}\n`);
    const prepared = await t.call(prepareDatasetTool.name, { path: data, model: folder });
    expect(errorCode(prepared)).toBe('MODEL_UNSUPPORTED');
    expect(resultText(prepared)).toContain(`${join(folder, 'tokenizer.json')}: pre_tokenizer.pattern.Regex`);
    expect((await t.callOk(serverInfoTool)).name).toBe('finetune-mcp');
  });

  it('import_model refuses a token id of 2^31 at once', async () => {
    const folder = hostileFolder('huge-id', (json) => {
      json.model.vocab['<0x41>'] = 2 ** 31;
    });
    const started = Date.now();
    const imported = await t.call(importModelTool.name, { source: folder });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(errorCode(imported)).toBe('MODEL_UNSUPPORTED');
    expect(resultText(imported)).toMatch(/model\.vocab\["<0x41>"\] is token id 2147483648, outside the vocabulary \(515 tokens/);
    const good = await t.callOk(importModelTool, { source: base });
    expect(good.created).toBe(true);
  });

  it('the import probe refuses a polynomial regex the static check lets through, when its worker misses the deadline', async () => {
    // a*a*a*a*c: no repeated group, so not exponential, but n^4 steps per match attempt on a long run of "a".
    const pattern = 'a*a*a*a*c';
    expect(catastrophicRegex(pattern)).toBeUndefined();
    const folder = hostileFolder('polynomial', (json) => {
      json.pre_tokenizer = { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false };
    });
    await expect(probeTokenizer(folder, 1_500)).rejects.toThrow(/tokenizer\.json did not load and encode 10 inputs of 4,096 characters within 1\.5 s/);
    await expect(probeTokenizer(base)).resolves.toBeUndefined();
    expect((await t.callOk(serverInfoTool)).name).toBe('finetune-mcp'); // the server's thread never ran the regex
  });
});
