/**
 * Issue 13 item 4: BPE is quadratic in the length of a piece, so one chat row holding a 1 MB word took
 * over 200 s to count and held the event loop. Long runs are now counted in chunks: linear time, and
 * the count of ordinary text is exactly what the encoder gives.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearCount, MAX_PIECE_CHARS, openAiCounter } from '../../src/datasets/tokenizers.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

const DEMO = new URL('../../assets/demo/moon-stories.jsonl', import.meta.url);

describe('token counting is linear in the length of a word', () => {
  it('counts a 1 MB word in well under a second, and exactly', async () => {
    const counter = await openAiCounter('o200k_base');
    const word = 'a'.repeat(1_000_000);
    const started = performance.now();
    const tokens = counter.count(word);
    expect(performance.now() - started).toBeLessThan(2_000); // ~300 ms here; 200 s before
    expect(tokens).toBe(word.length / 8); // o200k merges eight a's a token (200 KB counted whole: 25,000)
  });

  it('counts ordinary text exactly as the encoder does', () => {
    const raw = (text: string) => countTokens(text, { disallowedSpecial: new Set() });
    const text = readFileSync(DEMO, 'utf8'); // 200 stories, ~90 KB, JSON punctuation and all
    expect(text.length).toBeGreaterThan(50_000);
    expect(linearCount(raw)(text)).toBe(raw(text));
    // Runs just at the bound are counted whole; a long run costs at most a token a chunk.
    const edge = `x ${'b'.repeat(MAX_PIECE_CHARS)} ${' '.repeat(MAX_PIECE_CHARS - 1)}y`;
    expect(linearCount(raw)(edge)).toBe(raw(edge));
    const long = `Hello ${'z'.repeat(10 * MAX_PIECE_CHARS)} world`;
    expect(Math.abs(linearCount(raw)(long) - raw(long))).toBeLessThanOrEqual(10);
  });

  describe('through prepare_dataset', () => {
    let t: TestClient;
    let scratch: string;
    beforeAll(async () => {
      scratch = mkdtempSync(join(tmpdir(), 'ftm-hostile-count-'));
      t = await connectTestClient({ config: { allowed_roots: [scratch] } });
    });
    afterAll(async () => {
      await t.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('imports a chat row with a 1 MB word in seconds and keeps answering', async () => {
      const path = join(scratch, 'long-word.jsonl');
      const row = { messages: [{ role: 'user', content: `Spell this: ${'q'.repeat(1_000_000)}` }, { role: 'assistant', content: 'No.' }] };
      writeFileSync(path, `${JSON.stringify(row)}\n`);
      const started = Date.now();
      const out = await t.callOk(prepareDatasetTool, { path, model: 'o200k_base' });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(out.counts.rows).toBe(1);
      expect((await t.callOk(serverInfoTool)).name).toBe('finetune-mcp');
    });
  });
});
