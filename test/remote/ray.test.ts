import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainerOutcome } from '../../plugins/ray/backend.js';
import { rayPlugin } from '../../plugins/ray/index.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { listBackendsTool } from '../../tools/list-backends.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { prepareTestDataset } from '../training/datasets.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { FakeRay } from './fake-ray.js';
import { asRemote, chatRows, makeSpec, RemoteRun } from './support.js';

const FAST = { poll_interval_ms: 5, max_poll_interval_ms: 20, max_retries: 2 };
const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';

describe('ray plugin against a local fake of the Ray Jobs REST API', () => {
  let fake: FakeRay;
  let address: string;
  let t: TestClient;

  beforeAll(async () => {
    fake = new FakeRay();
    address = await fake.start();
    t = await connectTestClient({ plugins: [rayPlugin], env: { RAY_ADDRESS: address, RAY_AUTH_TOKEN: fake.token }, config: { plugins: { ray: { ...FAST, storage_dir: '/mnt/shared/ftm' } } } });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
  });
  const backend = async (client = t) => asRemote(await client.services.plugins.get('training_backend', 'ray'));

  it('is disabled without an address, or with a ray:// one, and says how to fix it', async () => {
    for (const env of [{}, { RAY_ADDRESS: 'ray://head:10001' }]) {
      const bare = await connectTestClient({ plugins: [rayPlugin], env });
      try {
        const { backends } = await bare.callOk(listBackendsTool);
        expect(backends[0]).toMatchObject({ name: 'ray', status: 'disabled', reason: expect.stringMatching(/RAY_ADDRESS/), fix: expect.stringMatching(/8265/) });
      } finally {
        await bare.close();
      }
    }
  });

  it('submits once: a retried submit whose first answer was lost reuses the submission id; the package is uploaded once', async () => {
    const spec = makeSpec({ backend: 'ray', base_model: MODEL, approach: 'lora', rows: chatRows(4), validation: chatRows(2), hyperparameters: { max_steps: 12 }, backend_options: { gpu_type: 'A10G' } });
    fake.stepMs = 40;
    fake.loseNextSubmitAnswer = true;
    const run = new RemoteRun(await backend(), spec);
    expect(await run.submit()).toBe(spec.job_id);
    expect(fake.http.count('POST', /^\/api\/jobs\/$/)).toBe(2);
    expect(fake.jobs.size).toBe(1);
    const job = fake.jobs.get(spec.job_id)!;
    expect(job.body).toMatchObject({
      submission_id: spec.job_id,
      entrypoint: `python /opt/finetune-mcp/trainer/trainer.py --spec spec.json --job-dir /mnt/shared/ftm/${spec.job_id}`,
      entrypoint_num_gpus: 1,
      entrypoint_resources: { 'accelerator_type:A10G': 0.001 },
      runtime_env: { working_dir: expect.stringMatching(/^gcs:\/\/_ray_pkg_[0-9a-f]{32}\.zip$/) },
    });
    expect(Object.keys(job.files).sort()).toEqual(['spec.json', 'train.jsonl', 'validation.jsonl']);
    expect(job.spec.dataset).toMatchObject({ train_path: 'train.jsonl', validation_path: 'validation.jsonl' });
    expect(job.files['train.jsonl'].toString()).toContain('capital number 3'.replace('capital', 'Capital'));
    // The same job submitted again (the host retrying submit) re-uses the upload and the job.
    await new RemoteRun(await backend(), spec).submit();
    expect(fake.http.count('PUT', /^\/api\/packages\//)).toBe(1);
    expect(fake.jobs.size).toBe(1);

    const end = await run.pollUntil(undefined, { waitMs: 5 });
    expect(end).toMatchObject({ status: 'succeeded', result: { model_ref: `ray:/mnt/shared/ftm/${spec.job_id}/output/adapter` } });
    // The retried submit waited out PENDING (its backoff); the contract test sees queued → running → succeeded.
    expect(run.statuses.slice(-2)).toEqual(['running', 'succeeded']);
    // Only new log text each poll: every step's loss once, in order.
    expect(run.series('loss').map(([step]) => step)).toEqual(Array.from({ length: job.steps }, (_, i) => i + 1));
    expect(run.checkpoints[0]).toEqual({ step: 4, model_ref: `ray:/mnt/shared/ftm/${spec.job_id}/checkpoints/checkpoint-4` });
    expect([end.step, end.total_steps]).toEqual([job.steps, job.steps]);
  });

  it('answers a wrong token with AUTH_INVALID and reads the token from RAY_AUTH_TOKEN_PATH', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ftm-ray-'));
    writeFileSync(join(folder, 'auth_token'), 'wrong-token-value\n');
    const wrong = await connectTestClient({ plugins: [rayPlugin], env: { RAY_ADDRESS: address, RAY_AUTH_TOKEN_PATH: join(folder, 'auth_token') }, config: { plugins: { ray: FAST } } });
    try {
      const spec = makeSpec({ backend: 'ray', base_model: MODEL, approach: 'lora', rows: chatRows(2) });
      await expect(new RemoteRun(await backend(wrong), spec).submit()).rejects.toMatchObject({ code: 'AUTH_INVALID', message: expect.stringContaining('Ray refused') });
      expect(fake.http.requests.at(-1)?.headers.authorization).toBe('Bearer wrong-token-value');
    } finally {
      await wrong.close();
    }
  });

  it('refuses what the trainer cannot run, naming the field', async () => {
    const b = await backend();
    const issues = await b.validate!(makeSpec({ backend: 'ray', base_model: MODEL, approach: 'full', rows: chatRows(2), backend_options: { num_gpus: 1.5, num_nodes: 0, gpu_type: 'A10G; rm -rf /', output_uri: 'gs://bucket/x' } }));
    expect(issues.map((i) => [i.code, i.field])).toEqual([
      ['CONFIG_INVALID', 'backend_options.num_gpus'],
      ['CONFIG_INVALID', 'backend_options.num_nodes'],
      ['CONFIG_INVALID', 'backend_options.output_uri'],
      ['CONFIG_INVALID', 'backend_options.gpu_type'],
    ]);
    const cpuNodes = await b.validate!(makeSpec({ backend: 'ray', base_model: MODEL, approach: 'lora', rows: chatRows(2), backend_options: { num_gpus: 0, num_nodes: 2 } }));
    expect(cpuNodes.map((i) => [i.code, i.field])).toEqual([['CONFIG_INVALID', 'backend_options.num_nodes']]);
    const fine = await b.validate!(makeSpec({ backend: 'ray', base_model: MODEL, approach: 'lora', rows: chatRows(2), backend_options: { num_gpus: 4, num_nodes: 2, output_uri: 'hf://acme/support-adapter' } }));
    expect(fine).toEqual([]);
  });

  it('runs num_gpus > 1 on one node as the trainer holding them all (it starts accelerate), and num_nodes > 1 through the Ray Train driver', async () => {
    fake.stepMs = 5;
    const one = makeSpec({ backend: 'ray', base_model: MODEL, approach: 'lora', rows: chatRows(2), backend_options: { num_gpus: 4, gpu_type: 'A100' } });
    one.job_id = 'job_test_4gpu';
    await new RemoteRun(await backend(), one).submit();
    expect(fake.jobs.get(one.job_id)!.body).toMatchObject({
      entrypoint: `python /opt/finetune-mcp/trainer/trainer.py --spec spec.json --job-dir /mnt/shared/ftm/${one.job_id}`,
      entrypoint_num_gpus: 4,
      entrypoint_resources: { 'accelerator_type:A100': 0.001 },
    });
    // The trainer reads its process count from the spec it is given.
    expect(fake.jobs.get(one.job_id)!.spec.config.backend_options).toMatchObject({ num_gpus: 4 });

    const many = makeSpec({ backend: 'ray', base_model: MODEL, approach: 'lora', rows: chatRows(2), backend_options: { num_gpus: 8, num_nodes: 2, gpu_type: 'H100' } });
    many.job_id = 'job_test_2nodes';
    await new RemoteRun(await backend(), many).submit();
    const body = fake.jobs.get(many.job_id)!.body;
    expect(body).toMatchObject({
      entrypoint: `python /opt/finetune-mcp/trainer/ray_train.py --spec spec.json --job-dir /mnt/shared/ftm/${many.job_id} --num-nodes 2 --gpus-per-node 8 --accelerator-type H100`,
      // The driver holds no GPU: Ray Train's 16 workers do.
      entrypoint_num_gpus: 0,
    });
    expect(body.entrypoint_resources).toBeUndefined();
  });

  it('prices every GPU of the job and records the output URI the trainer wrote to', async () => {
    const priced = await connectTestClient({ plugins: [rayPlugin], env: { RAY_ADDRESS: address, RAY_AUTH_TOKEN: fake.token }, config: { plugins: { ray: { ...FAST, usd_per_gpu_hour: 2 } } } });
    try {
      const spec = makeSpec({ backend: 'ray', base_model: MODEL, approach: 'lora', rows: chatRows(2), backend_options: { num_gpus: 4, num_nodes: 2 } });
      const quote = await (await backend(priced)).quote!(spec, { tokens: 1, seconds: 3600, device: 'H100', calibrate: false });
      expect(quote.usd).toBe(16);
    } finally {
      await priced.close();
    }
    const cursor = { adapter_path: '/mnt/shared/ftm/job_x/output/adapter', output_uri: 'hf://acme/support-adapter' };
    const end = trainerOutcome({}, 'succeeded', 'job_x', cursor, { storage_dir: '/mnt/shared/ftm' } as never, {});
    expect(end.result?.meta).toMatchObject({ adapter_path: '/mnt/shared/ftm/job_x/output/adapter', format: 'peft', output_uri: 'hf://acme/support-adapter' });
    // A full fine-tune's output is a model in Hugging Face layout, not an adapter.
    const model = trainerOutcome({}, 'succeeded', 'job_y', { adapter_path: '/mnt/shared/ftm/job_y/output/model', output_kind: 'model' }, { storage_dir: '/mnt/shared/ftm' } as never, {});
    expect(model.result).toMatchObject({ model_ref: 'ray:/mnt/shared/ftm/job_y/output/model', meta: { format: 'hf' } });
  });

  it('stops a running job; stopping it again is not an error; a job Ray never had is NOT_FOUND', async () => {
    fake.stepMs = 10;
    const spec = makeSpec({ backend: 'ray', base_model: MODEL, approach: 'lora', rows: chatRows(2), hyperparameters: { max_steps: 1000 } });
    spec.job_id = 'job_test_stop';
    const run = new RemoteRun(await backend(), spec);
    await run.submit();
    await run.pollUntil(['running'], { waitMs: 5 });
    await run.backend.cancel(run.remote_id, run.ctx);
    await run.backend.cancel(run.remote_id, run.ctx);
    expect((await run.poll()).status).toBe('cancelled');
    await expect(run.backend.poll('job_nowhere', run.ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('plans for the ray backend', () => {
  let fake: FakeRay;
  let t: TestClient;
  beforeAll(async () => {
    fake = new FakeRay();
    t = await connectTestClient({ plugins: [rayPlugin], env: { RAY_ADDRESS: await fake.start(), RAY_AUTH_TOKEN: fake.token } });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
  });

  it('sizes a plan for backend_options.gpu_type: 7B LoRA on 1×A10G goes; 70B does not fit and names what does; a 70B full fine-tune names the H100s that fit with ZeRO-3', async () => {
    const dataset_id = await prepareTestDataset(t, { rows: 60 });
    const plan = async (base_model: string) => {
      const config = await t.callOk(configureTrainingTool, { base_model, dataset_id, backend: 'ray', approach: 'lora', method: 'sft', template: 'smoke', backend_options: { gpu_type: 'A10G', num_gpus: 1 } });
      return t.callOk(planTrainingTool, { config_id: config.config_id });
    };
    const small = await plan('Qwen/Qwen2.5-7B-Instruct');
    expect(small.verdict, small.reasons.join(' ')).toBe('go');
    expect(small.estimate).toMatchObject({ device: 'A10G', fits: true });
    const big = await plan('meta-llama/Llama-3.1-70B-Instruct');
    expect(big.verdict, big.reasons.join(' ')).toBe('no_go');
    expect(big.reasons[0]).toMatch(/^\[OUT_OF_MEMORY\].*A10G has 24 GB.*LoRA\/QLoRA/);
    expect(big.estimate).toMatchObject({ device: 'A10G', fits: false });
    const full = await t.callOk(configureTrainingTool, { base_model: 'meta-llama/Llama-3.1-70B-Instruct', dataset_id, backend: 'ray', approach: 'full', method: 'sft', template: 'smoke', backend_options: { gpu_type: 'A10G' } });
    const fullPlan = await t.callOk(planTrainingTool, { config_id: full.config_id });
    expect(fullPlan.verdict).toBe('no_go');
    expect(fullPlan.reasons[0]).toMatch(/^\[OUT_OF_MEMORY\] Needs ~[\d.]+ GB per device; 1 × A10G has 24 GB\. \d+×H100 \(80 GB\) with ZeRO-3 sharding \(FSDP full_shard\) fits/);
  });
});
