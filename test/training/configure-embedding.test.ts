import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';

/**
 * configure_training on embedding data (local backend): auto picks embedding for pairs and scored
 * pairs as for triplets, and an embedding_loss the rows cannot feed (cosine without scores, the
 * triplet loss without negatives, MultipleNegativesRanking on scored pairs) is refused before any
 * job starts, naming the loss that fits.
 */
const rows = {
  triplet: Array.from({ length: 60 }, (_, i) => ({ anchor: `query ${i}`, positive: `passage ${i}`, negative: `other passage ${i}` })),
  pair: Array.from({ length: 60 }, (_, i) => ({ anchor: `query ${i}`, positive: `passage ${i}` })),
  scored_pair: Array.from({ length: 60 }, (_, i) => ({ sentence1: `sentence ${i}`, sentence2: `paraphrase ${i}`, score: (i % 5) / 4 })),
};

let t: TestClient;
const ids: Record<string, string> = {};
beforeAll(async () => {
  t = await connectTestClient();
  mkdirSync(join(t.home, 'data'), { recursive: true });
  for (const [name, list] of Object.entries(rows)) {
    const path = join(t.home, 'data', `${name}.jsonl`);
    writeFileSync(path, list.map((r) => JSON.stringify(r)).join('\n') + '\n');
    ids[name] = (await t.callOk(prepareDatasetTool, { path })).dataset_id;
  }
});
afterAll(async () => t?.close());

const configure = (dataset: string, extra: Record<string, unknown> = {}) => t.call('configure_training', { base_model: 'm', dataset_id: ids[dataset], backend: 'local', ...extra });

describe('configure_training with embedding data', () => {
  it('auto chooses embedding on pairs and scored pairs, as on triplets', async () => {
    for (const task of ['pair', 'scored_pair', 'triplet']) {
      const out = await t.callOk(configureTrainingTool, { base_model: 'm', dataset_id: ids[task]!, backend: 'local' });
      expect([out.method, out.method_reason]).toEqual(['embedding', `auto: 60 ${task} examples (≥ 50) → embedding.`]);
      expect(out.hyperparameters.embedding_loss).toBeUndefined();
    }
  });

  it('stores a loss the rows can feed: triplet or mnrl on triplets, mnrl on pairs, cosine on scored pairs', async () => {
    for (const [task, loss] of [
      ['triplet', 'triplet'],
      ['triplet', 'mnrl'],
      ['pair', 'mnrl'],
      ['scored_pair', 'cosine'],
    ] as const) {
      const out = await t.callOk(configureTrainingTool, { base_model: 'm', dataset_id: ids[task]!, backend: 'local', method: 'embedding', overrides: { embedding_loss: loss } });
      expect(out.hyperparameters.embedding_loss).toBe(loss);
    }
  });

  it('refuses a loss the rows cannot feed, naming the nearest one that fits', async () => {
    const cases = [
      ['triplet', 'cosine', /embedding_loss "cosine" \(cosine-similarity\) trains on \{sentence1, sentence2, score\} scored pairs; this dataset is 'triplet'[\s\S]*Nearest supported: embedding_loss "mnrl" \(MultipleNegativesRanking\) on these rows \(or "triplet"\)/],
      ['pair', 'triplet', /embedding_loss "triplet" \(triplet margin\) trains on \{anchor, positive, negative\} triplets; this dataset is 'pair'[\s\S]*Nearest supported: embedding_loss "mnrl"/],
      ['pair', 'cosine', /this dataset is 'pair'[\s\S]*Nearest supported: embedding_loss "mnrl"/],
      ['scored_pair', 'mnrl', /embedding_loss "mnrl" \(MultipleNegativesRanking\) trains on \{anchor, positive\} pairs or \{anchor, positive, negative\} triplets; this dataset is 'scored_pair'[\s\S]*Nearest supported: embedding_loss "cosine"/],
      ['scored_pair', 'triplet', /Nearest supported: embedding_loss "cosine"/],
    ] as const;
    for (const [task, loss, message] of cases) {
      for (const method of ['embedding', 'auto']) {
        const refused = await configure(task, { method, overrides: { embedding_loss: loss } });
        expect(errorCode(refused), `${loss} on ${task} (${method})`).toBe('CONFIG_INVALID');
        expect(resultText(refused)).toMatch(message);
      }
    }
  });

  it('refuses an unknown loss by the schema, and notes a loss set for another method', async () => {
    const unknown = await configure('pair', { method: 'embedding', overrides: { embedding_loss: 'contrastive' } });
    expect(unknown.isError).toBe(true);
    expect(resultText(unknown)).toMatch(/embedding_loss/);
    const chat = join(t.home, 'data', 'chat.jsonl');
    writeFileSync(chat, Array.from({ length: 60 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] })).join('\n') + '\n');
    const sft = await t.callOk(configureTrainingTool, { base_model: 'm', dataset_id: (await t.callOk(prepareDatasetTool, { path: chat })).dataset_id, backend: 'local', overrides: { embedding_loss: 'cosine' } });
    expect(sft.method).toBe('sft');
    expect(sft.notes).toContain('embedding_loss applies to method embedding only; sft ignores it.');
  });

  it('classification or SFT on pairs is refused, naming method embedding', async () => {
    for (const method of ['classification', 'sft']) {
      const refused = await configure('pair', { method });
      expect(errorCode(refused)).toBe('CAPABILITY_UNSUPPORTED');
      expect(resultText(refused)).toMatch(/cannot train 'pair' data[\s\S]*Nearest supported: method "embedding" on backend "local"/);
    }
  });
});
