import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, type TextTokenizer } from '../../src/models/files/tokenizer.js';
import { completionJoin, Renderer, type TokenizerLike } from '../../plugins/local/trainer/render.js';
import { fixText } from '../../src/datasets/text-fixes.js';
import { cleanDatasetTool } from '../../tools/clean-dataset.js';
import { inspectDatasetTool } from '../../tools/inspect-dataset.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import type { TestClient } from '../helpers/mcp.js';
import { convertStories260K } from '../trainer/helpers/job-fixtures.js';
import { datasetClient } from './helpers.js';

/** Issue 12 item 2: whitespace that carries meaning survives cleaning, and prompt + completion join as the tokenizer expects. */
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'demo');
type Completion = { prompt: string; completion: string };
const demoRows = () => readFileSync(join(DEMO, 'moon-stories.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Completion);

describe('whitespace through clean_dataset and the trainer', () => {
  let t: TestClient;
  let scratch: string;
  let stories: TextTokenizer;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ftm-ds-ws-'));
    t = await datasetClient([scratch, DEMO]);
    stories = loadTokenizer(convertStories260K(scratch));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('clean_dataset keeps the leading space of every demo completion', async () => {
    const source = demoRows();
    expect(source.every((r) => r.completion.startsWith(' '))).toBe(true);
    const parent = await t.callOk(prepareDatasetTool, { path: join(DEMO, 'moon-stories.jsonl') });
    const out = await t.callOk(cleanDatasetTool, { dataset_id: parent.dataset_id });
    expect(out.text_fixed_rows).toBe(0);
    const page = await t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id, limit: 100 });
    for (const { row } of page.rows) expect(source).toContainEqual(row);
    expect((page.rows[0].row as Completion).completion).toMatch(/^ Every evening/);
  });

  it('fix_text leaves code indentation, blank lines, trailing spaces and emoji joiners alone', async () => {
    const code = 'def f(x):\n    if x:\n        return 1  \n\n\n    return 0\n';
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}';
    expect(fixText(code)).toBe(code);
    expect(fixText(` ${family} `)).toBe(` ${family} `);
    expect(fixText('\uFEFFcaf\u00c3\u00a9\r\nok\u200b')).toBe('café\nok');
    const path = join(scratch, 'code-chat.jsonl');
    const row = { messages: [{ role: 'user', content: 'Indent this:\r\nif x: y' }, { role: 'assistant', content: code }] };
    writeFileSync(path, `${JSON.stringify(row)}\n`);
    const parent = await t.callOk(prepareDatasetTool, { path });
    const out = await t.callOk(cleanDatasetTool, { dataset_id: parent.dataset_id });
    const page = await t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id });
    expect(page.rows[0].row).toEqual({ messages: [{ role: 'user', content: 'Indent this:\nif x: y' }, { role: 'assistant', content: code }] });
  });

  it('the trainer renders a demo row as prompt + completion exactly, with the space between the sentences', () => {
    const row = demoRows()[0];
    const renderer = new Renderer(stories);
    expect(renderer.segmentsStartWords).toBe(true); // a Llama SentencePiece vocabulary: "a" encodes as "▁a"
    const example = renderer.sft(row, 'completion', { file: 'train.jsonl', line: 1 });
    expect(example.ids).toEqual([...stories.encode(row.prompt + row.completion), stories.eos_token_id]);
    expect(stories.decode(example.ids, { skip_special_tokens: true })).toContain('named Tom. Every evening');
    const trained = example.ids.filter((_, i) => example.mask[i] === 1);
    expect(stories.decode(trained, { skip_special_tokens: true })).toMatch(/^Every evening, Tom climbed/);
    // A completion stored without its leading space still meets the prompt at a word boundary.
    const stripped = renderer.sft({ prompt: row.prompt, completion: row.completion.trimStart() }, 'completion', { file: 'train.jsonl', line: 1 });
    expect(stripped).toEqual(example);
  });

  it('joins as stored for byte-level tokenizers and scripts without spaces', () => {
    // A tokenizer that encodes text exactly, one id per character (like byte-level BPE: "a" ≠ " a").
    const exact: TokenizerLike = {
      encode: (text) => [...text].map((c) => c.codePointAt(0)!),
      bos_token_id: null,
      eos_token_id: 0,
      pad_token_id: null,
      applyChatTemplate: () => '',
    };
    const renderer = new Renderer(exact);
    expect(renderer.segmentsStartWords).toBe(false);
    const example = renderer.sft({ prompt: 'Tom.', completion: 'Every' }, 'completion', { file: 'x', line: 1 });
    expect(String.fromCodePoint(...example.ids.slice(0, -1))).toBe('Tom.Every');
    expect(completionJoin('Tom.', 'Every', true)).toBe(' ');
    expect(completionJoin('Tom.\n', 'Every', true)).toBe('');
    expect(completionJoin('Tom.', ' Every', true)).toBe('');
    expect(completionJoin('你好', '世界', true)).toBe('');
  });
});
