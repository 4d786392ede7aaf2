import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonlWriter } from '../../src/datasets/version-writer.js';

const scratch = mkdtempSync(join(tmpdir(), 'ftm-writer-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('JsonlWriter', () => {
  it('writes every row in order across buffer flushes, a row larger than the buffer included, and returns the sha256 of the file', () => {
    const rows: unknown[] = [];
    for (let i = 0; i < 5000; i++) rows.push({ text: `row ${i} ${'é✓'.repeat(i % 90)}` });
    rows.splice(2500, 0, { text: 'x'.repeat(3 << 20) }, { text: 'ü'.repeat(400_000) });
    const writer = new JsonlWriter(scratch, 'rows.jsonl');
    for (const row of rows) writer.write(row);
    const sha256 = writer.close();
    const bytes = readFileSync(join(scratch, 'rows.jsonl'));
    expect(bytes.toString('utf8')).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    expect(sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(writer.rows).toBe(rows.length);
  });
});
