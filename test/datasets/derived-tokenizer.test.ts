import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanDatasetTool } from '../../tools/clean-dataset.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import type { TestClient } from '../helpers/mcp.js';
import { convertStories260K } from '../trainer/helpers/job-fixtures.js';
import { datasetClient } from './helpers.js';

/** Issue 12 item 4: a derived version keeps its parent's tokenizer unless told otherwise. */
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'demo', 'moon-stories.jsonl');

describe('token statistics of derived versions', () => {
  let t: TestClient;
  let scratch: string;
  let model: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ftm-ds-tok-'));
    model = convertStories260K(scratch);
    t = await datasetClient([scratch, dirname(DEMO)]);
  });
  afterAll(async () => {
    await t?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("clean_dataset and split_dataset count with the parent's model tokenizer; `model` recounts", async () => {
    const parent = await t.callOk(prepareDatasetTool, { path: DEMO, model });
    expect(parent.token_stats.tokenizer).toBe(`tokenizer.json:${model}`);
    const cleaned = await t.callOk(cleanDatasetTool, { dataset_id: parent.dataset_id });
    // Same rows, same tokenizer: the same figures (before the fix: o200k_base, about half the tokens).
    expect(cleaned.token_stats).toEqual(parent.token_stats);
    const split = await t.callOk(splitDatasetTool, { dataset_id: cleaned.dataset_id });
    expect(t.services.datasets.get(split.dataset_id).manifest.token_stats).toEqual(parent.token_stats);
    const recounted = await t.callOk(cleanDatasetTool, { dataset_id: parent.dataset_id, model: 'o200k_base' });
    expect(recounted.token_stats.tokenizer).toBe('o200k_base');
    expect(recounted.token_stats.mean).toBeLessThan(parent.token_stats.mean / 1.5);
  });

  it('refuses, naming `model`, when the recorded tokenizer folder is gone', async () => {
    const dir = convertStories260K(join(scratch, 'gone'));
    const parent = await t.callOk(prepareDatasetTool, { path: DEMO, model: dir });
    rmSync(join(scratch, 'gone'), { recursive: true, force: true });
    const result = await t.call(cleanDatasetTool.name, { dataset_id: parent.dataset_id });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/FILE_ERROR.*Pass `model`/s);
  });
});
