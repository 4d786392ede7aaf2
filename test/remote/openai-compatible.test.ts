import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiCompatiblePlugin } from '../../plugins/openai-compatible/index.js';
import { cancelTrainingTool } from '../../tools/cancel-training.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { listBackendsTool } from '../../tools/list-backends.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { connectTestClient, resultText, type TestClient } from '../helpers/mcp.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FAILING_SCRIPT, FakeOpenAI, trainingScript } from './fake-openai.js';

const MODEL = 'meta-llama/Meta-Llama-3.1-8B-Instruct';
const PRICE = { usd_per_million_training_tokens: 0.4, as_of: '2026-11', source: 'https://tokenfactory.nebius.com/pricing (example figure for this test)' };

/** A Nebius-like provider: its own key variable, LoRA fields, top-level hyperparameters, one priced model. */
function section(baseURL: string, extra: Record<string, unknown> = {}) {
  return {
    base_url: baseURL,
    api_key_env: 'NEBIUS_API_KEY',
    max_retries: 1,
    fine_tuning: { provider: 'Nebius Token Factory', models: [MODEL, { name: 'Qwen/Qwen3-32B', token_limit: 8192 }], prices: { [MODEL]: PRICE }, lora: true, poll_interval_ms: 10, max_poll_interval_ms: 40 },
    ...extra,
  };
}

describe('openai-compatible without a usable fine_tuning setup', () => {
  it('lists the training backend as disabled, says why and how to fix it, and refuses to configure it', async () => {
    const cases = [
      { config: { base_url: 'http://127.0.0.1:9/v1' }, env: {}, reason: /no fine_tuning section/, fix: /plugins\.openai-compatible\.fine_tuning/ },
      { config: section('http://127.0.0.1:9/v1'), env: {}, reason: /no API key.*NEBIUS_API_KEY/, fix: /Set NEBIUS_API_KEY/ },
    ];
    for (const c of cases) {
      const t = await connectTestClient({ plugins: [openaiCompatiblePlugin], env: c.env, config: { plugins: { 'openai-compatible': c.config } } });
      try {
        const info = (await t.callOk(serverInfoTool)).plugins.find((p) => p.name === 'openai-compatible')!;
        // Inference still works: the plugin is enabled, only its training backend is withheld.
        expect(info).toMatchObject({ status: 'enabled', provides: ['inference'], unavailable: [{ kind: 'training_backend', reason: expect.stringMatching(c.reason), fix: expect.stringMatching(c.fix) }] });
        expect(info.unavailable![0]!.reason).toMatch(/^Fine-tuning is disabled, because /);
        const { backends } = await t.callOk(listBackendsTool);
        expect(backends.find((b) => b.name === 'openai-compatible')).toMatchObject({ status: 'disabled', reason: expect.stringMatching(c.reason), fix: expect.stringMatching(c.fix) });
        const dataset_id = await prepareTestDataset(t, { rows: 12 });
        const refused = await t.call(configureTrainingTool.name, { base_model: MODEL, dataset_id, backend: 'openai-compatible', approach: 'lora', template: 'smoke' });
        expect(refused.isError).toBe(true);
        expect(resultText(refused)).toMatch(c.fix);
      } finally {
        await t.close();
      }
    }
  });
});

describe('openai-compatible fine-tuning through the MCP tools, against a local fake of the files + fine_tuning jobs API', () => {
  let fake: FakeOpenAI;
  let baseURL: string;
  let t: TestClient;
  let dataset_id: string;

  beforeAll(async () => {
    fake = new FakeOpenAI('nb-test-key');
    baseURL = await fake.start();
    t = await connectTestClient({ plugins: [openaiCompatiblePlugin], env: { NEBIUS_API_KEY: fake.apiKey }, config: { plugins: { 'openai-compatible': section(baseURL) } } });
    dataset_id = await prepareTestDataset(t, { rows: 24 });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
  });

  async function start(client: TestClient, options: { base_model?: string; backend_options?: Record<string, unknown> } = {}) {
    const config = await client.callOk(configureTrainingTool, {
      base_model: options.base_model ?? MODEL,
      dataset_id: client === t ? dataset_id : await prepareTestDataset(client, { rows: 24 }),
      backend: 'openai-compatible',
      method: 'sft',
      approach: 'lora',
      template: 'smoke',
      backend_options: { learning_rate_multiplier: 2, ...options.backend_options },
    });
    const plan = await client.callOk(planTrainingTool, { config_id: config.config_id, detail: true });
    expect(plan.verdict, plan.reasons.join(' ')).toBe('go');
    return { plan, job: await client.callOk(startTrainingTool, { plan_id: plan.plan_id }) };
  }

  async function until(client: TestClient, job_id: string, done: (status: string) => boolean) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = await client.callOk(monitorTrainingTool, { job_id, wait_s: 0.1 });
      if (done(m.status)) return m;
      if (Date.now() > deadline) throw new Error(`job ${job_id} still ${m.status}`);
    }
  }
  const ended = (s: string) => ['succeeded', 'failed', 'cancelled'].includes(s);
  const lastCreate = () => JSON.parse(fake.http.requests.filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs').at(-1)!.body.toString('utf8'));

  it('prices the plan from the dated table, trains with LoRA fields in top-level hyperparameters, and reports steps, loss and the model', async () => {
    fake.stepMs = undefined;
    fake.scriptFor = () => trainingScript(12);
    const { plan, job } = await start(t, { backend_options: { hyperparameters: { warmup_ratio: 0.1 }, suffix: 'walk' } });
    expect(JSON.stringify(plan.estimate_detail)).toContain(`Nebius Token Factory price for '${MODEL}', as of 2026-11, from https://tokenfactory.nebius.com/pricing`);
    expect(plan.estimate.cost_usd).toBeGreaterThan(0);
    const end = await until(t, job.job_id, ended);
    expect(end.status, `${end.error_code} ${end.error_message}`).toBe('succeeded');
    expect(end.step).toBe(12);
    expect(end.metrics.loss).toEqual({ step: 12, value: expect.closeTo(2 / 2.1, 6) });
    const remote = [...fake.jobs.values()].at(-1)!;
    expect(end.artifacts).toContainEqual(expect.objectContaining({ uri: `openai-compatible:ft:${MODEL}:org-test::${remote.id}` }));
    const body = lastCreate();
    expect(body).toMatchObject({
      model: MODEL,
      suffix: 'walk',
      metadata: { finetune_mcp_job_id: job.job_id },
      hyperparameters: { n_epochs: expect.any(Number), batch_size: expect.any(Number), learning_rate_multiplier: 2, lora: true, lora_r: expect.any(Number), lora_alpha: expect.any(Number), lora_dropout: expect.any(Number), warmup_ratio: 0.1 },
    });
    expect(body.method).toBeUndefined();
    expect(fake.files.get(body.training_file)!.purpose).toBe('fine-tune');
    expect(fake.http.requests.at(-1)!.headers.authorization).toBe('Bearer nb-test-key');
  });

  it('refuses a model outside the configured list before anything is uploaded, naming the list and the config key', async () => {
    const before = fake.http.requests.length;
    const config = await t.callOk(configureTrainingTool, { base_model: 'mistralai/Mistral-7B-v0.1', dataset_id, backend: 'openai-compatible', method: 'sft', approach: 'full', template: 'smoke' });
    const plan = await t.callOk(planTrainingTool, { config_id: config.config_id });
    expect(plan.verdict).toBe('no_go');
    expect(plan.reasons[0]).toMatch(/^\[MODEL_UNKNOWN\].*not one of the fine-tunable models configured for Nebius Token Factory \(meta-llama\/Meta-Llama-3\.1-8B-Instruct, Qwen\/Qwen3-32B\).*plugins\.openai-compatible\.fine_tuning\.models/);
    expect(fake.http.requests.length).toBe(before);
  });

  it('cancel_training cancels a running job upstream; a second cancel is harmless', async () => {
    fake.stepMs = 50;
    fake.scriptFor = () => trainingScript(400);
    const { job } = await start(t);
    await until(t, job.job_id, (s) => s === 'running' || ended(s));
    const cancelled = await t.callOk(cancelTrainingTool, { job_id: job.job_id });
    expect(cancelled.status).toBe('cancelled');
    expect((await t.callOk(cancelTrainingTool, { job_id: job.job_id })).status).toBe('cancelled');
    expect([...fake.jobs.values()].at(-1)!.status).toBe('cancelled');
    expect(fake.http.count('POST', /\/fine_tuning\/jobs\/[^/]+\/cancel$/)).toBe(1);
    fake.stepMs = undefined;
  });

  it('waits out a 429 as its Retry-After says, and retries a 5xx, then succeeds', async () => {
    fake.scriptFor = () => trainingScript(2);
    fake.http.fail({ method: 'POST', path: /^\/v1\/fine_tuning\/jobs$/, times: 1, reply: { status: 429, body: { error: { message: 'Rate limit reached for fine-tuning jobs' } }, headers: { 'retry-after': '1' } } });
    fake.http.fail({ method: 'POST', path: /^\/v1\/files$/, times: 1, reply: { status: 503, body: { error: { message: 'upstream busy' } } } });
    const creates = fake.http.count('POST', /^\/v1\/fine_tuning\/jobs$/);
    const { job } = await start(t);
    const end = await until(t, job.job_id, ended);
    expect(end.status, `${end.error_code} ${end.error_message}`).toBe('succeeded');
    const posts = fake.http.requests.filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs').slice(creates);
    expect(posts).toHaveLength(2);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('ends the job RATE_LIMITED or UPSTREAM_ERROR with the request id once retries run out, deleting what it uploaded', async () => {
    for (const [status, code] of [
      [429, 'RATE_LIMITED'],
      [500, 'UPSTREAM_ERROR'],
    ] as const) {
      fake.http.fail({ method: 'POST', path: /^\/v1\/fine_tuning\/jobs$/, times: 2, reply: { status, body: { error: { message: `refused with ${status}` } }, headers: { 'retry-after-ms': '1' } } });
      const deletes = fake.http.count('DELETE', /^\/v1\/files\//);
      const { job } = await start(t);
      const end = await until(t, job.job_id, ended);
      expect([end.status, end.error_code]).toEqual(['failed', code]);
      expect(end.error_message).toMatch(/req_\d+/);
      expect(end.error_message).toMatch(/Nebius Token Factory/);
      expect(fake.http.count('DELETE', /^\/v1\/files\//) - deletes).toBe(1);
    }
  });

  it('maps a validation error body on upload to DATASET_INVALID at the dataset line', async () => {
    fake.rejectLine = (line) => line.includes('Question number 2?');
    try {
      const { job } = await start(t);
      const end = await until(t, job.job_id, ended);
      expect([end.status, end.error_code]).toEqual(['failed', 'DATASET_INVALID']);
      expect(end.error_message).toMatch(/Invalid file format\. Line \d+/);
    } finally {
      fake.rejectLine = undefined;
    }
  });

  it('ends a job that fails upstream with the provider’s error mapped to our code', async () => {
    fake.scriptFor = () => FAILING_SCRIPT;
    const { job } = await start(t);
    const end = await until(t, job.job_id, ended);
    expect([end.status, end.error_code]).toEqual(['failed', 'DATASET_INVALID']);
    expect(end.error_message).toMatch(/invalid_training_file \(training_file\): The training file has an invalid format on line 3/);
    expect(end.recovery).toBeTruthy();
  });

  it('a wrong key ends the job AUTH_INVALID, naming the provider', async () => {
    const wrong = await connectTestClient({ plugins: [openaiCompatiblePlugin], env: { NEBIUS_API_KEY: 'nb-wrong' }, config: { plugins: { 'openai-compatible': section(baseURL) } } });
    try {
      const { job } = await start(wrong);
      const end = await until(wrong, job.job_id, ended);
      expect([end.status, end.error_code]).toEqual(['failed', 'AUTH_INVALID']);
      expect(end.error_message).toMatch(/Nebius Token Factory/);
      expect(end.recovery).toBeTruthy();
    } finally {
      await wrong.close();
    }
  });
});
