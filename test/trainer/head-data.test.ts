import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isFinetuneError } from '../../src/errors.js';
import { headBatch, readHeadSplit } from '../../plugins/local/trainer/head-data.js';
import type { TokenizerLike } from '../../plugins/local/trainer/render.js';
import { writeJsonl } from './helpers/job-fixtures.js';

/**
 * Embedding rows as head batches: pairs are two texts an example, scored pairs two texts and a
 * score; a split written by hand (not through prepare_dataset) with a bad score is refused with its
 * file, line and field.
 */
const dir = mkdtempSync(join(tmpdir(), 'ftm-head-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One id a character (BOS 1 first), so token ids are easy to read back. */
const tokenizer = {
  encode: (text: string) => [1, ...[...text].map((c) => c.charCodeAt(0))],
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: 0,
} as unknown as TokenizerLike;

const refused = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (isFinetuneError(error)) return { code: error.code, details: error.details };
    throw error;
  }
  throw new Error('not refused');
};

describe('embedding rows as head batches', () => {
  it('lays out pairs group-major (anchors, then positives) with the real count and no scores', () => {
    const path = writeJsonl(join(dir, 'pairs.jsonl'), [
      { anchor: 'ab', positive: 'xyz' },
      { anchor: 'c', positive: 'w' },
    ]);
    const split = readHeadSplit(path, 'pair', tokenizer, 8, []);
    expect(split.examples.map((e) => e.texts)).toEqual([
      [
        [1, 97, 98],
        [1, 120, 121, 122],
      ],
      [
        [1, 99],
        [1, 119],
      ],
    ]);
    const batch = headBatch(split.examples, 3, 4, 0);
    expect(batch.count).toBe(2);
    expect(batch.scores).toBeUndefined();
    // rows: anchor 0, anchor 1, padding, positive 0, positive 1, padding
    expect(Array.from(batch.input_ids)).toEqual([1, 97, 98, 0, 1, 99, 0, 0, 0, 0, 0, 0, 1, 120, 121, 122, 1, 119, 0, 0, 0, 0, 0, 0]);
  });

  it('carries each scored pair\'s score, 0 on padding rows', () => {
    const path = writeJsonl(join(dir, 'scored.jsonl'), [
      { sentence1: 'a', sentence2: 'b', score: 0.75 },
      { sentence1: 'c', sentence2: 'd', score: -0.5 },
    ]);
    const batch = headBatch(readHeadSplit(path, 'scored_pair', tokenizer, 8, []).examples, 3, 2, 0);
    expect(Array.from(batch.scores!)).toEqual([0.75, -0.5, 0]);
    expect(batch.count).toBe(2);
  });

  it('refuses a score that is missing, not a number or outside [-1, 1], and a missing text, with file, line and field', () => {
    const ok = { sentence1: 'a', sentence2: 'b', score: 0.5 };
    for (const [bad, field] of [
      [{ sentence1: 'a', sentence2: 'b' }, 'score'],
      [{ sentence1: 'a', sentence2: 'b', score: '0.5' }, 'score'],
      [{ sentence1: 'a', sentence2: 'b', score: 3 }, 'score'],
      [{ sentence1: 'a', score: 0.1 }, 'sentence2'],
    ] as const) {
      const path = writeJsonl(join(dir, 'bad.jsonl'), [ok, bad]);
      expect(refused(() => readHeadSplit(path, 'scored_pair', tokenizer, 8, []))).toEqual({ code: 'DATASET_INVALID', details: { file: path, line: 2, field } });
    }
  });
});
