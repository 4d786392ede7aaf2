import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { toFinetuneError } from '../../src/errors.js';
import { CatalogueFileSchema } from '../../src/models/catalogue-schema.js';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { importModelTool } from '../../tools/import-model.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { recommendBaseModelTool } from '../../tools/recommend-base-model.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { startFakeHub, type FakeHub } from './fake-hub.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const STORIES = new URL('../../assets/demo/moon-stories.jsonl', import.meta.url).pathname;
const SHIPPED = JSON.parse(readFileSync(new URL('../../assets/catalogue/base-models.json', import.meta.url), 'utf8'));

/** A config catalogue entry for the tiny stories260K model, served by the fake Hub under this repo id. */
const STORIES_ENTRY = {
  id: 'karpathy/stories260K',
  family: 'llama2.c stories',
  tasks: ['completion'],
  parameters: { value: 260_032, source: 'https://huggingface.co/karpathy/tinyllamas' },
  context_length: { value: 512, source: 'https://huggingface.co/karpathy/tinyllamas' },
  languages: { value: { named: ['en'] }, source: 'https://huggingface.co/karpathy/tinyllamas' },
  licence: { id: 'MIT', name: 'MIT License', commercial: 'yes', url: 'https://opensource.org/license/mit', source: 'https://github.com/karpathy/llama2.c' },
  chat_template: null,
  tokenizer: { value: 'SentencePiece, 512 tokens', source: 'https://github.com/karpathy/llama2.c' },
  architecture: { value: 'LlamaForCausalLM', source: 'https://github.com/karpathy/llama2.c' },
  shape: null,
};

let work: string;
let hub: FakeHub;
let t: TestClient | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ftm-recommend-'));
  const folder = join(work, 'hf');
  convertLlama2c({ checkpoint: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin'), out_dir: folder });
  const files = Object.fromEntries(readdirSync(folder).map((f) => [f, readFileSync(join(folder, f))]));
  hub = await startFakeHub({ 'karpathy/stories260K': { files, lfs: ['model.safetensors'] } });
});
afterAll(async () => {
  await hub?.close();
  rmSync(work, { recursive: true, force: true });
});
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('the shipped catalogue', () => {
  it('is dated, passes its schema, holds at least 25 models with every non-null fact sourced by a URL', () => {
    const catalogue = CatalogueFileSchema.parse(SHIPPED);
    expect(catalogue.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(catalogue.models.length).toBeGreaterThanOrEqual(25);
    expect(new Set(catalogue.models.map((m) => m.id)).size).toBe(catalogue.models.length);
    for (const task of ['chat', 'embedding', 'classification'] as const) expect(catalogue.models.some((m) => m.tasks.includes(task))).toBe(true);
    for (const m of catalogue.models) {
      for (const key of ['parameters', 'context_length', 'languages', 'chat_template', 'tokenizer', 'architecture', 'shape'] as const) {
        const fact = m[key];
        if (fact) expect(fact.source, `${m.id} ${key}`).toMatch(/^https:\/\//);
      }
      expect(m.licence.url).toMatch(/^https:\/\//);
    }
  });
});

describe('recommend_base_model', () => {
  it('ranks only models that satisfy every constraint, each fact with its source, and says why the top one wins', async () => {
    t = await connectTestClient();
    const out = await t.callOk(recommendBaseModelTool, { task: 'chat', languages: ['de'], licence: 'commercial', max_params: 8e9, hardware: '1x24GB', limit: 50 });
    expect(out.candidates.length).toBe(out.candidates_total);
    expect(out.candidates.length).toBeGreaterThan(3);
    for (const c of out.candidates) {
      expect(c.facts.parameters!.value).toBeLessThanOrEqual(8e9);
      expect(c.facts.licence.commercial).not.toBe('no');
      expect(c.facts.languages!.value.named).toContain('de');
      expect(c.memory.fits).toMatchObject({ serving: true });
      expect(c.memory.fits!.training).not.toBeNull();
      for (const fact of [c.facts.parameters, c.facts.languages, c.facts.licence]) expect(fact!.source).toMatch(/^https:\/\/huggingface\.co\/|^https:\/\/qwenlm/);
    }
    // The scores are in order, and why_top names the first two and what separates them.
    expect(out.candidates.map((c) => c.score)).toEqual([...out.candidates.map((c) => c.score)].sort((a, b) => b - a));
    expect(out.why_top).toContain(out.candidates[0].id);
    expect(out.why_top).toContain(out.candidates[1].id);
    // Every catalogue model is either a candidate or excluded with the constraints it failed, counted by constraint.
    expect(out.candidates_total + out.excluded.total).toBe(out.catalogue.entries);
    const failures = out.excluded.models.flatMap((m) => m.failed.map((f) => f.split(':')[0]));
    for (const [constraint, n] of Object.entries(out.excluded.by_constraint)) expect(failures.filter((f) => f === constraint).length).toBe(n);
    const excluded = (id: string) => out.excluded.models.find((m) => m.id === id)?.failed.join('; ');
    expect(excluded('Qwen/Qwen2.5-3B-Instruct')).toMatch(/licence: qwen-research: no commercial use/);
    expect(excluded('meta-llama/Llama-3.1-8B-Instruct')).toMatch(/max_params: 8\.03B parameters > 8B/);
    expect(excluded('google/gemma-2-9b-it')).toMatch(/languages: the source does not name de/);
    expect(excluded('BAAI/bge-m3')).toMatch(/task: a base for embedding, not chat/);
    expect(excluded('mistralai/Mistral-7B-Instruct-v0.3')).toMatch(/languages: languages not verified/);
    expect(out.notes.join(' ')).toMatch(/not estimated: pass dataset_id .* and backend/);
  });

  it('excludes on hardware: training must fit one GPU even with QLoRA, serving all of them', async () => {
    t = await connectTestClient();
    const small = await t.callOk(recommendBaseModelTool, { task: 'chat', hardware: '1x8GB', limit: 50 });
    expect(small.constraints.hardware).toEqual({ text: '1x8GB', gpus: 1, memory_gb_per_gpu: 8 });
    expect(small.excluded.models.find((m) => m.id === 'meta-llama/Llama-3.3-70B-Instruct')?.failed.join()).toMatch(/hardware: training needs .* GB even with QLoRA/);
    for (const c of small.candidates) expect(c.memory.training_qlora_gb).toBeLessThanOrEqual(8 * 0.9);
    const named = await t.callOk(recommendBaseModelTool, { task: 'chat', hardware: '2xA100-80GB', limit: 50 });
    expect(named.constraints.hardware).toMatchObject({ gpus: 2, memory_gb_per_gpu: 80, device: 'A100-80GB' });
    expect(named.candidates.map((c) => c.id)).toContain('meta-llama/Llama-3.3-70B-Instruct'); // QLoRA on one, served over two
  });

  it('refuses an unparseable hardware string, an unknown task and an unknown backend, naming the field', async () => {
    t = await connectTestClient();
    const hardware = await t.call('recommend_base_model', { task: 'chat', hardware: 'a big GPU' });
    expect(hardware.isError).toBe(true);
    expect(errorCode(hardware)).toBe('INVALID_INPUT');
    expect(resultText(hardware)).toMatch(/hardware 'a big GPU'.*\n.*"1x24GB"/);
    const task = await t.call('recommend_base_model', { task: 'poetry' });
    expect(task.isError).toBe(true);
    expect(resultText(task)).toMatch(/task/);
    expect(resultText(task)).toMatch(/chat/);
    const backend = await t.call('recommend_base_model', { task: 'chat', backend: 'nowhere' });
    expect(errorCode(backend)).toBe('INVALID_INPUT');
    expect(resultText(backend)).toMatch(/backend 'nowhere' is not an enabled training backend\. Enabled: .*local/);
  });

  it('a catalogue entry in config that fails the schema stops start-up with the key and its source', () => {
    const bad = { ...STORIES_ENTRY, licence: { ...STORIES_ENTRY.licence, commercial: 'maybe' } };
    const error = (() => {
      try {
        loadConfig({ env: {}, overrides: { models: { catalogue: [bad as never] } } });
      } catch (e) {
        return toFinetuneError(e);
      }
      throw new Error('loadConfig accepted a bad catalogue entry');
    })();
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/'models\.catalogue\.0\.licence\.commercial' \(from overrides given in code\) is invalid/);
  });

  it('budget_usd excludes what Together\'s list price puts over it (offline: no upload without calibrate)', async () => {
    t = await connectTestClient({ config: { allowed_roots: [STORIES] }, env: { TOGETHER_API_KEY: 'test-key-not-used-offline' } });
    const dataset = await t.callOk(prepareDatasetTool, { path: STORIES, name: 'moon-stories' });
    const all = await t.callOk(recommendBaseModelTool, { task: 'chat', dataset_id: dataset.dataset_id, backend: 'together', limit: 50 });
    const costs = all.candidates.map((c) => c.training_estimate!.cost_usd).sort((a, b) => a - b);
    expect(costs[0]).toBeGreaterThan(0);
    expect(all.candidates[0].training_estimate!.formula).toMatch(/Together list price/);
    const budget = costs[Math.floor(costs.length / 2)];
    const within = await t.callOk(recommendBaseModelTool, { task: 'chat', dataset_id: dataset.dataset_id, backend: 'together', budget_usd: budget, limit: 50 });
    expect(within.excluded.by_constraint.budget_usd).toBe(costs.filter((c) => c > budget).length);
    expect(within.excluded.by_constraint.budget_usd).toBeGreaterThan(0);
    for (const c of within.candidates) expect(c.training_estimate!.cost_usd).toBeLessThanOrEqual(budget);
    expect(within.excluded.models.find((m) => m.failed.some((f) => f.startsWith('budget_usd: estimated $')))).toBeDefined();
    const unchecked = await t.callOk(recommendBaseModelTool, { task: 'chat', budget_usd: 1 });
    expect(unchecked.notes.join(' ')).toMatch(/budget_usd not checked: it needs the cost estimate \(dataset_id and backend\)/);
  });

  it('with a config entry, dataset_id and backend: measures tokens with the imported tokenizer and estimates time and cost', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work, STORIES], models: { hub_url: hub.url, catalogue: [STORIES_ENTRY as never] } } });
    const dataset = await t.callOk(prepareDatasetTool, { path: STORIES, name: 'moon-stories' });
    const before = await t.callOk(recommendBaseModelTool, { task: 'completion', dataset_id: dataset.dataset_id, backend: 'local', languages: ['en'], max_params: 1e9 });
    expect(before.catalogue.from_config).toEqual(['karpathy/stories260K']);
    const stories = () => before.candidates.find((c) => c.id === 'karpathy/stories260K')!;
    expect(stories().tokens_per_example).toEqual({ measured: false, why: expect.stringMatching(/import_model \{source: "karpathy\/stories260K"\}/) });
    expect(stories().training_estimate).toMatchObject({ backend: 'local', approach: 'lora', device: 'cpu' });
    expect(stories().training_estimate!.seconds).toBeGreaterThan(0);

    await t.callOk(importModelTool, { source: 'karpathy/stories260K' });
    const after = await t.callOk(recommendBaseModelTool, { task: 'completion', dataset_id: dataset.dataset_id, backend: 'local', languages: ['en'], max_params: 1e9 });
    const measured = after.candidates.find((c) => c.id === 'karpathy/stories260K')!.tokens_per_example;
    expect(measured).toMatchObject({ measured: true, tokenizer: expect.stringMatching(/karpathy\/stories260K/) });
    if (!measured.measured) throw new Error('not measured');
    expect(measured.rows).toBeGreaterThan(0);
    expect(measured.mean).toBeGreaterThan(10); // a story continuation is tens of tokens with a 512-token vocabulary
    expect(after.candidates.find((c) => c.id === 'karpathy/stories260K')!.reasons.join(' ')).toMatch(/tokens per example on your data/);
  });

  it('measures with a model imported from a folder under the repo id as its name, the same counts as the Hub import', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work, STORIES], models: { catalogue: [STORIES_ENTRY as never] } } });
    const dataset = await t.callOk(prepareDatasetTool, { path: STORIES, name: 'moon-stories' });
    await t.callOk(importModelTool, { source: join(work, 'hf'), name: 'karpathy/stories260K' });
    const out = await t.callOk(recommendBaseModelTool, { task: 'completion', dataset_id: dataset.dataset_id, languages: ['en'], max_params: 1e9 });
    const measured = out.candidates.find((c) => c.id === 'karpathy/stories260K')!.tokens_per_example;
    expect(measured).toMatchObject({ measured: true, rows: 200 });
    // Models without an imported tokenizer are not measured, and say how to measure them.
    const other = out.candidates.find((c) => c.id !== 'karpathy/stories260K')!.tokens_per_example;
    expect(other).toMatchObject({ measured: false, why: expect.stringMatching(/or a local copy with name:/) });
  });
});
