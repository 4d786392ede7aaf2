import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetSettingsSchema } from '../../src/datasets/settings.js';
import { estimateRows, readSourceBatches } from '../../src/datasets/sources.js';
import { LineOrderDuplicates, validateRecords } from '../../src/datasets/validate.js';

const scratch = mkdtempSync(join(tmpdir(), 'ftm-ds-dup-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('estimateRows', () => {
  it('estimates a JSON Lines file from two samples, caps the guess, and gives 0 for other sources', () => {
    const file = join(scratch, 'estimate.jsonl');
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ text: `row ${i} ${'x'.repeat(i % 100)}` }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const estimate = estimateRows(file);
    expect(estimate).toBeGreaterThan(16_000);
    expect(estimate).toBeLessThan(24_000);
    const tiny = join(scratch, 'tiny.jsonl');
    writeFileSync(tiny, '1\n'.repeat(4_500_000));
    expect(estimateRows(tiny)).toBe(4_000_000);
    writeFileSync(join(scratch, 'data.csv'), 'text,label\na,b\n');
    expect(estimateRows(join(scratch, 'data.csv'))).toBe(0);
    expect(estimateRows(join(scratch, 'missing.jsonl'))).toBe(0);
  });
});

describe('LineOrderDuplicates', () => {
  const h = (n: number) => ({ hi: n, lo: n * 7 + 1 });
  it('names the first line with the same bytes, also when that row joined an earlier near-duplicate group', () => {
    const index = new LineOrderDuplicates();
    const codes = (line: number, exact: number, near: number) => {
      const found = index.check(line, h(exact), h(near));
      return found && `${found.code} ${found.message}`;
    };
    expect(codes(1, 100, 1)).toBeUndefined();
    expect(codes(2, 101, 1)).toBe('duplicate_normalized Same as line 1 up to case, punctuation and whitespace.');
    expect(codes(3, 100, 1)).toBe('duplicate_exact Exact duplicate of line 1.');
    // Line 4 repeats the bytes of line 2, the group's second member: exact, of line 2.
    expect(codes(4, 101, 1)).toBe('duplicate_exact Exact duplicate of line 2.');
    expect(codes(5, 102, 2)).toBeUndefined();
  });

  it('keeps every first line through growth from a small start (sized for 0 rows, given 50,000)', () => {
    const index = new LineOrderDuplicates(0);
    for (let line = 1; line <= 50_000; line++) expect(index.check(line, h(line), h(line + 1_000_000))).toBeUndefined();
    for (let line = 1; line <= 50_000; line += 997) expect(index.check(60_000 + line, h(line), h(line + 1_000_000))?.message).toBe(`Exact duplicate of line ${line}.`);
  });
});

describe('duplicate detection on a streamed JSON Lines file', () => {
  it('finds every repeat of a line at any byte offset and across read chunks, and near repeats after them', async () => {
    const line = (n: number) => JSON.stringify({ messages: [{ role: 'user', content: `Question ${n}?` }, { role: 'assistant', content: `Answer ${n}.` }] });
    const repeated = line(0);
    const lines: string[] = [];
    const expected: Array<[number, string]> = [];
    // Lines of varying length shift the repeats to every alignment and past the 64 KiB chunk edges.
    for (let i = 1; lines.length < 6000; i++) {
      lines.push(i % 97 === 0 ? repeated : line(i));
      if (i % 97 === 0 && i !== 97) expected.push([lines.length, 'duplicate_exact']);
      if (i % 389 === 0) {
        lines.push(line(i).toUpperCase().replace('MESSAGES', 'messages').replace(/ROLE/g, 'role').replace(/CONTENT/g, 'content').replace('USER', 'user').replace('ASSISTANT', 'assistant'));
        expected.push([lines.length, 'duplicate_normalized']);
      }
    }
    const file = join(scratch, 'dups.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const settings = DatasetSettingsSchema.parse({});
    const result = await validateRecords(readSourceBatches(file, { maxLineBytes: settings.max_line_bytes, maxJsonBytes: settings.max_json_bytes, textSeparator: '' }), {
      maxIssues: 10_000,
      thresholds: settings,
    });
    expect(result.issues.map((i) => [i.line, i.code])).toEqual(expected);
    const firstRepeat = lines.indexOf(repeated) + 1;
    for (const found of result.issues.filter((i) => i.code === 'duplicate_exact')) expect(found.message).toBe(`Exact duplicate of line ${firstRepeat}.`);
  });
});
