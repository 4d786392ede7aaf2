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
  it('counts a 1 MB word in bounded pieces (so the work is linear in its length), and exactly', async () => {
    // BPE costs the square of a piece's length: bounded pieces that add up to the word make the whole
    // linear. Checked on the pieces themselves, not on a clock (the speed is `npm run bench token-stall`).
    const raw = (text: string) => countTokens(text, { disallowedSpecial: new Set() });
    const word = 'a'.repeat(1_000_000);
    const pieces: number[] = [];
    const tokens = linearCount((piece) => (pieces.push(piece.length), raw(piece)))(word);
    expect(Math.max(...pieces)).toBeLessThanOrEqual(MAX_PIECE_CHARS);
    expect(pieces.reduce((a, b) => a + b, 0)).toBe(word.length);
    expect(tokens).toBe(word.length / 8); // o200k merges eight a's a token
    expect((await openAiCounter('o200k_base')).count(word)).toBe(tokens); // the counter datasets use is this one
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
