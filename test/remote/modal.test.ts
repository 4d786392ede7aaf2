import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModalJobHandle } from '../../plugins/modal/backend.js';
import { modalPlugin } from '../../plugins/modal/index.js';
import type { TrainingBackend } from '../../src/plugins/providers.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { FakeModal } from './fake-modal.js';
import { chatRows, makeSpec, preferenceRows, RecordingSink } from './support.js';

const FAST = { poll_interval_ms: 5, max_poll_interval_ms: 20, max_retries: 2 };
const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';

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
  let backend: TrainingBackend;

  beforeAll(async () => {
    fake = new FakeModal();
    url = await fake.start();
    client = await connectTestClient({
      plugins: [modalPlugin],
      env: { MODAL_ENDPOINT_URL: url, MODAL_TOKEN_ID: fake.tokenId, MODAL_TOKEN_SECRET: fake.tokenSecret },
      config: { plugins: { modal: FAST } },
    });
    backend = await client.services.plugins.get('training_backend', 'modal');
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

  it('runs an SFT LoRA job: submit with proxy auth, events by seq, metrics, checkpoints, PEFT adapter home', async () => {
    const spec = makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(6), validation: chatRows(2) });
    const sink = new RecordingSink();
    const handle = (await backend.start(spec, sink)) as ModalJobHandle;
    await handle.followed;

    const submit = fake.http.requests.find((r) => r.method === 'POST' && r.path === '/jobs')!;
    expect(submit.headers['modal-key']).toBe(fake.tokenId);
    expect(submit.headers['modal-secret']).toBe(fake.tokenSecret);
    const job = fake.jobs.get(handle.remote_id)!;
    expect(handle.remote_id).toMatch(/^job_test0001-[0-9a-f]{6}$/);
    expect(job.spec.dataset.train_path).toBe(`/runs/${handle.remote_id}/train.jsonl`);
    expect(job.spec.config.hyperparameters).toEqual(spec.config.hyperparameters);
    expect(job.train).toBe(readFileSync(spec.dataset.train_path, 'utf8'));

    expect(sink.states).toEqual(['preparing', 'running', 'succeeded']);
    expect(sink.series('loss')).toHaveLength(30);
    expect(sink.series('loss')[0]).toEqual([1, 2 / 1.1]);
    expect(sink.checkpoints.map((c) => c.step)).toEqual([10, 20, 30]);
    expect(sink.events.find((e) => e.type === 'progress')?.data).toMatchObject({ total_steps: 30 });
    // Pages of 4 events were read with ?after=<last seq>, none twice.
    expect(fake.http.requests.filter((r) => r.path.endsWith('/events')).some((r) => Number(r.query.get('after')) > 0)).toBe(true);

    const adapterDir = join(spec.output_dir, 'output', 'adapter');
    expect(sink.artifacts).toEqual([expect.objectContaining({ kind: 'adapter', path: adapterDir })]);
    expect(JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA', r: 4 });
    const tensors = safetensorsHeader(join(adapterDir, 'adapter_model.safetensors'));
    expect(tensors['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight']).toMatchObject({ dtype: 'F32', shape: [4, 16] });
    expect(tensors['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight']).toMatchObject({ shape: [16, 4] });
  });

  it('sends DPO specs and refuses full fine-tuning', async () => {
    const spec = makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', method: 'dpo', rows: preferenceRows(4) });
    const handle = (await backend.start(spec, new RecordingSink())) as ModalJobHandle;
    handle.detach();
    expect(fake.jobs.get(handle.remote_id)!.spec.config.method).toBe('dpo');
    const issues = await backend.validate(makeSpec({ backend: 'modal', base_model: MODEL, approach: 'full', rows: chatRows(3) }));
    expect(issues).toContainEqual(expect.objectContaining({ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'approach' }));
  });

  it('keeps following through a state it does not know', async () => {
    const sink = new RecordingSink();
    const handle = (await backend.start(makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3) }), sink)) as ModalJobHandle;
    // Before the first poll (timers run after this continuation): the app reports a state of a newer version.
    fake.jobs.get(handle.remote_id)!.state = 'warming_up';
    await handle.followed;
    expect(sink.events.filter((e) => e.type === 'remote_status_unknown').map((e) => e.message)).toEqual([expect.stringContaining('warming_up')]);
    expect(sink.states.at(-1)).toBe('succeeded');
  });

  it('ends a job that fails on the GPU with the trainer’s code', async () => {
    fake.failFor = (spec) => (spec.config.backend_options.simulate === 'oom' ? { at: 3, code: 'OUT_OF_MEMORY', message: 'OutOfMemoryError: CUDA out of memory.' } : undefined);
    try {
      const sink = new RecordingSink();
      const handle = (await backend.start(makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3), backend_options: { simulate: 'oom' } }), sink)) as ModalJobHandle;
      await handle.followed;
      expect(sink.statuses.at(-1)).toMatchObject({ state: 'failed', detail: { error_code: 'OUT_OF_MEMORY', message: expect.stringContaining('CUDA out of memory') } });
      expect(sink.artifacts).toEqual([]);
    } finally {
      fake.failFor = undefined;
    }
  });

  it('cancels idempotently, retries 429/5xx while polling, and maps auth and validation failures', async () => {
    fake.steps = 5000;
    const sink = new RecordingSink();
    const handle = (await backend.start(makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3) }), sink)) as ModalJobHandle;
    fake.http.fail({ method: 'GET', path: /^\/jobs\/[^/]+$/, times: 1, reply: { status: 429, body: { detail: 'slow down' }, headers: { 'retry-after-ms': '1' } } });
    fake.http.fail({ method: 'GET', path: /^\/jobs\/[^/]+\/events$/, times: 1, reply: { status: 502, body: 'bad gateway' } });
    await sink.waitFor('running');
    await handle.cancel();
    await handle.followed;
    await handle.cancel();
    fake.steps = 30;
    expect(sink.states.at(-1)).toBe('cancelled');
    expect(sink.events.filter((e) => e.type === 'poll_retry')).toEqual([]);

    const wrong = await connectTestClient({ plugins: [modalPlugin], env: { MODAL_ENDPOINT_URL: url, MODAL_TOKEN_ID: 'wk-x', MODAL_TOKEN_SECRET: 'ws-x' }, config: { plugins: { modal: FAST } } });
    try {
      const b = await wrong.services.plugins.get('training_backend', 'modal');
      const error = await b.start(makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3) }), new RecordingSink()).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'AUTH_INVALID' });
      expect((error as Error).message).toMatch(/missing credentials for proxy authorization/);
    } finally {
      await wrong.close();
    }
    const bad = makeSpec({ backend: 'modal', base_model: MODEL, approach: 'lora', rows: chatRows(3) });
    (bad.config as { method: string }).method = 'ppo';
    await expect(backend.start(bad, new RecordingSink())).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('config.method') });
  });
});
