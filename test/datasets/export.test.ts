import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDatasetTool } from '../../tools/export-dataset.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import { validateDatasetTool } from '../../tools/validate-dataset.js';
import { errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { datasetClient, fixture } from './helpers.js';

describe('export_dataset', () => {
  let t: TestClient;
  let out: string;
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'ftm-ds-export-'));
    t = await datasetClient([out]);
  });
  afterAll(async () => {
    await t?.close();
    rmSync(out, { recursive: true, force: true });
  });

  const prepare = async (path: string, format?: string) => (await t.callOk(prepareDatasetTool, { path, ...(format ? { format } : {}) })).dataset_id;
  const hash = (id: string) => t.services.datasets.get(id).manifest.content_hash;

  it('writes the cookbook toy file back as OpenAI chat JSONL, line for line', async () => {
    const id = await prepare(fixture('toy_chat_fine_tuning.jsonl'));
    const path = join(out, 'toy.openai.jsonl');
    const result = await t.callOk(exportDatasetTool, { dataset_id: id, path, format: 'openai_chat' });
    expect(result.rows).toBe(5);
    const written = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const source = readFileSync(fixture('toy_chat_fine_tuning.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(written).toEqual(source);
  });

  it('a folder as path is refused even with overwrite (the fuzzer passed the workspace folder): nothing replaced, no temp left', async () => {
    const id = await prepare(fixture('toy_chat_fine_tuning.jsonl'));
    const before = readdirSync(out).sort();
    for (const target of [out, t.home]) {
      const refused = await t.call('export_dataset', { dataset_id: id, path: target, format: 'sharegpt', overwrite: true });
      expect(errorCode(refused)).toBe('INVALID_INPUT');
      expect(resultText(refused)).toMatch(/is a folder; this tool writes one file[\s\S]*\.jsonl/);
    }
    expect(readdirSync(out).sort()).toEqual(before);
  });

  it('round-trips tool calls (glaive) through openai_chat and sharegpt, Alpaca through alpaca, TweetEval through csv', async () => {
    const glaive = await prepare(fixture('glaive_toolcall_en_demo.head30.json'));
    for (const format of ['openai_chat', 'sharegpt'] as const) {
      const path = join(out, `glaive.${format}.${format === 'sharegpt' ? 'json' : 'jsonl'}`);
      await t.callOk(exportDatasetTool, { dataset_id: glaive, path, format });
      expect(hash(await prepare(path))).toBe(hash(glaive));
    }
    const alpaca = await prepare(fixture('alpaca_en_demo.json'));
    const alpacaPath = join(out, 'alpaca.json');
    await t.callOk(exportDatasetTool, { dataset_id: alpaca, path: alpacaPath, format: 'alpaca' });
    expect(JSON.parse(readFileSync(alpacaPath, 'utf8'))).toHaveLength(999);
    expect(hash(await prepare(alpacaPath))).toBe(hash(alpaca));
    const tweets = await prepare(fixture('tweeteval_emotion_val.csv'));
    const csvPath = join(out, 'tweets.csv');
    await t.callOk(exportDatasetTool, { dataset_id: tweets, path: csvPath, format: 'csv' });
    expect(hash(await prepare(csvPath))).toBe(hash(tweets));
  });

  it('exports preference pairs as OpenAI DPO (valid for gpt-4o-mini) and TRL prompt/chosen/rejected', async () => {
    const dpo = await prepare(fixture('dpo_en_demo.head40.json'));
    const openaiPath = join(out, 'dpo.openai.jsonl');
    await t.callOk(exportDatasetTool, { dataset_id: dpo, path: openaiPath, format: 'openai_dpo' });
    const first = JSON.parse(readFileSync(openaiPath, 'utf8').split('\n')[0]);
    expect(Object.keys(first).sort()).toEqual(['input', 'non_preferred_output', 'preferred_output']);
    const checked = await t.callOk(validateDatasetTool, { path: openaiPath, model: 'gpt-4o-mini' });
    expect(checked.summary).toMatchObject({ format: 'openai_dpo', errors: 0, records: 40 });
    expect(hash(await prepare(openaiPath))).toBe(hash(dpo));
    const trlPath = join(out, 'dpo.trl.jsonl');
    await t.callOk(exportDatasetTool, { dataset_id: dpo, path: trlPath, format: 'trl_preference' });
    expect(hash(await prepare(trlPath))).toBe(hash(dpo));
  });

  it('exports one split, and refuses formats that cannot hold the rows, existing files and paths outside the roots', async () => {
    const tweets = await prepare(fixture('tweeteval_emotion_val.csv'));
    const split = await t.callOk(splitDatasetTool, { dataset_id: tweets, train: 0.8, validation: 0.1, test: 0.1, seed: 1 });
    const path = join(out, 'train.jsonl');
    const result = await t.callOk(exportDatasetTool, { dataset_id: split.dataset_id, path, format: 'jsonl', split: 'train' });
    expect(result.rows).toBe(split.counts.train);
    expect(readFileSync(path, 'utf8')).toBe(readFileSync(t.services.datasets.rowsPath(split.dataset_id, 'train'), 'utf8'));
    expect(errorCode(await t.call('export_dataset', { dataset_id: tweets, path: join(out, 'x.jsonl'), format: 'openai_chat' }))).toBe('INVALID_INPUT');
    expect(existsSync(join(out, 'x.jsonl'))).toBe(false);
    expect(errorCode(await t.call('export_dataset', { dataset_id: split.dataset_id, path, format: 'jsonl', split: 'train' }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('export_dataset', { dataset_id: tweets, path: '/etc/evil.jsonl', format: 'jsonl' }))).toBe('PATH_NOT_ALLOWED');
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
