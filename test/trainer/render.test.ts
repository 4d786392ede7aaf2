import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, type TextTokenizer } from '../../src/models/files/tokenizer.js';
import { packExamples, runSeqLen, sftBatch } from '../../plugins/local/trainer/batches.js';
import { readJsonl } from '../../plugins/local/trainer/dataset.js';
import { Renderer, type TokenizedExample } from '../../plugins/local/trainer/render.js';
import { FinetuneError } from '../../src/errors.js';
import { convertStories260K } from './helpers/job-fixtures.js';

/** Rendering and loss masks, on the real stories260K tokenizer (with and without a chat template). */
let root: string;
let plainTok: TextTokenizer;
let chatTok: TextTokenizer;
const where = { file: 'train.jsonl', line: 3 };
// A ChatML-like template, as many chat models ship (markers spelled in plain text for this vocabulary).
const TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{{ '<' + m.role + '>\\n' + m.content + '</' + m.role + '>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<assistant>\\n' }}{% endif %}";

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ftm-render-'));
  const dir = convertStories260K(root);
  plainTok = loadTokenizer(dir);
  const chatDir = join(root, 'chat');
  cpSync(dir, chatDir, { recursive: true });
  const config = JSON.parse(readFileSync(join(chatDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(chatDir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: TEMPLATE }));
  chatTok = loadTokenizer(chatDir);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The text of the masked (trained) tokens, as runs separated by '|'. */
function trained(tok: TextTokenizer, example: TokenizedExample): string {
  const runs: number[][] = [];
  example.mask.forEach((m, t) => {
    if (!m) return;
    if (t === 0 || !example.mask[t - 1]) runs.push([]);
    runs[runs.length - 1].push(example.ids[t]);
  });
  return runs.map((r) => tok.decode(r, { skip_special_tokens: true }).trim()).join('|');
}

describe('rendering rows into ids and loss masks', () => {
  it('text: BOS first (the tokenizer adds it), EOS last, loss on every predictable token', () => {
    const example = new Renderer(plainTok).sft({ text: 'Once upon a time there was a cat.' }, 'text', where);
    expect(example.ids[0]).toBe(plainTok.bos_token_id);
    expect(example.ids.filter((id) => id === plainTok.bos_token_id)).toHaveLength(1);
    expect(example.ids.at(-1)).toBe(plainTok.eos_token_id);
    expect(example.mask).toEqual(example.ids.map((_, t) => (t === 0 ? 0 : 1)));
  });

  it('completion: loss on the completion and EOS only (or on everything with loss_on all)', () => {
    const row = { prompt: 'Tom had a red ball.', completion: ' He liked to play with it.' };
    const example = new Renderer(plainTok).sft(row, 'completion', where);
    expect(trained(plainTok, example)).toBe('He liked to play with it.');
    expect(example.mask.at(-1)).toBe(1);
    const all = new Renderer(plainTok, 'all').sft(row, 'completion', where);
    expect(all.ids).toEqual(example.ids);
    expect(all.mask.slice(1).every((m) => m === 1)).toBe(true);
  });

  it('chat with a template: loss on assistant turns with their end marker, not on users or weight-0 turns', () => {
    const messages = [
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'Hi there' },
      { role: 'assistant', content: 'Hello friend', weight: 0 },
      { role: 'user', content: 'Tell a story' },
      { role: 'assistant', content: 'A cat sat.' },
    ];
    const example = new Renderer(chatTok).sft({ messages }, 'chat', where);
    const text = chatTok.decode(example.ids, { skip_special_tokens: true });
    expect(text).toContain('<user>\nHi there</user>');
    expect(example.ids[0]).toBe(chatTok.bos_token_id);
    expect(example.ids.filter((id) => id === chatTok.bos_token_id)).toHaveLength(1); // the template's BOS, not a second
    expect(trained(chatTok, example)).toBe('A cat sat.</assistant>');
  });

  it('chat without a template: the plain "### Role:" format, loss on assistant content', () => {
    const messages = [
      { role: 'user', content: 'Tell a story' },
      { role: 'assistant', content: 'A dog ran.' },
    ];
    const example = new Renderer(plainTok).sft({ messages }, 'chat', where);
    expect(plainTok.decode(example.ids, { skip_special_tokens: true })).toContain('### User:\nTell a story');
    expect(trained(plainTok, example)).toBe('A dog ran.');
  });

  it('preference: prompt + chosen and prompt + rejected, loss on the responses only', () => {
    const pair = new Renderer(chatTok, 'all').preference(
      { prompt: [{ role: 'user', content: 'Story?' }], chosen: [{ role: 'assistant', content: 'Yes.' }], rejected: [{ role: 'assistant', content: 'No.' }] },
      where,
    );
    expect(trained(chatTok, pair.chosen)).toBe('Yes.</assistant>');
    expect(trained(chatTok, pair.rejected)).toBe('No.</assistant>');
  });

  it('refuses malformed rows with DATASET_INVALID naming file, line and field', () => {
    const renderer = new Renderer(plainTok);
    const attempt = (row: unknown, type: string) => {
      try {
        renderer.sft(row, type, where);
      } catch (error) {
        return error as FinetuneError;
      }
      throw new Error('no error');
    };
    const missing = attempt({ prompt: 'x' }, 'completion');
    expect([missing.code, missing.details.line, missing.details.field]).toEqual(['DATASET_INVALID', 3, 'completion']);
    expect(missing.message).toContain('train.jsonl:3');
    expect(attempt({ messages: [{ role: 'user' }] }, 'chat').details.field).toBe('messages[0]');
    expect(attempt({ text: 'x' }, 'triplet').code).toBe('CAPABILITY_UNSUPPORTED');
    const file = join(root, 'bad.jsonl');
    writeFileSync(file, '{"text":"ok"}\n\n{"text": nope}\n');
    expect(() => readJsonl(file)).toThrow(/bad\.jsonl:3/);
  });
});

describe('batches', () => {
  const ex = (n: number, offset = 10): TokenizedExample => ({ ids: Array.from({ length: n }, (_, i) => offset + i), mask: Array.from({ length: n }, (_, i) => (i === 0 ? 0 : 1)) });

  it('pads rows, masks padding out of attention and loss, and fills missing rows with padding', () => {
    const batch = sftBatch([ex(3), ex(5)], 3, 4, 0);
    expect(Array.from(batch.input_ids)).toEqual([10, 11, 12, 0, 10, 11, 12, 13, 0, 0, 0, 0]);
    expect(Array.from(batch.attention_mask)).toEqual([1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(batch.loss_mask)).toEqual([0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0]);
  });

  it('packs examples into full rows without losing or duplicating tokens', () => {
    const examples = [ex(5, 10), ex(7, 20), ex(6, 30)];
    const rows = packExamples(examples, 8);
    expect(rows.map((r) => r.ids.length)).toEqual([8, 8, 2]);
    expect(rows.flatMap((r) => r.ids)).toEqual(examples.flatMap((e) => e.ids));
    expect(rows[1].mask[0]).toBe(0); // no predecessor inside the row
    expect(runSeqLen([5, 13, 7], 512)).toBe(16);
    expect(runSeqLen([900], 512)).toBe(512);
  });
});
