import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetSettingsSchema } from '../../src/datasets/settings.js';
import { readSourceBatches } from '../../src/datasets/sources.js';
import { bytesHash } from '../../src/datasets/stats.js';
import { validateRecords } from '../../src/datasets/validate.js';

const scratch = mkdtempSync(join(tmpdir(), 'ftm-ds-dup-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bytesHash', () => {
  it('depends on the bytes only, not on where they sit in memory', () => {
    const text = Buffer.from('{"messages": [{"role": "user", "content": "héllo"}, {"role": "assistant", "content": "hi"}]}');
    const reference = bytesHash(text).toString('hex');
    for (let offset = 0; offset < 9; offset++) {
      const host = Buffer.alloc(text.length + 16, 0x20);
      text.copy(host, offset);
      expect(bytesHash(host.subarray(offset, offset + text.length)).toString('hex')).toBe(reference);
    }
    const changed = Buffer.from(text);
    changed[changed.length - 3] ^= 1;
    expect(bytesHash(changed).toString('hex')).not.toBe(reference);
    expect(bytesHash(text.subarray(0, text.length - 1)).toString('hex')).not.toBe(reference);
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
