import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDatasetTool } from '../../tools/validate-dataset.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { datasetClient } from './helpers.js';
import type { TestClient } from '../helpers/mcp.js';

// Issue 13 item 14: csv-parse grew a field without end (an unterminated quote took 2.7 GB for a
// 1.5 GB file) and built a record object per header column (a million columns: 475 MB for 12 MB).
// A record is now at most datasets.max_line_bytes and a header at most datasets.max_csv_columns.

const scratch = mkdtempSync(join(tmpdir(), 'ft-hostile-csv-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('hostile CSV and TSV files', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await datasetClient([scratch], { max_line_bytes: 4096, max_csv_columns: 100 });
  });
  afterAll(() => t.close());

  it('stops at a record over the byte limit (an unterminated quote), naming its line, without reading on', async () => {
    const path = join(scratch, 'open-quote.csv');
    // The quote opened on line 4 swallows every later line: 20,000 of them, far over 4096 bytes.
    writeFileSync(path, `text,label\nfine one,a\nfine two,b\n"never closed,c\n${'more text,d\n'.repeat(20_000)}`);
    const rssBefore = process.memoryUsage().rss;
    const out = await t.callOk(validateDatasetTool, { path, count_tokens: false });
    const errors = out.issues.filter((i) => i.severity === 'error');
    expect(errors.map((i) => [i.line, i.code])).toEqual([[4, 'record_too_long']]);
    expect(errors[0].message).toContain('line 4 is over the 4096-byte limit (is a quote left open?)');
    expect(out.summary.records).toBe(3);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100e6);
    const refused = await t.call(prepareDatasetTool.name, { path });
    expect(refused.isError).toBe(true);
  });

  it('keeps reading after records of the wrong width, and accepts records under the limit', async () => {
    const path = join(scratch, 'ok.tsv');
    writeFileSync(path, `text\tlabel\n${'x'.repeat(3000)}\tlong\nshort\tneg\nthree\tcolumns\there\nlast\tpos\n`);
    const out = await t.callOk(validateDatasetTool, { path, count_tokens: false });
    expect(out.issues.filter((i) => i.severity === 'error').map((i) => [i.line, i.code])).toEqual([[4, 'invalid_csv']]);
    expect(out.summary.records).toBe(4);
  });

  it('refuses a header over the column limit as one issue on line 1', async () => {
    const path = join(scratch, 'wide.csv');
    const header = Array.from({ length: 101 }, (_, i) => `c${i}`).join(',');
    writeFileSync(path, `${header}\n${'1,'.repeat(100)}1\n`);
    const out = await t.callOk(validateDatasetTool, { path, count_tokens: false });
    expect(out.issues.map((i) => [i.line, i.code])).toEqual([[1, 'too_many_columns']]);
    expect(out.issues[0].message).toContain('The header has 101 columns, over the 100-column limit (datasets.max_csv_columns)');
    const narrow = join(scratch, 'narrow.csv');
    writeFileSync(narrow, `${Array.from({ length: 100 }, (_, i) => `c${i}`).join(',')}\n${'1,'.repeat(99)}1\n`);
    expect((await t.callOk(validateDatasetTool, { path: narrow, count_tokens: false })).issues.map((i) => i.code)).not.toContain('too_many_columns');
  });

  it('refuses 100,000 columns with the default limits in bounded memory', async () => {
    const wide = await datasetClient([scratch]);
    try {
      const path = join(scratch, 'wider.csv');
      const header = Array.from({ length: 100_000 }, (_, i) => i.toString(36)).join(',');
      writeFileSync(path, `${header}\n${header}\n`);
      const rssBefore = process.memoryUsage().rss;
      const out = await wide.callOk(validateDatasetTool, { path, count_tokens: false });
      expect(out.issues.map((i) => i.code)).toEqual(['too_many_columns']);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100e6);
    } finally {
      await wide.close();
    }
  });
});
