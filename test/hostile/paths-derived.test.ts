import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';

/**
 * Issue 13 items 9, 10, 12: files derived from a user's path (a folder's links, an index's shards, the
 * tokenizer beside a model or a llama2.c checkpoint) are confined like the path itself; errors never
 * show file content; a link swapped during an import never brings outside content in; a FIFO is refused
 * before it is opened.
 */
const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const SECRET = 'root:$6$SECRETSALT$hash:19000:0:99999:7:::\n';
const ROW = `${JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] })}\n`;

let base: string;
let allowed: string;
let outside: string;
let model: string;
beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'ftm-derived-')));
  allowed = join(base, 'allowed');
  outside = join(base, 'outside');
  mkdirSync(allowed);
  mkdirSync(outside);
  model = join(allowed, 'stories');
  convertLlama2c({ checkpoint: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin'), out_dir: model });
  // Outside the roots: a copy of the same model (so a read that escapes would succeed) and a secret.
  cpSync(model, join(outside, 'stories'), { recursive: true });
  copyFileSync(join(ASSETS, 'tok512.bin'), join(outside, 'tokenizer.bin'));
  writeFileSync(join(outside, 'shadow'), SECRET);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A copy of the model folder in the allowed root, with `file` replaced by a link to `target`. */
function folderWithLink(name: string, file: string, target: string): string {
  const dir = join(allowed, name);
  cpSync(model, dir, { recursive: true });
  rmSync(join(dir, file), { force: true });
  symlinkSync(target, join(dir, file));
  return dir;
}

describe('files derived from a user path stay inside the allowed roots', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await connectTestClient({ config: { allowed_roots: [allowed] } });
  });
  afterAll(async () => t?.close());

  it('a link inside an imported folder that points outside is refused', async () => {
    const dir = folderWithLink('linked-tokenizer', 'tokenizer.json', join(outside, 'stories', 'tokenizer.json'));
    const result = await t.call('import_model', { source: dir });
    expect(errorCode(result)).toBe('PATH_NOT_ALLOWED');
    expect(readdirSync(join(t.home, 'models')).filter((d) => !d.startsWith('.'))).toEqual([]);
  });

  it('a shard name that climbs out of the folder is refused', async () => {
    const dir = join(allowed, 'sharded');
    mkdirSync(dir);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(model, f), join(dir, f));
    const index = { metadata: {}, weight_map: { 'model.embed_tokens.weight': '../../outside/stories/model.safetensors' } };
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    const result = await t.call('import_model', { source: dir });
    expect(errorCode(result)).toBe('FILE_ERROR');
    expect(resultText(result)).toMatch(/not a plain file name/);
  });

  it('a tokenizer.bin beside a llama2.c checkpoint that links outside is refused', async () => {
    const dir = join(allowed, 'llama2c');
    mkdirSync(dir);
    copyFileSync(join(ASSETS, 'stories260K.bin'), join(dir, 'stories260K.bin'));
    symlinkSync(join(outside, 'tokenizer.bin'), join(dir, 'tokenizer.bin'));
    const result = await t.call('import_model', { source: join(dir, 'stories260K.bin') });
    expect(errorCode(result)).toBe('PATH_NOT_ALLOWED');
  });

  it('tokenizer.json beside a model argument that links outside is not read', async () => {
    const dir = folderWithLink('linked-count', 'tokenizer.json', join(outside, 'stories', 'tokenizer.json'));
    writeFileSync(join(allowed, 'rows.jsonl'), ROW);
    const result = await t.call('validate_dataset', { path: join(allowed, 'rows.jsonl'), model: dir });
    expect(errorCode(result)).toBe('PATH_NOT_ALLOWED');
  });

  it('errors name where a file is broken, never what it holds', async () => {
    // A config.json that is not JSON (here a link to a secret inside the roots): the error shows no content.
    writeFileSync(join(allowed, 'shadow-inside'), SECRET);
    const dir = folderWithLink('bad-config', 'config.json', join(allowed, 'shadow-inside'));
    const bad = await t.call('import_model', { source: dir });
    expect(bad.isError).toBe(true);
    expect(resultText(bad)).not.toMatch(/root:|SECRETSALT/);
    expect(resultText(bad)).toMatch(/not valid JSON/);
    // The same with a safetensors file whose header is text.
    const weights = folderWithLink('bad-weights', 'model.safetensors', join(allowed, 'shadow-inside'));
    writeFileSync(join(allowed, 'shadow-inside'), Buffer.concat([Buffer.from([40, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(SECRET)]));
    const badWeights = await t.call('import_model', { source: weights });
    expect(badWeights.isError).toBe(true);
    expect(resultText(badWeights)).not.toMatch(/root:|SECRETSALT/);
  });
});

describe('FIFOs are refused before they are opened', () => {
  const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;
  let t: TestClient;
  afterEach(async () => t?.close());

  it.skipIf(!hasMkfifo)('as a dataset path and as a file of a model folder, quickly, and the server keeps answering', async () => {
    t = await connectTestClient({ config: { allowed_roots: [allowed] } });
    const pipe = join(allowed, 'pipe.jsonl');
    expect(spawnSync('mkfifo', [pipe]).status).toBe(0);
    const dir = join(allowed, 'fifo-model');
    cpSync(model, dir, { recursive: true });
    rmSync(join(dir, 'tokenizer.json'));
    expect(spawnSync('mkfifo', [join(dir, 'tokenizer.json')]).status).toBe(0);
    const started = performance.now();
    // Several at once: before, each blocked a libuv thread on open() and four of them wedged every file tool.
    const results = await Promise.all([
      ...[1, 2, 3, 4, 5].map(() => t.call('validate_dataset', { path: pipe })),
      t.call('import_model', { source: dir }),
      t.call('prepare_dataset', { path: pipe }),
    ]);
    for (const result of results) {
      expect(errorCode(result)).toBe('FILE_ERROR');
      expect(resultText(result)).toMatch(/FIFO|not a regular file/);
    }
    expect(performance.now() - started).toBeLessThan(10_000);
    writeFileSync(join(allowed, 'after.jsonl'), ROW);
    expect((await t.call('validate_dataset', { path: join(allowed, 'after.jsonl') })).isError).toBeFalsy();
  }, 30_000);
});

describe('a link swapped during imports never brings outside content in', () => {
  it('every import is the inside model or a refusal', async () => {
    const t = await connectTestClient({ config: { allowed_roots: [allowed] } });
    const inside = join(allowed, 'swap-inside');
    cpSync(model, inside, { recursive: true });
    // The outside copy differs (a marker in config.json), so its content would be a different model.
    const evil = join(outside, 'swap-evil');
    cpSync(model, evil, { recursive: true });
    const config = JSON.parse(readFileSync(join(evil, 'config.json'), 'utf8'));
    writeFileSync(join(evil, 'config.json'), JSON.stringify({ ...config, x_outside: true }));
    const link = join(allowed, 'swap-link');
    symlinkSync(inside, link);
    // A child process flips the link between the inside and the outside folder as fast as it can.
    const flipper = spawn(process.execPath, [
      '-e',
      `const fs = require('fs'); const [link, a, b] = process.argv.slice(1); let i = 0;
       for (;;) { const tmp = link + '.tmp'; try { fs.rmSync(tmp, { force: true }); fs.symlinkSync(i++ % 2 ? a : b, tmp); fs.renameSync(tmp, link); } catch {} }`,
      link,
      inside,
      evil,
    ]);
    try {
      let imported = 0;
      for (let i = 0; i < 40; i++) {
        const result = await t.call('import_model', { source: link });
        if (result.isError) {
          expect(errorCode(result)).toBe('PATH_NOT_ALLOWED');
          continue;
        }
        const { model_id } = result.structuredContent as { model_id: string };
        expect(readFileSync(join(t.home, 'models', model_id, 'config.json'), 'utf8')).not.toMatch(/x_outside/);
        imported++;
      }
      expect(imported).toBeGreaterThan(0);
    } finally {
      flipper.kill('SIGKILL');
      await t.close();
    }
  }, 120_000);
});
