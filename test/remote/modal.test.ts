import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modalPlugin } from '../../plugins/modal/index.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import type { RemoteTrainingBackend } from '../../src/plugins/providers.js';
import { createRemoteJobRunner } from '../../src/plugins/remote-jobs.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { FakeModal } from './fake-modal.js';
import { asRemote, chatRows, makeSpec, preferenceRows, RecordingSink, RemoteRun } from './support.js';

const FAST = { poll_interval_ms: 5, max_poll_interval_ms: 20, max_retries: 2 };
const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
/** The fake app runs on the clock (a step per 10 ms): poll a few ms apart. */
const CLOCK = { waitMs: 3 };

/** Tensor names and shapes from a safetensors file's header. */
function safetensorsHeader(path: string): Record<string, { dtype: string; shape: number[] }> {
  const bytes = readFileSync(path);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<string, { dtype: string; shape: number[] }>;
  delete header.__metadata__;
  return header;
}

describe('modal plugin against a local fake of the finetune-mcp Modal app', () => {
  let fake: FakeModal;
  let url: string;
  let client: TestClient;
  let backend: RemoteTrainingBackend;

  beforeAll(async () => {
    fake = new FakeModal();
    url = await fake.start();
    client = await connectTestClient({
      plugins: [modalPlugin],
      env: { MODAL_ENDPOINT_URL: url, MODAL_TOKEN_ID: fake.tokenId, MODAL_TOKEN_SECRET: fake.tokenSecret },
      config: { plugins: { modal: FAST } },
    });
    backend = asRemote(await client.services.plugins.get('training_backend', 'modal'));
  });
  afterAll(async () => {
    await client.close();
    await fake.stop();
  });

  it('is disabled without an endpoint or token, naming the fix', async () => {
    const bare = await connectTestClient({ plugins: [modalPlugin], env: { MODAL_ENDPOINT_URL: url } });
    try {
      const info = await bare.callOk(serverInfoTool);
      expect(info.plugins[0]).toMatchObject({ name: 'modal', status: 'disabled', reason: expect.stringMatching(/MODAL_TOKEN_ID/) });
    } finally {
      await bare.close();
    }
    const none = await connectTestClient({ plugins: [modalPlugin], env: {} });
    try {
      const info = await none.callOk(serverInfoTool);
      expect(info.plugins[0]).toMatchObject({ status: 'disabled', fix: expect.stringMatching(/modal deploy/) });
    } finally {
      await none.close();
    }
  });

  it('quotes the host’s time on a GPU at Modal’s hourly price, and an unpriced GPU at 0 saying so', async () => {
    const spec = makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3) });
    const basis = { tokens: 1e6, seconds: 1800, device: 'H100', calibrate: false };
    expect(await backend.quote!(spec, basis)).toEqual({ usd: 3.95 / 2, basis: 'hours × $3.95 per H100-hour (Modal on-demand price)' });
    expect(await backend.quote!(spec, { ...basis, device: 'B200' })).toEqual({ usd: 0, basis: 'No Modal price for B200: counted as 0.' });
  });

  it('runs an SFT LoRA job: submit with proxy auth, events by seq, metrics, checkpoints, PEFT adapter home', async () => {
    const spec = makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(6), validation: chatRows(2) });
    const run = new RemoteRun(backend, spec);
    const remoteId = await run.submit();
    const end = await run.pollUntil(undefined, CLOCK);

    const submit = fake.http.requests.find((r) => r.method === 'POST' && r.path === '/jobs')!;
    expect(submit.headers['modal-key']).toBe(fake.tokenId);
    expect(submit.headers['modal-secret']).toBe(fake.tokenSecret);
    const job = fake.jobs.get(remoteId)!;
    expect(remoteId).toMatch(/^job_test0001-[0-9a-f]{6}$/);
    expect(job.spec.dataset.train_path).toBe(`/runs/${remoteId}/train.jsonl`);
    expect(job.spec.dataset.validation_path).toBe(`/runs/${remoteId}/validation.jsonl`);
    expect(job.spec.config.hyperparameters).toEqual(spec.config.hyperparameters);
    expect(job.train).toBe(readFileSync(spec.dataset.train_path, 'utf8'));

    // The first poll may find the job already running (the fake's clock moves on meanwhile).
    expect(run.statuses.join(' ')).toMatch(/^(queued )?running succeeded$/);
    expect(run.series('loss')).toHaveLength(30);
    expect(run.series('loss')[0]).toEqual([1, 2 / 1.1]);
    expect(run.checkpoints.map((c) => [c.step, c.model_ref])).toEqual([10, 20, 30].map((step) => [step, `modal:${remoteId}/checkpoints/checkpoint-${step}`]));
    expect(end).toMatchObject({ step: 30, total_steps: 30, message: 'Adapter downloaded.' });
    // Pages of events were read with ?after=<last seq>, none twice; status and artifact events are not repeated as log lines.
    expect(fake.http.requests.filter((r) => r.path.endsWith('/events')).some((r) => Number(r.query.get('after')) > 0)).toBe(true);
    const seqs = run.events.map((e) => e.data?.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(run.events.map((e) => e.type)).not.toContain('remote_status');

    const adapterDir = join(spec.output_dir, 'output', 'adapter');
    expect(end.result).toEqual({ model_ref: `modal:${remoteId}`, adapter_dir: adapterDir, meta: { provider: 'modal', remote_id: remoteId, format: 'peft' } });
    expect(JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA', r: 4 });
    const tensors = safetensorsHeader(join(adapterDir, 'adapter_model.safetensors'));
    expect(tensors['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight']).toMatchObject({ dtype: 'F32', shape: [4, 16] });
    expect(tensors['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight']).toMatchObject({ shape: [16, 4] });
    // A second look at the ended job (the host's poll after a restart) keeps the adapter already home.
    const downloads = fake.http.count('GET', /\/adapter\/[^/]+$/);
    expect((await run.poll()).result?.adapter_dir).toBe(adapterDir);
    expect(fake.http.count('GET', /\/adapter\/[^/]+$/)).toBe(downloads);
  });

  it('through the host’s job loop: states, metrics, checkpoints, progress and the adapter in the job folder', async () => {
    const spec = makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(6) });
    const sink = new RecordingSink();
    const handle = await createRemoteJobRunner(backend, { name: 'modal', logger: createSilentLogger() }).start(spec, sink);
    await handle.followed;
    expect(sink.states).toEqual(['preparing', 'running', 'succeeded']);
    expect(sink.series('loss')).toHaveLength(30);
    expect(sink.checkpoints.map((c) => c.step)).toEqual([10, 20, 30]);
    expect(sink.events.find((e) => e.type === 'progress')?.data).toMatchObject({ total_steps: 30 });
    expect(sink.artifacts).toEqual([
      expect.objectContaining({ kind: 'remote_model', uri: `modal:${handle.remote_id}`, meta: expect.objectContaining({ provider: 'modal', format: 'peft' }) }),
      expect.objectContaining({ kind: 'adapter', path: join(spec.output_dir, 'output', 'adapter') }),
    ]);
    expect(JSON.parse(readFileSync(join(spec.output_dir, 'output', 'adapter', 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA' });
  });

  it('sends DPO specs and refuses full fine-tuning', async () => {
    const spec = makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', method: 'dpo', rows: preferenceRows(4) });
    const remoteId = await new RemoteRun(backend, spec).submit();
    expect(fake.jobs.get(remoteId)!.spec.config.method).toBe('dpo');
    const issues = await backend.validate!(makeSpec({ backend: 'modal', base_model: MODEL, approach: 'full', rows: chatRows(3) }));
    expect(issues).toContainEqual(expect.objectContaining({ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'approach' }));
  });

  it('passes a state it does not know on as the app’s word, and follows on to the end', async () => {
    const run = new RemoteRun(backend, makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3) }));
    const remoteId = await run.submit();
    // Before the first poll: the app reports a state of a newer version.
    fake.jobs.get(remoteId)!.state = 'warming_up';
    expect((await run.poll()).status).toBe('warming_up');
    fake.jobs.get(remoteId)!.state = 'running';
    expect((await run.pollUntil(undefined, CLOCK)).status).toBe('succeeded');
    expect(run.statuses).toEqual(['warming_up', 'running', 'succeeded']);
  });

  it('ends a job that fails on the GPU with the trainer’s code', async () => {
    fake.failFor = (spec) => (spec.config.backend_options.simulate === 'oom' ? { at: 3, code: 'OUT_OF_MEMORY', message: 'OutOfMemoryError: CUDA out of memory.' } : undefined);
    try {
      const run = new RemoteRun(backend, makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3), backend_options: { simulate: 'oom' } }));
      await run.submit();
      const failed = await run.pollUntil(undefined, CLOCK);
      expect(failed).toMatchObject({ status: 'failed', error_code: 'OUT_OF_MEMORY', message: 'OutOfMemoryError: CUDA out of memory.' });
      expect(failed.result).toBeUndefined();
      expect(run.series('loss')).toEqual([[1, 2 / 1.1], [2, 2 / 1.2]]);
    } finally {
      fake.failFor = undefined;
    }
  });

  it('cancels idempotently, retries 429/5xx while polling, and maps auth and validation failures', async () => {
    fake.steps = 5000;
    const run = new RemoteRun(backend, makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3) }));
    const remoteId = await run.submit();
    fake.http.fail({ method: 'GET', path: /^\/jobs\/[^/]+$/, times: 1, reply: { status: 429, body: { detail: 'slow down' }, headers: { 'retry-after-ms': '1' } } });
    fake.http.fail({ method: 'GET', path: /^\/jobs\/[^/]+\/events$/, times: 1, reply: { status: 502, body: 'bad gateway' } });
    await run.pollUntil(['running'], CLOCK);
    await backend.cancel(remoteId, run.ctx);
    expect((await run.poll()).status).toBe('cancelled');
    await backend.cancel(remoteId, run.ctx);
    fake.steps = 30;
    expect(run.statuses.at(-1)).toBe('cancelled');
    expect(fake.jobs.get(remoteId)!.cancelled).toBe(true);
    expect(fake.http.count('POST', new RegExp(`${remoteId}/cancel$`))).toBe(2);

    const wrong = await connectTestClient({ plugins: [modalPlugin], env: { MODAL_ENDPOINT_URL: url, MODAL_TOKEN_ID: 'wk-x', MODAL_TOKEN_SECRET: 'ws-x' }, config: { plugins: { modal: FAST } } });
    try {
      const b = asRemote(await wrong.services.plugins.get('training_backend', 'modal'));
      const error = await new RemoteRun(b, makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3) })).submit().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'AUTH_INVALID' });
      expect((error as Error).message).toMatch(/missing credentials for proxy authorization/);
      await expect(b.poll(remoteId, run.ctx)).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    } finally {
      await wrong.close();
    }
    const bad = makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3) });
    (bad.config as { method: string }).method = 'ppo';
    await expect(new RemoteRun(backend, bad).submit()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('config.method') });
  });

  it('re-reads only events after the persisted seq when a new process takes the job over', async () => {
    const spec = makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3) });
    const first = new RemoteRun(backend, spec);
    const remoteId = await first.submit();
    while (first.series('loss').length < 3) await first.pollUntil(['running', 'succeeded'], CLOCK);
    const persisted = JSON.parse(JSON.stringify({ remote_id: remoteId, state: first.ctx.state }));
    const restarted = await connectTestClient({ plugins: [modalPlugin], env: { MODAL_ENDPOINT_URL: url, MODAL_TOKEN_ID: fake.tokenId, MODAL_TOKEN_SECRET: fake.tokenSecret }, config: { plugins: { modal: FAST } } });
    try {
      const second = new RemoteRun(asRemote(await restarted.services.plugins.get('training_backend', 'modal')), spec, persisted);
      expect((await second.pollUntil(undefined, CLOCK)).status).toBe('succeeded');
      const steps = [...first.series('loss'), ...second.series('loss')].map(([step]) => step);
      expect(steps).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    } finally {
      await restarted.close();
    }
  });
});
