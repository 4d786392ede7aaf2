import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiPlugin } from '../../plugins/openai/index.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import type { RemoteTrainingBackend } from '../../src/plugins/providers.js';
import { createRemoteJobRunner } from '../../src/plugins/remote-jobs.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { FakeOpenAI } from './fake-openai.js';
import { asRemote, chatRows, makeSpec, preferenceRows, RecordingSink, RemoteRun } from './support.js';

const FAST = { poll_interval_ms: 5, max_poll_interval_ms: 20, max_retries: 2 };

describe('openai plugin against a local fake of the OpenAI API', () => {
  let fake: FakeOpenAI;
  let baseURL: string;
  let client: TestClient;
  let backend: RemoteTrainingBackend;

  beforeAll(async () => {
    fake = new FakeOpenAI();
    baseURL = await fake.start();
    client = await connectTestClient({
      plugins: [openaiPlugin],
      env: { OPENAI_API_KEY: fake.apiKey, OPENAI_BASE_URL: baseURL },
      config: { plugins: { openai: FAST } },
    });
    backend = asRemote(await client.services.plugins.get('training_backend', 'openai'));
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
    const run = new RemoteRun(backend, spec);
    const remoteId = await run.submit();
    const end = await run.pollUntil();

    const job = fake.jobs.get(remoteId)!;
    expect(job.method).toEqual({ type: 'supervised', supervised: { hyperparameters: { n_epochs: 3, batch_size: 4, learning_rate_multiplier: 1.8 } } });
    expect(job.metadata).toEqual({ finetune_mcp_job_id: 'job_test0001', finetune_mcp_config_id: 'cfg_test0001' });
    expect(job.seed).toBe(42);
    const uploaded = fake.files.get(job.training_file)!;
    expect(uploaded.purpose).toBe('fine-tune');
    const lines = uploaded.content.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(lines[0]).toEqual(chatRows(1)[0]);
    expect(fake.files.get(job.validation_file!)!.content.trim().split('\n')).toHaveLength(3);
    // The uploaded file ids are kept in the persisted state (what migrate and a support request need).
    expect(run.ctx.state).toMatchObject({ training_file: job.training_file, validation_file: job.validation_file });

    // OpenAI's unknown word is passed on for the host to report; its queue is our queue.
    expect(run.statuses).toEqual(['queued', 'running', 'some_future_status', 'running', 'succeeded']);
    expect(run.events.some((e) => e.type === 'remote_warning' && e.level === 'warning' && e.message === 'a warning from upstream')).toBe(true);
    expect(run.series('loss')).toEqual([[1, 2.1], [2, 1.5], [3, 1.2]]);
    expect(run.polls.filter((p) => p.total_steps !== undefined).map((p) => [p.step, p.total_steps])[0]).toEqual([2, 3]);
    expect(end).toMatchObject({ step: 3, total_steps: 3 });
    expect(run.series('eval_loss')).toEqual([[2, 1.7], [3, 1.3]]);
    expect(run.series('full_eval_loss')).toEqual([[3, 1.25]]);
    expect(run.series('train_mean_token_accuracy')).toEqual([[1, 0.4], [2, 0.5]]);
    expect(run.checkpoints).toEqual([
      { step: 3, model_ref: `openai:ft:gpt-4o-mini-2024-07-18:org-test::${job.id}:ckpt-step-3`, metrics: expect.objectContaining({ full_valid_loss: 1.25 }) },
    ]);
    expect(end.result).toEqual({
      model_ref: `openai:ft:gpt-4o-mini-2024-07-18:org-test::${job.id}`,
      meta: expect.objectContaining({ provider: 'openai', base_model: 'gpt-4o-mini-2024-07-18', trained_tokens: 12_345 }),
    });
    expect(end.message).toMatch(/12345 tokens trained/);
    expect(end.events?.map((e) => e.message)).toContain('The job has successfully completed');
    // Events came in pages of 3 (has_more/after) and none was imported twice.
    const remoteEventIds = run.events.map((e) => e.data?.remote_event_id).filter(Boolean);
    expect(new Set(remoteEventIds).size).toBe(remoteEventIds.length);
    expect(remoteEventIds.length).toBeGreaterThan(3);
    expect(fake.http.requests.some((r) => r.path.endsWith('/events') && r.query.get('after'))).toBe(true);
  });

  it('sends DPO pairs as input / preferred_output / non_preferred_output with beta', async () => {
    fake.script = [{ status: 'queued' }, { status: 'succeeded' }];
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4.1-mini-2025-04-14', method: 'dpo', rows: preferenceRows(10), hyperparameters: { dpo_beta: 0.2, epochs: 2 }, backend_options: { wandb_project: 'prefs' } });
    const run = new RemoteRun(backend, spec);
    const job = fake.jobs.get(await run.submit())!;
    expect(job.method).toEqual({ type: 'dpo', dpo: { hyperparameters: { n_epochs: 2, batch_size: 4, beta: 0.2 } } });
    const created = JSON.parse(fake.http.requests.filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs').at(-1)!.body.toString('utf8'));
    expect(created.integrations).toEqual([{ type: 'wandb', wandb: { project: 'prefs', name: 'job_test0001', tags: ['finetune-mcp'] } }]);
    const first = JSON.parse(fake.files.get(job.training_file)!.content.split('\n')[0]);
    expect(first).toEqual({
      input: { messages: [{ role: 'user', content: 'Say hello politely, take 0.' }] },
      preferred_output: [{ role: 'assistant', content: 'Hello, and good day to you (0).' }],
      non_preferred_output: [{ role: 'assistant', content: 'hi 0' }],
    });
    expect((await run.pollUntil()).status).toBe('succeeded');
  });

  it('retries a 429 with backoff and then succeeds', async () => {
    fake.script = [{ status: 'succeeded' }];
    fake.http.fail({ method: 'POST', path: /\/fine_tuning\/jobs$/, times: 2, reply: { status: 429, body: { error: { message: 'Rate limit reached' } }, headers: { 'retry-after-ms': '5' } } });
    const before = fake.http.count('POST', /\/fine_tuning\/jobs$/);
    const run = new RemoteRun(backend, makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }));
    await run.submit();
    expect(fake.http.count('POST', /\/fine_tuning\/jobs$/) - before).toBe(3);
    expect((await run.pollUntil()).status).toBe('succeeded');
  });

  it('reports RATE_LIMITED with the request id once retries run out, and deletes the uploaded file', async () => {
    fake.http.fail({ method: 'POST', path: /\/fine_tuning\/jobs$/, times: 3, reply: { status: 429, body: { error: { message: 'Rate limit reached' } }, headers: { 'retry-after-ms': '1' } } });
    const filesBefore = fake.files.size;
    const error = await new RemoteRun(backend, makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) })).submit().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    expect((error as Error).message).toMatch(/request id req_\d+/);
    const created = [...fake.files.values()].slice(filesBefore);
    expect(created).toHaveLength(1);
    expect(created.every((f) => f.deleted)).toBe(true);
  });

  it('reports UPSTREAM_ERROR after retrying 5xx', async () => {
    fake.http.fail({ method: 'POST', path: /\/fine_tuning\/jobs$/, times: 3, reply: { status: 503, body: { error: { message: 'The server is overloaded' } }, headers: { 'retry-after-ms': '1' } } });
    const error = await new RemoteRun(backend, makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) })).submit().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR' });
  });

  it('turns a 400 file error into DATASET_INVALID at the dataset row it came from', async () => {
    fake.rejectLine = (line) => line.includes('Question 4:');
    try {
      const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) });
      // A blank line in the source shifts source lines against the converted file's.
      writeFileSync(spec.dataset.train_path, `\n${readFileSync(spec.dataset.train_path, 'utf8')}`);
      const error = await new RemoteRun(backend, spec).submit().catch((e: unknown) => e);
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
    const run = new RemoteRun(backend, makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }));
    await run.submit();
    const failed = await run.pollUntil();
    expect(failed.status).toBe('failed');
    expect(failed.error_code).toBe('DATASET_INVALID');
    expect(failed.message).toBe('invalid_training_file (training_file): The file has 3 examples with too many tokens.');
    expect(failed.result).toBeUndefined();
  });

  it('cancels, idempotently', async () => {
    fake.script = [{ status: 'queued' }, ...Array.from({ length: 1000 }, () => ({ status: 'running' }))];
    const run = new RemoteRun(backend, makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }));
    const remoteId = await run.submit();
    await run.pollUntil(['running']);
    await backend.cancel(remoteId, run.ctx);
    expect((await run.poll()).status).toBe('cancelled');
    await backend.cancel(remoteId, run.ctx);
    expect(run.statuses).toEqual(['running', 'cancelled']);
    expect(fake.http.count('POST', new RegExp(`${remoteId}/cancel$`))).toBe(1);
  });

  it('re-attaches after a restart without importing anything twice', async () => {
    fake.script = [
      { status: 'running', events: [{ message: 's1', type: 'metrics', data: { step: 1, train_loss: 3 } }] },
      ...Array.from({ length: 3 }, () => ({ status: 'running' })),
      { status: 'running', events: [{ message: 's2', type: 'metrics', data: { step: 2, train_loss: 2 } }], checkpoints: [{ step: 2, metrics: { step: 2, train_loss: 2 } }] },
      { status: 'succeeded' },
    ];
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) });
    const first = new RemoteRun(backend, spec);
    const remoteId = await first.submit();
    await first.pollUntil(['running']);
    expect(first.series('loss')).toEqual([[1, 3]]);
    // What the host persisted (remote id and ctx.state as JSON) is all a new server process has.
    const persisted = JSON.parse(JSON.stringify({ remote_id: remoteId, state: first.ctx.state }));

    // A new server process: a fresh plugin instance, same workspace files.
    const restarted = await connectTestClient({ plugins: [openaiPlugin], env: { OPENAI_API_KEY: fake.apiKey, OPENAI_BASE_URL: baseURL }, config: { plugins: { openai: FAST } } });
    try {
      const second = new RemoteRun(asRemote(await restarted.services.plugins.get('training_backend', 'openai')), spec, persisted);
      expect((await second.pollUntil()).status).toBe('succeeded');
      expect(second.series('loss')).toEqual([[2, 2]]);
      expect(second.checkpoints.map((c) => c.step)).toEqual([2]);
      expect(second.events.map((e) => e.data?.remote_event_id)).not.toContain(first.events[0]?.data?.remote_event_id);
    } finally {
      await restarted.close();
    }
  });

  it('through the host’s job loop: statuses, unknown status, events, metrics, checkpoint, model, cancel and re-attach', async () => {
    fake.script = [
      { status: 'queued' },
      { status: 'running', events: [{ message: 'Step 1/4: training loss=2.00', type: 'metrics', data: { step: 1, train_loss: 2, total_steps: 4 } }, { message: 'slow node', level: 'warn' }] },
      { status: 'some_future_status' },
      { status: 'running', events: [{ message: 'Step 2/4', type: 'metrics', data: { step: 2, train_loss: 1.5, total_steps: 4 } }], checkpoints: [{ step: 2, metrics: { step: 2, train_loss: 1.5, valid_loss: 1.6 } }] },
      ...Array.from({ length: 5 }, () => ({ status: 'running' })),
      { status: 'running', events: [{ message: 'Step 4/4', type: 'metrics', data: { step: 4, train_loss: 1.1, total_steps: 4 } }] },
      { status: 'succeeded' },
    ];
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini-2024-07-18', rows: chatRows(10) });
    const logger = createSilentLogger();
    const first = new RecordingSink();
    const handle = await createRemoteJobRunner(backend, { name: 'openai', logger }).start(spec, first);
    while (first.series('loss').length < 2) await new Promise((r) => setTimeout(r, 5));
    handle.detach();
    await handle.followed;

    // A new server process: a fresh plugin instance follows the same job from the job folder's record.
    const restarted = await connectTestClient({ plugins: [openaiPlugin], env: { OPENAI_API_KEY: fake.apiKey, OPENAI_BASE_URL: baseURL }, config: { plugins: { openai: FAST } } });
    try {
      const again = asRemote(await restarted.services.plugins.get('training_backend', 'openai'));
      const second = new RecordingSink();
      await (await createRemoteJobRunner(again, { name: 'openai', logger }).attach(handle.remote_id, spec, second)).followed;
      const sinks = [first, second];
      expect(sinks.flatMap((s) => s.states)).toEqual(['preparing', 'running', 'succeeded']);
      expect(sinks.flatMap((s) => s.series('loss'))).toEqual([[1, 2], [2, 1.5], [4, 1.1]]);
      expect(sinks.flatMap((s) => s.series('eval_loss'))).toEqual([[2, 1.6]]);
      expect(sinks.flatMap((s) => s.checkpoints)).toEqual([{ step: 2, path: `openai:ft:gpt-4o-mini-2024-07-18:org-test::${handle.remote_id}:ckpt-step-2`, metrics: { step: 2, train_loss: 1.5, valid_loss: 1.6 } }]);
      expect(first.events.filter((e) => e.type === 'progress').map((e) => e.data)).toEqual([{ step: 1, total_steps: 4 }]);
      expect(first.events.filter((e) => e.type === 'remote_status_unknown').map((e) => e.data)).toEqual([{ remote_status: 'some_future_status' }]);
      expect(first.events.find((e) => e.type === 'remote_warning')).toMatchObject({ message: 'slow node', data: { level: 'warning' } });
      const eventIds = sinks.flatMap((s) => s.events.map((e) => e.data?.remote_event_id).filter(Boolean));
      expect(new Set(eventIds).size).toBe(eventIds.length);
      expect(second.artifacts).toEqual([expect.objectContaining({ kind: 'remote_model', uri: `openai:ft:gpt-4o-mini-2024-07-18:org-test::${handle.remote_id}` })]);
      expect(second.calls.slice(-2)).toEqual(['artifact', 'status']);
    } finally {
      await restarted.close();
    }

    fake.script = [{ status: 'queued' }, ...Array.from({ length: 1000 }, () => ({ status: 'running' }))];
    const sink = new RecordingSink();
    const running = await createRemoteJobRunner(backend, { name: 'openai', logger }).start(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }), sink);
    await sink.waitFor('running');
    await running.cancel();
    await running.followed;
    await running.cancel();
    expect(sink.states.at(-1)).toBe('cancelled');
    expect(fake.http.count('POST', new RegExp(`${running.remote_id}/cancel$`))).toBe(1);
  });

  it('refuses a wrong key with AUTH_INVALID', async () => {
    const wrong = await connectTestClient({ plugins: [openaiPlugin], env: { OPENAI_API_KEY: 'sk-wrong', OPENAI_BASE_URL: baseURL }, config: { plugins: { openai: FAST } } });
    try {
      const b = asRemote(await wrong.services.plugins.get('training_backend', 'openai'));
      const error = await new RemoteRun(b, makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) })).submit().catch((e: unknown) => e);
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

  it('validates and quotes without writing into the workspace', async () => {
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) });
    await backend.validate!(spec);
    expect(await backend.quote!(spec, { tokens: 0, seconds: 0, device: 'openai-hosted', calibrate: true })).toMatchObject({ billed_tokens: expect.any(Number), basis: expect.stringMatching(/^3 epochs × \d+ tokens \(10 examples/) });
    expect(readdirSync(spec.output_dir)).toEqual([]);
  });
});
