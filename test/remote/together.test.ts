import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { togetherPlugin } from '../../plugins/together/index.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { isRemoteBackend, type RemoteTrainingBackend } from '../../src/plugins/providers.js';
import { createRemoteJobRunner, type RemoteJobRunner } from '../../src/plugins/remote-jobs.js';
import { listBackendsTool } from '../../tools/list-backends.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { FakeTogether } from './fake-together.js';
import { chatRows, makeSpec, preferenceRows, RecordingSink } from './support.js';

const FAST = { poll_interval_ms: 5, max_poll_interval_ms: 20, max_retries: 2 };
const MODEL = 'meta-llama/Meta-Llama-3.1-8B-Instruct-Reference';

describe('together plugin against a local fake of the Together API', () => {
  let fake: FakeTogether;
  let baseURL: string;
  let client: TestClient;
  let backend: RemoteTrainingBackend;
  /** The host's remote job loop over the plugin, as the job manager runs it. */
  let runner: RemoteJobRunner;

  beforeAll(async () => {
    fake = new FakeTogether();
    baseURL = await fake.start();
    client = await connectTestClient({ plugins: [togetherPlugin], env: { TOGETHER_API_KEY: fake.apiKey, TOGETHER_BASE_URL: baseURL }, config: { plugins: { together: FAST } } });
    ({ backend, runner } = await remoteBackend(client));
  });
  afterAll(async () => {
    await client.close();
    await fake.stop();
  });

  it('is disabled without a key and says how to enable it', async () => {
    const bare = await connectTestClient({ plugins: [togetherPlugin], env: {} });
    try {
      const { backends } = await bare.callOk(listBackendsTool);
      expect(backends[0]).toMatchObject({ name: 'together', status: 'disabled', reason: expect.stringMatching(/TOGETHER_API_KEY/), fix: expect.stringMatching(/TOGETHER_API_KEY/) });
    } finally {
      await bare.close();
    }
  });

  it('runs a LoRA SFT job: upload, create body, statuses, events, checkpoints, model', async () => {
    fake.script = [
      { status: 'pending', events: [{ message: 'Fine tune request created', type: 'job_pending' }] },
      { status: 'queued' },
      {
        status: 'running',
        events: [{ message: 'Training started', type: 'training_start' }, { message: 'Epoch completed, at step 24', type: 'epoch_complete', step: 24, total_steps: 48 }],
        metrics: [
          { timestamp: 1, 'train/global_step': 1, 'train/epoch': 0.04, 'train/loss': 2.4, 'train/learning_rate': 0.0002, 'train/grad_norm': 1.2 },
          { timestamp: 2, 'train/global_step': 24, 'train/epoch': 1, 'train/loss': 1.6, 'train/learning_rate': 0.0002 },
          { timestamp: 3, 'eval/global_step': 24, 'eval/loss': 1.9 },
        ],
      },
      { status: 'a_new_status' },
      { status: 'running', checkpoints: [{ step: 24, path: 'user/model-ckpt-24' }] },
      {
        status: 'uploading',
        events: [{ message: 'Epoch completed, at step 48', type: 'epoch_complete', step: 48, total_steps: 48 }],
        metrics: [{ timestamp: 4, 'train/global_step': 48, 'train/loss': 1.1 }, { timestamp: 5, 'eval/global_step': 48, 'eval/loss': 1.5 }],
      },
      { status: 'completed', events: [{ message: 'Job finished', type: 'job_complete' }] },
    ];
    const spec = makeSpec({
      backend: 'together',
      base_model: MODEL,
      approach: 'lora',
      rows: chatRows(8),
      validation: chatRows(2),
      hyperparameters: { epochs: 2, lr_scheduler: 'constant', target_modules: ['q_proj', 'v_proj'] },
      backend_options: { suffix: 'caps', n_checkpoints: 2 },
    });
    const sink = new RecordingSink();
    const handle = await runner.start(spec, sink);
    await handle.followed;
    const job = fake.jobs.get(handle.remote_id)!;
    expect(job.body).toMatchObject({
      model: MODEL,
      n_epochs: 2,
      n_checkpoints: 2,
      n_evals: 2,
      batch_size: 4,
      learning_rate: 2e-4,
      lr_scheduler: { lr_scheduler_type: 'linear', lr_scheduler_args: { min_lr_ratio: 1 } },
      warmup_ratio: 0.03,
      max_grad_norm: 1,
      weight_decay: 0,
      suffix: 'caps',
      training_method: { method: 'sft', train_on_inputs: false },
      training_type: { type: 'Lora', lora_r: 8, lora_alpha: 16, lora_dropout: 0.05, lora_trainable_modules: 'q_proj,v_proj' },
    });
    expect(fake.files.get(job.body.training_file)!).toMatchObject({ purpose: 'fine-tune', file_name: 'train.jsonl' });
    expect(fake.files.get(job.body.validation_file)!.content.trim().split('\n')).toHaveLength(2);
    expect(sink.states).toEqual(['preparing', 'running', 'succeeded']);
    expect(sink.events.some((e) => e.type === 'remote_status_unknown' && e.message.includes('a_new_status'))).toBe(true);
    expect(sink.events.filter((e) => e.type === 'remote_event').map((e) => e.message)).toEqual([
      'Fine tune request created',
      'Training started',
      'Epoch completed, at step 24',
      'Epoch completed, at step 48',
      'Job finished',
    ]);
    expect(sink.series('progress')).toEqual([[24, 0.5], [48, 1]]);
    expect(sink.series('loss')).toEqual([[1, 2.4], [24, 1.6], [48, 1.1]]);
    expect(sink.series('eval_loss')).toEqual([[24, 1.9], [48, 1.5]]);
    expect(sink.series('grad_norm')).toEqual([[1, 1.2]]);
    expect(fake.http.requests.some((r) => r.path.endsWith('/metrics') && r.query.get('global_step_from') !== null)).toBe(true);
    expect(sink.checkpoints).toEqual([{ step: 24, path: 'together:user/model-ckpt-24' }]);
    expect(sink.artifacts).toEqual([expect.objectContaining({ kind: 'remote_model', uri: `together:user/Meta-Llama-3.1-8B-Instruct-Reference-caps-${job.id}` })]);
  });

  it('sends DPO with dpo_beta and a full fine-tune', async () => {
    fake.script = [{ status: 'pending' }, { status: 'completed' }];
    const spec = makeSpec({ backend: 'together', base_model: MODEL, method: 'dpo', approach: 'full', rows: preferenceRows(5), hyperparameters: { dpo_beta: 0.3 } });
    const handle = await runner.start(spec, new RecordingSink());
    await handle.followed;
    const job = fake.jobs.get(handle.remote_id)!;
    expect(job.body.training_method).toEqual({ method: 'dpo', dpo_beta: 0.3 });
    expect(job.body.training_type).toEqual({ type: 'Full' });
    expect(JSON.parse(fake.files.get(job.body.training_file)!.content.split('\n')[0])).toHaveProperty('preferred_output');
  });

  it('quotes from estimate-price and removes the uploaded file', async () => {
    const spec = makeSpec({ backend: 'together', base_model: MODEL, approach: 'lora', rows: chatRows(5), hyperparameters: { epochs: 3 } });
    const before = fake.files.size;
    const quote = await backend.quote!(spec, { tokens: 0, seconds: 0, device: 'together-hosted', calibrate: true });
    const uploaded = [...fake.files.values()].slice(before);
    expect(uploaded).toHaveLength(1);
    expect(uploaded[0].deleted).toBe(true);
    const train = uploaded[0].content.length * 3;
    expect(quote.usd).toBeCloseTo(train * 1e-6, 12);
    expect(quote.billed_tokens).toBe(train);
    expect(quote.basis).toBe(`Together POST /fine-tunes/estimate-price for ${MODEL}: ${train} training and 0 eval tokens over 3 epochs; user limit $100`);
    expect(readdirSync(spec.output_dir)).toEqual([]);
  });

  it('quotes offline from the host’s token count at the list price for the model’s size, without a request', async () => {
    const requests = fake.http.requests.length;
    const basis = { tokens: 2_000_000, seconds: 0, device: 'together-hosted', calibrate: false };
    const small = await backend.quote!(makeSpec({ backend: 'together', base_model: MODEL, rows: chatRows(3) }), basis);
    expect(small).toEqual({ usd: 0.96, basis: `tokens / 1e6 × $0.48 per 1M training tokens (Together list price for '${MODEL}', 8B)` });
    const large = await backend.quote!(makeSpec({ backend: 'together', base_model: 'meta-llama/Llama-3.3-70B-Instruct-Reference', rows: chatRows(3) }), basis);
    expect(large.usd).toBeCloseTo(5.8, 10);
    expect((await backend.quote!(makeSpec({ backend: 'together', base_model: 'acme/mystery', rows: chatRows(3) }), basis)).basis).toMatch(/\$2\.9 per 1M.*size not in the name/);
    expect(fake.http.requests.length).toBe(requests);
  });

  it('retries 429 on create, but never retries a 5xx create (no idempotency key), and cleans up', async () => {
    fake.script = [{ status: 'pending' }, { status: 'completed' }];
    fake.http.fail({ method: 'POST', path: /\/fine-tunes$/, times: 1, reply: { status: 429, body: { error: { message: 'rate limited' } }, headers: { 'retry-after-ms': '1' } } });
    const ok = await runner.start(makeSpec({ backend: 'together', base_model: MODEL, rows: chatRows(3) }), new RecordingSink());
    await ok.followed;

    fake.http.fail({ method: 'POST', path: /\/fine-tunes$/, times: 1, reply: { status: 500, body: { error: { message: 'internal error' } } } });
    const createsBefore = fake.http.count('POST', /\/fine-tunes$/);
    const filesBefore = fake.files.size;
    const error = await runner.start(makeSpec({ backend: 'together', base_model: MODEL, rows: chatRows(3) }), new RecordingSink()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect((error as Error).message).toMatch(/request id req_\d+/);
    expect(fake.http.count('POST', /\/fine-tunes$/) - createsBefore).toBe(1);
    expect([...fake.files.values()].slice(filesBefore).every((f) => f.deleted)).toBe(true);

    fake.http.fail({ method: 'POST', path: /\/fine-tunes$/, times: 3, reply: { status: 429, body: { error: { message: 'rate limited' } }, headers: { 'retry-after-ms': '1' } } });
    const limited = await runner.start(makeSpec({ backend: 'together', base_model: MODEL, rows: chatRows(3) }), new RecordingSink()).catch((e: unknown) => e);
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
  });

  it('turns a 400 on upload naming a line into DATASET_INVALID there', async () => {
    fake.http.fail({ method: 'POST', path: /\/files\/upload$/, times: 1, reply: { status: 400, body: { error: { message: 'Invalid format on line 2: missing "messages"', type: 'invalid_request_error' } } } });
    const error = await runner.start(makeSpec({ backend: 'together', base_model: MODEL, rows: chatRows(3) }), new RecordingSink()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DATASET_INVALID', details: { line: 2 } });
  });

  it('reports a job that ends in error with the error event’s message', async () => {
    fake.script = [{ status: 'pending' }, { status: 'running' }, { status: 'error', events: [{ message: 'Training failed: the training file has an invalid format', type: 'job_error', level: 'error' }] }];
    const sink = new RecordingSink();
    const handle = await runner.start(makeSpec({ backend: 'together', base_model: MODEL, rows: chatRows(3) }), sink);
    await handle.followed;
    expect(sink.statuses.at(-1)).toMatchObject({ state: 'failed', detail: { error_code: 'DATASET_INVALID', message: expect.stringContaining('invalid format') } });
  });

  it('cancels idempotently and re-attaches after a restart', async () => {
    fake.script = [{ status: 'running' }, ...Array.from({ length: 1000 }, () => ({ status: 'running' }))];
    const spec = makeSpec({ backend: 'together', base_model: MODEL, rows: chatRows(3) });
    const sink = new RecordingSink();
    const handle = await runner.start(spec, sink);
    handle.detach();
    await handle.followed;

    const restarted = await connectTestClient({ plugins: [togetherPlugin], env: { TOGETHER_API_KEY: fake.apiKey, TOGETHER_BASE_URL: baseURL }, config: { plugins: { together: FAST } } });
    try {
      const again = (await remoteBackend(restarted)).runner;
      const second = new RecordingSink();
      const attached = await again.attach(handle.remote_id, spec, second);
      await attached.cancel();
      await attached.cancel();
      await attached.followed;
      await attached.cancel();
      expect(second.states.at(-1)).toBe('cancelled');
      expect(fake.http.count('POST', new RegExp(`${handle.remote_id}/cancel$`))).toBe(1);
    } finally {
      await restarted.close();
    }
  });

  it('generates with the fine-tuned model through Together’s chat completions', async () => {
    const inference = await client.services.plugins.get('inference', 'together');
    const result = await inference.generate({ model: 'user/Llama-ft-1', messages: [{ role: 'user', content: 'ping' }] });
    expect(result).toMatchObject({ text: 'user/Llama-ft-1: ping', usage: { prompt_tokens: 3, completion_tokens: 4 } });
  });

  it('refuses QLoRA and a wrong key', async () => {
    const issues = await backend.validate!(makeSpec({ backend: 'together', base_model: MODEL, approach: 'qlora', rows: chatRows(3) }));
    expect(issues).toContainEqual(expect.objectContaining({ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'approach' }));
    const wrong = await connectTestClient({ plugins: [togetherPlugin], env: { TOGETHER_API_KEY: 'nope', TOGETHER_BASE_URL: baseURL }, config: { plugins: { together: FAST } } });
    try {
      const b = (await remoteBackend(wrong)).runner;
      await expect(b.start(makeSpec({ backend: 'together', base_model: MODEL, rows: chatRows(3) }), new RecordingSink())).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    } finally {
      await wrong.close();
    }
  });
});

/** The plugin's backend and the host's runner over it, on one test server. */
async function remoteBackend(t: TestClient): Promise<{ backend: RemoteTrainingBackend; runner: RemoteJobRunner }> {
  const backend = await t.services.plugins.get('training_backend', 'together');
  if (!isRemoteBackend(backend)) throw new Error('the together plugin is a remote backend');
  return { backend, runner: createRemoteJobRunner(backend, { name: 'together', logger: createSilentLogger() }) };
}
