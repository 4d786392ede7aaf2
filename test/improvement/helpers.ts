import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { STORIES_260K } from '../trainer/helpers/job-fixtures.js';

/** A LoRA on stories260K that trains in seconds on the local backend. */
export const TINY = { epochs: 1, batch_size: 4, learning_rate: 5e-3, max_seq_length: 128, lora_r: 4, lora_alpha: 8, eval_steps: 0, save_steps: 0, seed: 7 };
export const GATES = [{ metric: 'perplexity', comparator: '<=' as const, threshold: 1e6 }];

export const chat = (q: string, a: string) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });

/** A workspace with the judge configured, the stories260K model, a split chat base set, a base config and an evaluation set. */
export async function loopWorkspace(judgeUrl: string, plugins?: Record<string, Record<string, unknown>>, registryGates: Array<{ metric: string; comparator: '>=' | '<='; threshold: number }> = GATES) {
  const t: TestClient = await connectTestClient({
    config: {
      judge: { base_url: judgeUrl, model: 'judge-1', api_key: 'sk-test-judge', max_tokens: 256, timeout_s: 10, max_retries: 0 },
      evaluation: { gates: registryGates, bootstrap_samples: 0, bootstrap_seed: 1 },
      training: { watch_interval_ms: 50 },
      ...(plugins ? { plugins } : {}),
    },
  });
  const { model } = await t.services.models.import(join(STORIES_260K, 'stories260K.bin'), { tokenizer: join(STORIES_260K, 'tok512.bin') });
  const dir = t.home;
  const basePath = join(dir, 'base.jsonl');
  writeFileSync(basePath, Array.from({ length: 20 }, (_, i) => JSON.stringify(chat(`Tell me story ${i}.`, `Once upon a time there was a cat named Tom ${i}.`))).join('\n') + '\n');
  const base = await t.callOk(prepareDatasetTool, { path: basePath, name: 'base' });
  const split = await t.callOk(splitDatasetTool, { dataset_id: base.dataset_id, train: 0.8, validation: 0.1, test: 0.1, seed: 3 });
  const evalPath = join(dir, 'eval.jsonl');
  writeFileSync(evalPath, Array.from({ length: 4 }, (_, i) => JSON.stringify(chat(`A story about ${i} dogs?`, `One day ${i} dogs went to the park.`))).join('\n') + '\n');
  const evalSet = await t.callOk(prepareDatasetTool, { path: evalPath, name: 'eval' });
  const config = await t.callOk(configureTrainingTool, { base_model: model.id, dataset_id: split.dataset_id, method: 'sft', approach: 'lora', backend: 'local', template: 'smoke', overrides: TINY });
  const prod = join(dir, 'prod.jsonl');
  writeFileSync(prod, '');
  return { t, model_id: model.id, base_dataset_id: split.dataset_id, base_rows: 20, eval_dataset_id: evalSet.dataset_id, config_id: config.config_id, prod };
}

/** Appends production outputs: `good` judged 0.9, `bad` judged 0.1. */
export function appendOutputs(path: string, tag: string, good: number, bad: number): void {
  const rows = [
    ...Array.from({ length: good }, (_, i) => ({ input: `Question ${tag}-${i}?`, output: `GOOD answer ${tag}-${i}.`, span_id: `span-${tag}-g${i}` })),
    ...Array.from({ length: bad }, (_, i) => ({ input: `Question ${tag}-b${i}?`, output: `BAD answer ${tag}-${i}.` })),
  ];
  appendFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

/**
 * The test's client and local servers, closed after each test: set `state.t` to the client, push closers.
 * One per test file (it registers an afterEach).
 */
export function loopLifecycle(): { t: TestClient | undefined; closers: Array<() => Promise<void>> } {
  const state: { t: TestClient | undefined; closers: Array<() => Promise<void>> } = { t: undefined, closers: [] };
  afterEach(async () => {
    await state.t?.close();
    state.t = undefined;
    for (const close of state.closers.splice(0)) await close();
  });
  return state;
}

/** Waits (at most two minutes) for a job to end; returns its status. */
export async function jobEnd(client: TestClient, jobId: string): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = client.services.jobs.get(jobId).status;
    if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(status)) return status;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
