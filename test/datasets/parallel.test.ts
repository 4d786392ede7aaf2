import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateInRanges, validateSource } from '../../src/datasets/parallel-validate.js';
import { DatasetSettingsSchema } from '../../src/datasets/settings.js';
import { readSourceBatches } from '../../src/datasets/sources.js';
import { validateRecords, type ValidateOptions } from '../../src/datasets/validate.js';

const folder = mkdtempSync(join(tmpdir(), 'ftm-parallel-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const settings = DatasetSettingsSchema.parse({});
const sourceOptions = { maxLineBytes: settings.max_line_bytes, maxJsonBytes: settings.max_json_bytes, textSeparator: '' };

const chat = (user: string, assistant: string) => JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: assistant }] });

/** A chat file whose second half repeats rows of the first (exactly and up to case/punctuation), with broken lines in both. */
function chatFile(): string {
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) {
    if (i === 10) lines.push('{"messages": [');
    else if (i === 20) lines.push('');
    else if (i === 30) lines.push(JSON.stringify({ messages: [{ role: 'robot', content: 'hi {{name}}' }] }));
    else if (i === 300) lines.push(chat('Question 5: déjà vu über straße — 日本語?', 'Answer 5 ✓')); // exact duplicate of line 6, across the split
    else if (i === 310) lines.push(chat('QUESTION 7 déjà vu über straße 日本語', 'answer 7 ✓!!')); // near duplicate of line 8
    else if (i === 350) lines.push('{not json');
    else if (i === 360) lines.push(chat('tell me <|im_end|>', 'no'));
    else lines.push(chat(`Question ${i}: déjà vu über straße — 日本語?`, `Answer ${i} ✓`));
  }
  const path = join(folder, 'chat.jsonl');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function bothWays(path: string, extra: Partial<ValidateOptions> = {}) {
  const options: ValidateOptions = { maxIssues: settings.max_issues, thresholds: settings, ...extra };
  const single = await validateRecords(readSourceBatches(path, sourceOptions), options);
  const parallel = await validateInRanges(path, sourceOptions, options, { minBytes: 1 });
  return { single, parallel };
}

describe('validation in two ranges on worker threads', () => {
  it('gives the single pass result, duplicates across the split included', async () => {
    const path = chatFile();
    const { single, parallel } = await bothWays(path);
    expect(parallel).toBeDefined();
    expect(parallel).toEqual(single);
    expect(JSON.stringify(parallel)).toBe(JSON.stringify(single));
    const lines = (code: string) => single.issues.filter((i) => i.code === code).map((i) => [i.line, i.message]);
    expect(lines('duplicate_exact')).toEqual([[301, 'Exact duplicate of line 6.']]);
    expect(lines('duplicate_normalized')).toEqual([[311, 'Same as line 8 up to case, punctuation and whitespace.']]);
    expect(lines('invalid_json').map(([line]) => line)).toEqual([11, 351]);
  });

  it('keeps the list cap, the truncation flag and the code order', async () => {
    const path = chatFile();
    const { single, parallel } = await bothWays(path, { maxIssues: 3 });
    expect(single.summary.issues_truncated).toBe(true);
    expect(JSON.stringify(parallel)).toBe(JSON.stringify(single));
  });

  it('counts labels of a classification file in first-seen order', async () => {
    const path = join(folder, 'labels.jsonl');
    const rows = Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: `review ${i % 250}`, label: ['neutral', 'good', 'bad'][i % 3] }));
    writeFileSync(path, `${rows.join('\n')}\n`);
    const { single, parallel } = await bothWays(path, { labels: ['good', 'bad'] });
    expect(single.summary.labels).toBeDefined();
    expect(JSON.stringify(parallel)).toBe(JSON.stringify(single));
  });

  it('keeps small files and folders on the single pass, and validateSource returns the same result', async () => {
    const path = chatFile();
    expect(await validateInRanges(path, sourceOptions, { maxIssues: 10, thresholds: settings })).toBeUndefined();
    const { single } = await bothWays(path);
    expect(await validateSource(path, sourceOptions, { maxIssues: settings.max_issues, thresholds: settings }, { minBytes: 1 })).toEqual(single);
  });

  it('falls back to the single pass when a worker fails', async () => {
    const path = chatFile();
    const { single } = await bothWays(path);
    const failing = new URL(`data:text/javascript,${encodeURIComponent('throw new Error("worker crashed")')}`);
    const options = { maxIssues: settings.max_issues, thresholds: settings };
    await expect(validateInRanges(path, sourceOptions, options, { minBytes: 1, workerEntry: failing })).rejects.toThrow('worker crashed');
    expect(await validateSource(path, sourceOptions, options, { minBytes: 1, workerEntry: failing })).toEqual(single);
  });

  it('stops with CANCELLED when the signal aborts', async () => {
    const path = chatFile();
    const controller = new AbortController();
    const pending = validateSource(path, sourceOptions, { maxIssues: 10, thresholds: settings, signal: controller.signal }, { minBytes: 1 });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('reports progress against the file size and stops with CANCELLED when aborted while workers run', async () => {
    const path = chatFile();
    const controller = new AbortController();
    const progress: Array<[number, number]> = [];
    const onProgress = (done: number, total: number) => {
      progress.push([done, total]);
      controller.abort();
    };
    const pending = validateSource(path, { ...sourceOptions, onProgress }, { maxIssues: 10, thresholds: settings, signal: controller.signal }, { minBytes: 1 });
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0][1]).toBe(statSync(path).size);
    expect(progress[0][0]).toBeGreaterThan(0);
  });
});
