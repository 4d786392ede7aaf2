import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenAIJobHandle } from '../../plugins/openai/backend.js';
import { openaiPlugin } from '../../plugins/openai/index.js';
import type { TrainingBackend } from '../../src/plugins/providers.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { FakeOpenAI } from './fake-openai.js';
import { chatRows, makeSpec, preferenceRows, RecordingSink } from './support.js';

const FAST = { poll_interval_ms: 5, max_poll_interval_ms: 20, max_retries: 2 };

describe('openai plugin against a local fake of the OpenAI API', () => {
  let fake: FakeOpenAI;
  let baseURL: string;
  let client: TestClient;
  let backend: TrainingBackend;

  beforeAll(async () => {
    fake = new FakeOpenAI();
    baseURL = await fake.start();
    client = await connectTestClient({
      plugins: [openaiPlugin],
      env: { OPENAI_API_KEY: fake.apiKey, OPENAI_BASE_URL: baseURL },
      config: { plugins: { openai: FAST } },
    });
    backend = await client.services.plugins.get('training_backend', 'openai');
  });
  afterAll(async () => {
    await client.close();
    await fake.stop();
  });

  it('is disabled without a key, saying why and how to fix it', async () => {
    const bare = await connectTestClient({ plugins: [openaiPlugin], env: {} });
    try {
      const info = await bare.callOk(serverInfoTool);
      const openai = info.plugins.find((p) => p.name === 'openai')!;
      expect(openai.status).toBe('disabled');
      expect(openai.reason).toMatch(/OPENAI_API_KEY/);
      expect(openai.fix).toMatch(/OPENAI_API_KEY/);
    } finally {
      await bare.close();
    }
  });

  it('shows OpenAI’s deprecation date in server_info', async () => {
    const compact = (await client.callOk(serverInfoTool)).plugins.find((p) => p.name === 'openai')!;
    expect(compact.notice).toMatch(/2027-01-06/);
    const info = await client.callOk(serverInfoTool, { detail: true });
    const openai = info.plugins.find((p) => p.name === 'openai')!;
    expect(openai.status).toBe('enabled');
    expect(openai.capabilities!.deprecation).toMatchObject({ no_new_jobs_after: '2027-01-06' });
  });

  it('runs an SFT job end to end: upload, create, statuses, events, metrics, checkpoints, model', async () => {
    fake.script = [
      { status: 'validating_files', events: [{ message: 'Validating training file' }] },
      { status: 'queued' },
      {
        status: 'running',
        events: [
          { message: 'Step 1/3: training loss=2.10', type: 'metrics', data: { step: 1, train_loss: 2.1, train_mean_token_accuracy: 0.4, total_steps: 3 } },
          { message: 'Step 2/3: training loss=1.50', type: 'metrics', data: { step: 2, train_loss: 1.5, valid_loss: 1.7, train_mean_token_accuracy: 0.5, total_steps: 3 } },
          { message: 'a warning from upstream', level: 'warn' },
        ],
      },
      { status: 'some_future_status' },
      {
        status: 'running',
        events: [{ message: 'Step 3/3: training loss=1.20', type: 'metrics', data: { step: 3, train_loss: 1.2, total_steps: 3 } }],
        checkpoints: [{ step: 3, metrics: { step: 3, train_loss: 1.2, valid_loss: 1.3, full_valid_loss: 1.25, full_valid_mean_token_accuracy: 0.61 } }],
      },
      { status: 'succeeded', events: [{ message: 'The job has successfully completed' }] },
    ];
    const spec = makeSpec({
      backend: 'openai',
      base_model: 'gpt-4o-mini-2024-07-18',
      rows: chatRows(12),
      validation: chatRows(3),
      backend_options: { suffix: 'capitals', learning_rate_multiplier: 1.8 },
    });
    const sink = new RecordingSink();
    const handle = (await backend.start(spec, sink)) as OpenAIJobHandle;
    await handle.followed;

    const job = fake.jobs.get(handle.remote_id)!;
    expect(job.method).toEqual({ type: 'supervised', supervised: { hyperparameters: { n_epochs: 3, batch_size: 4, learning_rate_multiplier: 1.8 } } });
    expect(job.metadata).toEqual({ finetune_mcp_job_id: 'job_test0001', finetune_mcp_config_id: 'cfg_test0001' });
    expect(job.seed).toBe(42);
    const uploaded = fake.files.get(job.training_file)!;
    expect(uploaded.purpose).toBe('fine-tune');
    const lines = uploaded.content.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(lines[0]).toEqual(chatRows(1)[0]);
    expect(fake.files.get(job.validation_file!)!.content.trim().split('\n')).toHaveLength(3);

    expect(sink.states).toEqual(['preparing', 'running', 'succeeded']);
    expect(sink.events.some((e) => e.type === 'remote_status_unknown' && e.message.includes('some_future_status'))).toBe(true);
    expect(sink.events.some((e) => e.type === 'remote_warning' && e.message === 'a warning from upstream')).toBe(true);
    expect(sink.series('loss')).toEqual([[1, 2.1], [2, 1.5], [3, 1.2]]);
    expect(sink.events.filter((e) => e.type === 'progress').map((e) => e.data)).toEqual([{ step: 1, total_steps: 3 }]);
    expect(sink.series('eval_loss')).toEqual([[2, 1.7], [3, 1.3]]);
    expect(sink.series('full_eval_loss')).toEqual([[3, 1.25]]);
    expect(sink.series('train_mean_token_accuracy')).toEqual([[1, 0.4], [2, 0.5]]);
    expect(sink.checkpoints).toEqual([
      { step: 3, path: `openai:ft:gpt-4o-mini-2024-07-18:org-test::${job.id}:ckpt-step-3`, metrics: expect.objectContaining({ full_valid_loss: 1.25 }) },
    ]);
    expect(sink.artifacts).toEqual([expect.objectContaining({ kind: 'remote_model', uri: `openai:ft:gpt-4o-mini-2024-07-18:org-test::${job.id}` })]);
    // Events came in pages of 3 (has_more/after) and none was imported twice.
    const remoteEventIds = sink.events.map((e) => e.data?.remote_event_id).filter(Boolean);
    expect(new Set(remoteEventIds).size).toBe(remoteEventIds.length);
    expect(fake.http.requests.some((r) => r.path.endsWith('/events') && r.query.get('after'))).toBe(true);
  });

  it('sends DPO pairs as input / preferred_output / non_preferred_output with beta', async () => {
    fake.script = [{ status: 'queued' }, { status: 'succeeded' }];
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4.1-mini-2025-04-14', method: 'dpo', rows: preferenceRows(10), hyperparameters: { dpo_beta: 0.2, epochs: 2 }, backend_options: { wandb_project: 'prefs' } });
    const sink = new RecordingSink();
    const handle = (await backend.start(spec, sink)) as OpenAIJobHandle;
    await handle.followed;
    const job = fake.jobs.get(handle.remote_id)!;
    expect(job.method).toEqual({ type: 'dpo', dpo: { hyperparameters: { n_epochs: 2, batch_size: 4, beta: 0.2 } } });
    const created = JSON.parse(fake.http.requests.filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs').at(-1)!.body.toString('utf8'));
    expect(created.integrations).toEqual([{ type: 'wandb', wandb: { project: 'prefs', name: 'job_test0001', tags: ['finetune-mcp'] } }]);
    const first = JSON.parse(fake.files.get(job.training_file)!.content.split('\n')[0]);
    expect(first).toEqual({
      input: { messages: [{ role: 'user', content: 'Say hello politely, take 0.' }] },
      preferred_output: [{ role: 'assistant', content: 'Hello, and good day to you (0).' }],
      non_preferred_output: [{ role: 'assistant', content: 'hi 0' }],
    });
    expect(sink.states.at(-1)).toBe('succeeded');
  });

  it('retries a 429 with backoff and then succeeds', async () => {
    fake.script = [{ status: 'succeeded' }];
    fake.http.fail({ method: 'POST', path: /\/fine_tuning\/jobs$/, times: 2, reply: { status: 429, body: { error: { message: 'Rate limit reached' } }, headers: { 'retry-after-ms': '5' } } });
    const before = fake.http.count('POST', /\/fine_tuning\/jobs$/);
    const sink = new RecordingSink();
    const handle = (await backend.start(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }), sink)) as OpenAIJobHandle;
    await handle.followed;
    expect(fake.http.count('POST', /\/fine_tuning\/jobs$/) - before).toBe(3);
    expect(sink.states.at(-1)).toBe('succeeded');
  });

  it('reports RATE_LIMITED with the request id once retries run out, and deletes the uploaded file', async () => {
    fake.http.fail({ method: 'POST', path: /\/fine_tuning\/jobs$/, times: 3, reply: { status: 429, body: { error: { message: 'Rate limit reached' } }, headers: { 'retry-after-ms': '1' } } });
    const filesBefore = fake.files.size;
    const error = await backend.start(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }), new RecordingSink()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    expect((error as Error).message).toMatch(/request id req_\d+/);
    const created = [...fake.files.values()].slice(filesBefore);
    expect(created).toHaveLength(1);
    expect(created.every((f) => f.deleted)).toBe(true);
  });

  it('reports UPSTREAM_ERROR after retrying 5xx', async () => {
    fake.http.fail({ method: 'POST', path: /\/fine_tuning\/jobs$/, times: 3, reply: { status: 503, body: { error: { message: 'The server is overloaded' } }, headers: { 'retry-after-ms': '1' } } });
    const error = await backend.start(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }), new RecordingSink()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR' });
  });

  it('turns a 400 file error into DATASET_INVALID at the dataset row it came from', async () => {
    fake.rejectLine = (line) => line.includes('Question 4:');
    try {
      const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) });
      // A blank line in the source shifts source lines against the converted file's.
      writeFileSync(spec.dataset.train_path, `\n${readFileSync(spec.dataset.train_path, 'utf8')}`);
      const error = await backend.start(spec, new RecordingSink()).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'DATASET_INVALID', details: { file: spec.dataset.train_path, line: 6, converted_line: 5 } });
      expect((error as Error).message).toMatch(/Line 5.*train\.jsonl line 6/s);
    } finally {
      fake.rejectLine = undefined;
    }
  });

  it('maps a failed job’s error {code, message, param} to our code', async () => {
    fake.script = [
      { status: 'validating_files' },
      { status: 'failed', error: { code: 'invalid_training_file', message: 'The file has 3 examples with too many tokens.', param: 'training_file' } },
    ];
    const sink = new RecordingSink();
    const handle = (await backend.start(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }), sink)) as OpenAIJobHandle;
    await handle.followed;
    const failed = sink.statuses.at(-1)!;
    expect(failed.state).toBe('failed');
    expect(failed.detail?.error_code).toBe('DATASET_INVALID');
    expect(failed.detail?.message).toMatch(/invalid_training_file.*too many tokens/);
  });

  it('cancels, idempotently', async () => {
    fake.script = [{ status: 'queued' }, ...Array.from({ length: 1000 }, () => ({ status: 'running' }))];
    const sink = new RecordingSink();
    const handle = (await backend.start(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }), sink)) as OpenAIJobHandle;
    await sink.waitFor('running');
    await handle.cancel();
    await handle.followed;
    await handle.cancel();
    expect(sink.states.at(-1)).toBe('cancelled');
    expect(fake.http.count('POST', new RegExp(`${handle.remote_id}/cancel$`))).toBe(1);
  });

  it('pauses and resumes where OpenAI offers it', async () => {
    fake.script = [{ status: 'running' }, ...Array.from({ length: 1000 }, () => ({ status: 'running' }))];
    const sink = new RecordingSink();
    const handle = (await backend.start(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }), sink)) as OpenAIJobHandle;
    await handle.pause();
    expect(fake.jobs.get(handle.remote_id)!.status).toBe('paused');
    await handle.resume();
    await handle.cancel();
    await handle.followed;
    expect(sink.events.map((e) => e.type)).toEqual(expect.arrayContaining(['pause_requested', 'resume_requested', 'cancel_requested']));
  });

  it('re-attaches after a restart without importing anything twice', async () => {
    fake.script = [
      { status: 'running', events: [{ message: 's1', type: 'metrics', data: { step: 1, train_loss: 3 } }] },
      ...Array.from({ length: 30 }, () => ({ status: 'running' })),
      { status: 'running', events: [{ message: 's2', type: 'metrics', data: { step: 2, train_loss: 2 } }] },
      { status: 'succeeded' },
    ];
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) });
    const first = new RecordingSink();
    const handle = (await backend.start(spec, first)) as OpenAIJobHandle;
    await first.waitFor('running');
    while (first.series('loss').length === 0) await new Promise((r) => setTimeout(r, 5));
    handle.detach();
    await handle.followed;

    // A new server process: a fresh plugin instance, same workspace files.
    const restarted = await connectTestClient({ plugins: [openaiPlugin], env: { OPENAI_API_KEY: fake.apiKey, OPENAI_BASE_URL: baseURL }, config: { plugins: { openai: FAST } } });
    try {
      const again = await restarted.services.plugins.get('training_backend', 'openai');
      const second = new RecordingSink();
      const attached = (await again.attach!(handle.remote_id, spec, second)) as OpenAIJobHandle;
      await attached.followed;
      expect(first.series('loss')).toEqual([[1, 3]]);
      expect(second.series('loss')).toEqual([[2, 2]]);
      expect(second.states.at(-1)).toBe('succeeded');
    } finally {
      await restarted.close();
    }
  });

  it('refuses a wrong key with AUTH_INVALID', async () => {
    const wrong = await connectTestClient({ plugins: [openaiPlugin], env: { OPENAI_API_KEY: 'sk-wrong', OPENAI_BASE_URL: baseURL }, config: { plugins: { openai: FAST } } });
    try {
      const b = await wrong.services.plugins.get('training_backend', 'openai');
      const error = await b.start(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }), new RecordingSink()).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'AUTH_INVALID' });
      expect((error as Error).message).toMatch(/request id/);
    } finally {
      await wrong.close();
    }
  });

  it('generates through chat completions as the plugin’s inference provider', async () => {
    const inference = await client.services.plugins.get('inference', 'openai');
    const result = await inference.generate({ model: 'ft:gpt-4o-mini-2024-07-18:org-test::x', messages: [{ role: 'user', content: 'ping' }], max_tokens: 8 });
    expect(result.text).toBe('ft:gpt-4o-mini-2024-07-18:org-test::x says: ping');
    expect(result.usage).toEqual({ prompt_tokens: 7, completion_tokens: 5 });
    expect(result.request_id).toMatch(/^req_/);
    const sent = JSON.parse(fake.http.requests.at(-1)!.body.toString('utf8'));
    expect(sent).toMatchObject({ model: 'ft:gpt-4o-mini-2024-07-18:org-test::x', max_completion_tokens: 8 });
  });

  it('validates and estimates without writing into the workspace', async () => {
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) });
    await backend.validate(spec);
    expect(await backend.quote!(spec, { tokens: 0, seconds: 0, device: 'openai-hosted', calibrate: true })).toMatchObject({ billed_tokens: expect.any(Number), basis: expect.stringMatching(/^3 epochs × \d+ tokens \(10 examples/) });
    expect(readdirSync(spec.output_dir)).toEqual([]);
  });
});
