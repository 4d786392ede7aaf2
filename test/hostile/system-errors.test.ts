import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFinetuneError } from '../../src/errors.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { datasetClient, fixture } from '../datasets/helpers.js';
import { errorCode, resultText, type TestClient } from '../helpers/mcp.js';

/** Node's own fs module object: replacing a function on it and syncing changes what `import { writeSync } from 'node:fs'` calls. */
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

function errno(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated, ${syscall}${path ? ` '${path}'` : ''}`), { code, syscall, ...(path ? { path } : {}) });
}

/** Runs `fn` while every fs.writeSync of exported rows fails with `code` (a full disk, without needing one). */
async function withFailingWrites<T>(code: string, fn: () => Promise<T>): Promise<T> {
  const original = fs.writeSync;
  fs.writeSync = ((...args: Parameters<typeof original>) => {
    if (String(args[1]).includes('"messages"') || (Buffer.isBuffer(args[1]) && args[1].includes('"messages"'))) throw errno(code, 'write');
    return original(...args);
  }) as typeof fs.writeSync;
  syncBuiltinESMExports();
  try {
    return await fn();
  } finally {
    fs.writeSync = original;
    syncBuiltinESMExports();
  }
}

describe('system errors are not INTERNAL (issue 13 item 16)', () => {
  let t: TestClient;
  let out: string;
  let datasetId: string;
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'ftm-syserr-'));
    t = await datasetClient([out]);
    datasetId = (await t.callOk(prepareDatasetTool, { path: fixture('toy_chat_fine_tuning.jsonl') })).dataset_id;
  });
  afterAll(async () => {
    await t?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('a full disk while export_dataset writes is DISK_FULL, retryable, with a recovery, and leaves no temp file', async () => {
    const result = await withFailingWrites('ENOSPC', () => t.call('export_dataset', { dataset_id: datasetId, path: join(out, 'full.jsonl'), format: 'openai_chat' }));
    expect(result.isError).toBe(true);
    expect(errorCode(result)).toBe('DISK_FULL');
    expect(result._meta).toMatchObject({ retryable: true });
    expect(resultText(result)).toMatch(/No space left on the device[\s\S]*Recovery: Free space/);
    expect(readdirSync(out)).toEqual([]);
    // The note of the temp in flight is gone with it.
    expect(readdirSync(join(t.home, 'pending-temps')).filter((n) => n.endsWith('.json'))).toEqual([]);
  });

  it('a quota exceeded is DISK_FULL too', async () => {
    const result = await withFailingWrites('EDQUOT', () => t.call('export_dataset', { dataset_id: datasetId, path: join(out, 'quota.jsonl'), format: 'openai_chat' }));
    expect(errorCode(result)).toBe('DISK_FULL');
    expect(resultText(result)).toMatch(/quota exceeded/);
  });

  it('a 5,000-character path is INVALID_INPUT naming the field, not INTERNAL', async () => {
    for (const path of [join(out, 'a'.repeat(5000)), join(out, ...Array.from({ length: 50 }, () => 'b'.repeat(100)), 'x.jsonl')]) {
      const result = await t.call('export_dataset', { dataset_id: datasetId, path, format: 'openai_chat' });
      expect(errorCode(result)).toBe('INVALID_INPUT');
      expect(result._meta).toMatchObject({ details: { field: 'path' } });
      expect(resultText(result)).toMatch(/path is too long/);
    }
    const read = await t.call('prepare_dataset', { path: join(out, 'c'.repeat(5000)) });
    expect(errorCode(read)).toBe('INVALID_INPUT');
  });

  it('a path with a NUL byte is INVALID_INPUT naming the field', async () => {
    const result = await t.call('prepare_dataset', { path: `${fixture('toy_chat_fine_tuning.jsonl')}\u0000.txt` });
    expect(errorCode(result)).toBe('INVALID_INPUT');
    expect(result._meta).toMatchObject({ details: { field: 'path' } });
    expect(resultText(result)).toMatch(/path contains a NUL byte/);
  });

  it('errno failures map to their own codes with the path; anything else stays INTERNAL', () => {
    const cases: Array<[NodeJS.ErrnoException | Error, string]> = [
      [errno('ENOSPC', 'open', '/data/out.bin'), 'DISK_FULL'],
      [errno('ENAMETOOLONG', 'open', `/x/${'n'.repeat(300)}`), 'INVALID_INPUT'],
      [errno('EACCES', 'open', '/root/secret'), 'FILE_ERROR'],
      [errno('EROFS', 'mkdir', '/ro/x'), 'FILE_ERROR'],
      [errno('EMFILE', 'open', '/x'), 'FILE_ERROR'],
      [Object.assign(new TypeError("The argument 'path' must be a string, Uint8Array, or URL without null bytes. Received 'a\\x00b'"), { code: 'ERR_INVALID_ARG_VALUE' }), 'INVALID_INPUT'],
      [Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), 'DISK_FULL'],
      [new Error('something else'), 'INTERNAL'],
    ];
    for (const [error, code] of cases) expect(toFinetuneError(error).code).toBe(code);
    const full = toFinetuneError(errno('ENOSPC', 'open', '/data/out.bin'));
    expect(full.message).toContain("'/data/out.bin'");
    expect(full.details).toMatchObject({ file: '/data/out.bin', errno: 'ENOSPC' });
    expect(toFinetuneError(errno('EMFILE', 'open', '/x')).retryable).toBe(true);
    // A path of thousands of characters is shown by its ends, not whole.
    expect(toFinetuneError(errno('ENAMETOOLONG', 'open', `/x/${'n'.repeat(5000)}`)).message.length).toBeLessThan(400);
  });
});
