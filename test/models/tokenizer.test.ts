import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FinetuneError } from '../../src/errors.js';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { loadTokenizer } from '../../src/models/files/tokenizer.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
// The role check of Mistral-7B-Instruct-v0.1's chat template (Apache-2.0), reproduced by hand.
const ALTERNATING =
  "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ftm-tok-'));
  convertLlama2c({ checkpoint: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin'), out_dir: dir });
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: ALTERNATING }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TextTokenizer', () => {
  it('adds BOS only when asked and skips special tokens on decode when asked', () => {
    const tok = loadTokenizer(dir);
    const withBos = tok.encode('Lily');
    expect(withBos[0]).toBe(1);
    expect(tok.encode('Lily', { add_special_tokens: false })).toEqual(withBos.slice(1));
    expect(tok.decode([...withBos, 2], { skip_special_tokens: true })).toBe('Lily');
    expect(tok.decode([...withBos, 2])).toBe('<s> Lily</s>');
    expect(tok.encode('')).toEqual([1]);
    expect(tok.special_tokens).toEqual({ bos_token: '<s>', eos_token: '</s>', pad_token: null, unk_token: '<unk>' });
    expect(loadTokenizer(dir)).toBe(tok); // cached per folder
  });

  it('renders a chat template and turns its raise_exception into INVALID_INPUT', () => {
    const tok = loadTokenizer(dir);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }])).toBe('<s>[INST] Hi [/INST]Hello</s>');
    try {
      tok.applyChatTemplate([{ role: 'assistant', content: 'first' }]);
      expect.unreachable();
    } catch (error) {
      expect((error as FinetuneError).code).toBe('INVALID_INPUT');
      expect((error as FinetuneError).message).toMatch(/roles must alternate/);
    }
  });

  it('says so when there is no tokenizer.json', () => {
    expect(() => loadTokenizer(tmpdir())).toThrow(/has no tokenizer.json/);
  });
});
