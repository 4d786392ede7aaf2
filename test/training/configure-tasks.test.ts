import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { definePlugin, PLUGIN_API_VERSION } from '../../src/plugins/types.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { listBackendsTool } from '../../tools/list-backends.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { localPlugin } from '../../plugins/local/index.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { prepareTestDataset } from './datasets.js';

/** Imports rows through prepare_dataset (the real detection), returning the dataset id. */
async function importRows(t: TestClient, name: string, rows: object[]): Promise<string> {
  mkdirSync(join(t.home, 'data'), { recursive: true });
  const path = join(t.home, 'data', `${name}.jsonl`);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return (await t.callOk(prepareDatasetTool, { path })).dataset_id;
}

const classification = Array.from({ length: 60 }, (_, i) => ({ text: `Order ${i} arrived broken.`, label: i % 2 ? 'complaint' : 'praise' }));

describe('configure_training refuses data the backend cannot train (from its declared tasks)', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('classification data: refused at configure time with what the backend trains and the nearest option', async () => {
    t = await connectTestClient({ plugins: [testBackendPlugin()] });
    const dataset_id = await importRows(t, 'labels', classification);
    const auto = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'fake' });
    expect(errorCode(auto)).toBe('CAPABILITY_UNSUPPORTED');
    const text = resultText(auto);
    expect(text).toMatch(/Backend "fake" cannot train 'classification' data \(ds_\w+\): it trains sft on chat\/completion\/text, dpo on preference\./);
    expect(text).toMatch(/Nearest supported: turn each \{text, label\} row into a completion row .*prepare_dataset/);
    const sft = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'fake', method: 'sft' });
    expect(errorCode(sft)).toBe('CAPABILITY_UNSUPPORTED');
    const triplets = await importRows(t, 'triplets', Array.from({ length: 60 }, (_, i) => ({ anchor: `q${i}`, positive: `good ${i}`, negative: `bad ${i}` })));
    expect(resultText(await t.call('configure_training', { base_model: 'm', dataset_id: triplets, backend: 'fake' }))).toMatch(/preference row \{"prompt": anchor, "chosen": positive/);
  });

  it('the built-in local backend: auto trains a classification head on classification data and an embedding model on triplets; SFT on them is refused naming the method that fits', async () => {
    t = await connectTestClient();
    const dataset_id = await importRows(t, 'labels', classification);
    const auto = await t.callOk(configureTrainingTool, { base_model: 'm', dataset_id, backend: 'local' });
    expect([auto.method, auto.method_reason]).toEqual(['classification', 'auto: 60 classification examples (≥ 50) → classification.']);
    const refused = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'local', method: 'sft' });
    expect(errorCode(refused)).toBe('CAPABILITY_UNSUPPORTED');
    expect(resultText(refused)).toMatch(/Backend "local" cannot train 'classification' data with SFT \(ds_\w+\): it trains sft on chat\/completion\/text\/preference, dpo on preference, classification on classification, embedding on triplet\/pair\/scored_pair\.[\s\S]*Nearest supported: method "classification" on backend "local"/);
    const triplets = await importRows(t, 'triplets', Array.from({ length: 60 }, (_, i) => ({ anchor: `q${i}`, positive: `good ${i}`, negative: `bad ${i}` })));
    expect((await t.callOk(configureTrainingTool, { base_model: 'm', dataset_id: triplets, backend: 'local' })).method).toBe('embedding');
    const wrongData = await t.call('configure_training', { base_model: 'm', dataset_id: triplets, backend: 'local', method: 'classification' });
    expect(errorCode(wrongData)).toBe('CAPABILITY_UNSUPPORTED');
    expect(resultText(wrongData)).toMatch(/Nearest supported: method "embedding" on backend "local"/);
    // QLoRA is built for sft and dpo: a head method with it is refused here, not later at plan time
    const qlora = await t.call('configure_training', { base_model: 'm', dataset_id: triplets, backend: 'local', approach: 'qlora' });
    expect(errorCode(qlora)).toBe('CAPABILITY_UNSUPPORTED');
    expect(resultText(qlora)).toMatch(/does not support approach "qlora" for embedding \(it supports methods sft\/dpo\/classification\/embedding and approaches lora\/full for embedding\)[\s\S]*Nearest supported: approach "lora" on backend "local"/);
    expect((await t.callOk(listBackendsTool, {})).backends.find((b) => b.name === 'local')?.method_approaches).toEqual({ classification: ['lora', 'full'], embedding: ['lora', 'full'] });
  });

  it('method classification on a backend without it: refused at configure time, naming the local backend that trains it', async () => {
    t = await connectTestClient({ plugins: [testBackendPlugin(), localPlugin] });
    const dataset_id = await importRows(t, 'labels', classification);
    const refused = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'fake', method: 'classification' });
    expect(errorCode(refused)).toBe('CAPABILITY_UNSUPPORTED');
    expect(resultText(refused)).toMatch(/Backend "fake" does not support method "classification"[\s\S]*Nearest supported: backend "local" \(classification \+ lora\)/);
    const auto = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'fake' });
    expect(resultText(auto)).toMatch(/Nearest supported: backend "local" \(classification on classification\); or turn each/);
  });

  it('binary-feedback (KTO) data: refused, never trained as SFT with its labels dropped', async () => {
    t = await connectTestClient({ plugins: [testBackendPlugin()] });
    const rows = Array.from({ length: 60 }, (_, i) => ({ messages: [{ role: 'user', content: `Question ${i}?` }, { role: 'assistant', content: `Answer ${i}.` }], label: i % 3 !== 0 }));
    const dataset_id = await importRows(t, 'kto', rows);
    for (const method of ['auto', 'sft'] as const) {
      const refused = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'fake', method });
      expect(errorCode(refused)).toBe('CAPABILITY_UNSUPPORTED');
      expect(resultText(refused)).toMatch(/cannot train 'binary_feedback' data[\s\S]*no enabled backend trains KTO; pair a good and a bad answer/);
    }
  });

  it('names another backend that declares the task, and another method on this one', async () => {
    t = await connectTestClient({
      plugins: [testBackendPlugin(), testBackendPlugin({ name: 'labeller', capabilities: { methods: ['sft'], tasks: { sft: ['chat', 'classification'] } } })],
    });
    const dataset_id = await importRows(t, 'labels', classification);
    const refused = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'fake' });
    expect(resultText(refused)).toMatch(/Nearest supported: backend "labeller" \(sft on classification\); or turn each/);
    const ok = await t.callOk(configureTrainingTool, { base_model: 'm', dataset_id, backend: 'labeller' });
    expect([ok.method, ok.method_reason]).toEqual(['sft', 'auto: 60 classification examples (≥ 50) → SFT.']);
    // SFT on preference rows: "fake" trains them only with DPO.
    const prefs = await prepareTestDataset(t, { rows: 30, task_type: 'preference' });
    const sftOnPrefs = await t.call('configure_training', { base_model: 'm', dataset_id: prefs, backend: 'fake', method: 'sft' });
    expect(errorCode(sftOnPrefs)).toBe('CAPABILITY_UNSUPPORTED');
    expect(resultText(sftOnPrefs)).toMatch(/cannot train 'preference' data with SFT[\s\S]*Nearest supported: method "dpo" on backend "fake"/);
  });

  it('a disabled backend is refused in one clean sentence (no double period)', async () => {
    const keyless = definePlugin({
      meta: { name: 'keyless', version: '1.0.0', api_version: PLUGIN_API_VERSION, description: 'Needs a key.' },
      provides: ['training_backend'],
      capabilities: { training: { methods: ['sft'], approaches: ['full'], resume: false, cancel: true, devices: [], remote: true, inference: false, max_concurrent_jobs: 1 } },
      probe: () => ({ available: false, reason: 'KEYLESS_API_KEY is not set.', fix: 'Set KEYLESS_API_KEY.' }),
      create: () => ({}),
    });
    t = await connectTestClient({ plugins: [testBackendPlugin(), keyless] });
    const refused = await t.call('configure_training', { base_model: 'm', dataset_id: await prepareTestDataset(t, { rows: 60 }), backend: 'keyless' });
    expect(errorCode(refused)).toBe('PLUGIN_UNAVAILABLE');
    expect(resultText(refused)).toMatch(/Backend 'keyless' is disabled: KEYLESS_API_KEY is not set\. Enabled backends: fake\./);
    expect(resultText(refused)).not.toMatch(/\.\./);
  });
});
