/**
 * Issue 13 (left open): a long row counted with a Hugging Face tokenizer held the event loop (seconds
 * for 1 MB). Rows of 32k+ characters are now counted in a worker thread; the counts must be exactly
 * those of counting on the main thread, and other work must run while the row is counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleTokens, exampleTokensAside } from '../../src/datasets/row-text.js';
import { DatasetSettingsSchema } from '../../src/datasets/settings.js';
import { localCounter, type TokenCounter } from '../../src/datasets/tokenizers.js';
import type { ChatRow } from '../../src/datasets/types.js';
import { validateRecords } from '../../src/datasets/validate.js';
import { convertLlama2c } from '../../src/models/files/llama2c.js';

const STORIES = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const words = 'Once upon a time there was a little girl named Lily who loved to play outside. ';
const longText = (chars: number, seed: number) => `${seed} ${words.repeat(Math.ceil(chars / words.length))}`.slice(0, chars);

describe('long rows are counted off the event loop, with the same counts', () => {
  let folder: string;
  let counter: TokenCounter;
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'ftm-count-aside-'));
    convertLlama2c({ checkpoint: join(STORIES, 'stories260K.bin'), tokenizer: join(STORIES, 'tok512.bin'), out_dir: folder });
    counter = await localCounter(folder);
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('gives exactly the counts of the main thread', async () => {
    expect(counter.countAside).toBeTypeOf('function');
    const row: ChatRow = { messages: [{ role: 'user', content: longText(40_000, 1) }, { role: 'assistant', content: `a${'x'.repeat(3_000)} ok` }, { role: 'user', content: 'short' }] };
    const aside = await exampleTokensAside(counter, 'chat', row);
    expect(aside).toEqual(exampleTokens(counter, 'chat', row));
    expect(aside.total).toBeGreaterThan(10_000);
  });

  it('answers other work while a long row is counted, and validation totals are unchanged', async () => {
    const rows = [
      { messages: [{ role: 'user', content: 'Hi there.' }, { role: 'assistant', content: 'Hello!' }] },
      { messages: [{ role: 'user', content: longText(60_000, 2) }, { role: 'assistant', content: 'Done.' }] },
      { messages: [{ role: 'user', content: 'Bye.' }, { role: 'assistant', content: 'Goodbye!' }] },
    ];
    const events: string[] = [];
    // The source schedules a macrotask as it hands over the long row; counted on the event loop, the
    // row would be done (and the next row pulled) before that task could run.
    async function* source() {
      for (const [i, value] of rows.entries()) {
        if (i === 2) events.push('next row pulled');
        if (i === 1) setImmediate(() => events.push('other work ran'));
        yield { file: 'rows.jsonl', line: i + 1, value };
      }
    }
    const settings = DatasetSettingsSchema.parse({});
    const options = { counter, maxIssues: 100, thresholds: settings };
    const offThread = await validateRecords(source(), options);
    expect(events).toEqual(['other work ran', 'next row pulled']);

    events.length = 0;
    const onThread = await validateRecords(source(), { ...options, counter: { ...counter, countAside: undefined } });
    // The old way: the whole validation finished before the scheduled task could run at all.
    expect(events).toEqual(['next row pulled']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['next row pulled', 'other work ran']);
    expect(offThread.summary.tokens).toEqual(onThread.summary.tokens);
    expect(offThread.summary.tokens?.per_example.total).toBe(rows.reduce((n, r) => n + exampleTokens(counter, 'chat', r).total, 0));
  });
});
