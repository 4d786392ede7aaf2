import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import { validateDatasetTool } from '../../tools/validate-dataset.js';
import { errorCode, type TestClient } from '../helpers/mcp.js';
import { datasetClient, fixture } from './helpers.js';

const readJsonl = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('split_dataset', () => {
  let t: TestClient;
  let scratch: string;
  let tweets: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ftm-ds-split-'));
    t = await datasetClient([scratch]);
    tweets = (await t.callOk(prepareDatasetTool, { path: fixture('tweeteval_emotion_val.csv'), model: 'cl100k_base' })).dataset_id;
  });
  afterAll(async () => {
    await t?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('splits TweetEval 80/10/10 stratified by label, every row exactly once, reproducibly', async () => {
    const out = await t.callOk(splitDatasetTool, { dataset_id: tweets, train: 0.8, validation: 0.1, test: 0.1, seed: 7 });
    expect(out.counts.train! + out.counts.validation! + out.counts.test!).toBe(374);
    const labelCounts = { anger: 160, joy: 97, sadness: 89, optimism: 28 };
    for (const [label, n] of Object.entries(labelCounts)) {
      const s = out.strata![label];
      expect(s.train + s.validation + s.test).toBe(n);
      expect(Math.abs(s.train - 0.8 * n)).toBeLessThanOrEqual(1);
      expect(Math.abs(s.validation - 0.1 * n)).toBeLessThanOrEqual(1);
      expect(Math.abs(s.test - 0.1 * n)).toBeLessThanOrEqual(1);
    }
    const ds = t.services.datasets;
    const parts = (['train', 'validation', 'test'] as const).map((s) => readJsonl(ds.rowsPath(out.dataset_id, s)));
    expect(parts.map((p) => p.length)).toEqual([out.counts.train, out.counts.validation, out.counts.test]);
    const union = parts.flat().map((r) => JSON.stringify(r)).sort();
    expect(union).toEqual(readJsonl(ds.rowsPath(tweets)).map((r) => JSON.stringify(r)).sort());
    expect(parts[2].filter((r) => r.label === 'optimism')).toHaveLength(out.strata!.optimism.test);
    const checked = await t.callOk(validateDatasetTool, { dataset_id: out.dataset_id, split: 'test', count_tokens: false });
    expect(checked.summary).toMatchObject({ records: out.counts.test, format: 'classification', errors: 0 });
    const manifest = ds.get(out.dataset_id).manifest;
    expect(manifest.splits).toEqual({ ratios: { train: 0.8, validation: 0.1, test: 0.1 }, seed: 7, stratify_by: 'label' });
    expect(manifest.token_stats.tokenizer).toBe('cl100k_base');

    const again = await t.callOk(splitDatasetTool, { dataset_id: tweets, train: 0.8, validation: 0.1, test: 0.1, seed: 7 });
    expect(ds.get(again.dataset_id).manifest.content_hash).toBe(manifest.content_hash);
    const other = await t.callOk(splitDatasetTool, { dataset_id: tweets, train: 0.8, validation: 0.1, test: 0.1, seed: 8 });
    expect(ds.get(other.dataset_id).manifest.content_hash).not.toBe(manifest.content_hash);
  });

  it('takes any ratios that sum to 1 (70/15/15) and refuses ones that do not', async () => {
    const out = await t.callOk(splitDatasetTool, { dataset_id: tweets, train: 0.7, validation: 0.15, test: 0.15, seed: 1, stratify_by: 'label' });
    expect(Math.abs(out.counts.train! - 0.7 * 374)).toBeLessThanOrEqual(4);
    expect(Math.abs(out.counts.validation! - 0.15 * 374)).toBeLessThanOrEqual(4);
    const bad = await t.call('split_dataset', { dataset_id: tweets, train: 0.8, validation: 0.3, test: 0.1, seed: 1 });
    expect(errorCode(bad)).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('split_dataset', { dataset_id: tweets, train: 0.8, validation: 0.1, test: 0.1, seed: 1, group_by: 'conversation_id' }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('split_dataset', { dataset_id: out.dataset_id, train: 0.8, validation: 0.1, test: 0.1, seed: 1 }))).toBe('INVALID_INPUT');
    expect(() => t.services.datasets.rowsPath(tweets, 'train')).toThrow(/no train split/);
  });

  it('keeps a group in one split, and reports near-duplicates that grouping let leak', async () => {
    const rows = [];
    for (let i = 0; i < 30; i++) {
      rows.push({ messages: [{ role: 'user', content: `What is item ${i}?` }, { role: 'assistant', content: `Item ${i} is a thing.` }] });
      rows.push({ messages: [{ role: 'user', content: `what is ITEM ${i}` }, { role: 'assistant', content: `Item ${i} is a thing.` }] });
    }
    const path = join(scratch, 'pairs.jsonl');
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n'));
    const ds = (await t.callOk(prepareDatasetTool, { path })).dataset_id;

    // Default grouping: near-duplicates stay together, so nothing leaks.
    const safe = await t.callOk(splitDatasetTool, { dataset_id: ds, train: 0.6, validation: 0.2, test: 0.2, seed: 3 });
    expect(safe.groups).toBe(30);
    expect(safe.leakage).toEqual({ exact: {}, normalized: {}, examples: [] });

    // Grouping by the raw first message separates the two spellings: the report counts what leaked.
    const leaky = await t.callOk(splitDatasetTool, { dataset_id: ds, train: 0.6, validation: 0.2, test: 0.2, seed: 3, group_by: 'messages[0].content' });
    expect(leaky.groups).toBe(60);
    const splitOf = new Map<string, string>();
    let crossing = 0;
    for (const s of ['train', 'validation', 'test'] as const) {
      for (const r of readJsonl(t.services.datasets.rowsPath(leaky.dataset_id, s))) {
        const key = r.messages[1].content;
        if (splitOf.has(key) && splitOf.get(key) !== s) crossing++;
        splitOf.set(key, s);
      }
    }
    expect(crossing).toBeGreaterThan(0);
    expect(Object.values(leaky.leakage.normalized).reduce((a, b) => a + b, 0)).toBe(crossing);
    expect(leaky.leakage.exact).toEqual({});
  });
});
