import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sagemakerPlugin } from '../../plugins/sagemaker/index.js';
import { cancelTrainingTool } from '../../tools/cancel-training.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { listBackendsTool } from '../../tools/list-backends.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { prepareTestDataset } from '../training/datasets.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { awsJsonError, FakeSageMaker } from './fake-sagemaker.js';
import { asRemote, chatRows, makeSpec, RemoteRun } from './support.js';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const ROLE = 'arn:aws:iam::123456789012:role/FinetuneMcpSageMakerExecution';
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/finetune-mcp-trainer:0.1.0';
const SECRET = 'fake-secret-key-never-logged';

describe('sagemaker plugin: real AWS SDK v3 clients against a local fake of SageMaker, CloudWatch Logs and S3', () => {
  let fake: FakeSageMaker;
  let endpoint: string;
  let t: TestClient;
  let home: string;
  const env = () => ({ AWS_ACCESS_KEY_ID: fake.accessKey, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1' });
  const config = (extra: Record<string, unknown> = {}) => ({
    plugins: { sagemaker: { s3_prefix: 's3://ftm-bucket/finetune-mcp/', role_arn: ROLE, image_uri: IMAGE, endpoint, poll_interval_ms: 5, max_poll_interval_ms: 20, max_retries: 2, ...extra } },
    training: { watch_interval_ms: 50, cancel_grace_ms: 3000 },
  });

  beforeAll(async () => {
    fake = new FakeSageMaker();
    endpoint = await fake.start();
    home = mkdtempSync(join(tmpdir(), 'ftm-sagemaker-'));
    t = await connectTestClient({ plugins: [sagemakerPlugin], env: env(), config: config(), home });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
    rmSync(home, { recursive: true, force: true });
  });
  const backend = async (client = t) => asRemote(await client.services.plugins.get('training_backend', 'sagemaker'));

  it('is disabled until s3_prefix, role_arn and image_uri are set, and says how to fix it', async () => {
    for (const sagemaker of [{}, { s3_prefix: 'ftm-bucket/x', role_arn: ROLE, image_uri: IMAGE }, { s3_prefix: 's3://ftm-bucket/x/', role_arn: 'FinetuneRole', image_uri: IMAGE }]) {
      const bare = await connectTestClient({ plugins: [sagemakerPlugin], env: env(), config: { plugins: { sagemaker } } });
      try {
        const { backends } = await bare.callOk(listBackendsTool);
        expect(backends[0]).toMatchObject({ name: 'sagemaker', status: 'disabled', reason: expect.stringMatching(/s3_prefix|role_arn/), fix: expect.stringMatching(/s3:\/\/|arn:aws:iam|sagemaker\.md/) });
      } finally {
        await bare.close();
      }
    }
  });

  it('the MCP walk: start_training creates the job once (a lost answer is re-attached), monitor_training shows steps and loss, a restart re-attaches, cancel_training stops it', async () => {
    const dataset_id = await prepareTestDataset(t, { rows: 60 });
    const configured = await t.callOk(configureTrainingTool, { base_model: MODEL, dataset_id, backend: 'sagemaker', approach: 'lora', template: 'smoke', overrides: { max_steps: 400, save_steps: 4 }, backend_options: { instance_type: 'ml.g5.2xlarge' } });
    const plan = await t.callOk(planTrainingTool, { config_id: configured.config_id });
    expect(plan.verdict, plan.reasons.join(' ')).toBe('go');
    fake.stepMs = 30;
    fake.loseNextCreateAnswer = true;
    const creates = fake.count('CreateTrainingJob');
    const started = await t.callOk(startTrainingTool, { plan_id: plan.plan_id });
    let m = await t.callOk(monitorTrainingTool, { job_id: started.job_id, wait_s: 0.2 });
    for (let i = 0; i < 200 && !(m.status === 'running' && m.step >= 6); i++) m = await t.callOk(monitorTrainingTool, { job_id: started.job_id, wait_s: 0.2 });
    expect([m.status, m.step >= 6]).toEqual(['running', true]);
    // The SDK retried the create whose answer was lost; the second met ResourceInUse and the job was re-attached.
    expect(fake.count('CreateTrainingJob') - creates).toBe(2);
    const name = `ftm-${started.job_id.replace(/_/g, '-')}`;
    expect(fake.jobs.has(name)).toBe(true);
    expect(m.metrics.loss).toMatchObject({ step: expect.any(Number), value: expect.any(Number) });
    expect(m.metrics.loss.value).toBeLessThan(2.5);

    // A server restart: the second server re-attaches to the same training job and goes on reading its log.
    await t.close();
    t = await connectTestClient({ plugins: [sagemakerPlugin], env: env(), config: config(), home });
    const again = await t.callOk(monitorTrainingTool, { job_id: started.job_id, wait_s: 0.5 });
    expect(again.status).toBe('running');
    let later = again;
    for (let i = 0; i < 200 && later.step <= m.step + 2; i++) later = await t.callOk(monitorTrainingTool, { job_id: started.job_id, wait_s: 0.2 });
    expect(later.step).toBeGreaterThan(m.step);
    expect(fake.count('CreateTrainingJob') - creates).toBe(2);

    const cancel = await t.callOk(cancelTrainingTool, { job_id: started.job_id });
    expect(cancel.already_ended).toBe(false);
    let end = later;
    for (let i = 0; i < 200 && !['cancelled', 'failed', 'succeeded'].includes(end.status); i++) end = await t.callOk(monitorTrainingTool, { job_id: started.job_id, wait_s: 0.2 });
    expect([end.status, end.error_code]).toEqual(['cancelled', 'CANCELLED']);
    expect(fake.count('StopTrainingJob')).toBeGreaterThanOrEqual(1);
    // Each step's loss once, in order, though the log was read in pages and by two servers.
    const full = await t.callOk(monitorTrainingTool, { job_id: started.job_id, include_curves: true });
    const steps = (full.curves?.train_loss ?? []).map((p) => p.step);
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => i + 1));
    expect(steps.length).toBeGreaterThanOrEqual(later.step);
  });

  it('sends the documented CreateTrainingJob request and uploads the spec and splits to S3; the job ends with the adapter in S3', async () => {
    fake.stepMs = 10;
    // Long enough in Starting/Downloading for the first poll to see it queued.
    fake.startTicks = 30;
    const spec = makeSpec({ backend: 'sagemaker', base_model: MODEL, approach: 'qlora', rows: chatRows(4), validation: chatRows(2), hyperparameters: { max_steps: 12 }, backend_options: { instance_type: 'ml.g5.xlarge', spot: true, max_runtime_s: 7200 } });
    spec.job_id = 'job_sm_request';
    const run = new RemoteRun(await backend(), spec);
    expect(await run.submit()).toBe('ftm-job-sm-request');
    const job = fake.jobs.get('ftm-job-sm-request')!;
    const prefix = 's3://ftm-bucket/finetune-mcp/job_sm_request';
    expect(job.request).toMatchObject({
      RoleArn: ROLE,
      AlgorithmSpecification: {
        TrainingImage: IMAGE,
        TrainingInputMode: 'File',
        ContainerEntrypoint: ['python', '/opt/finetune-mcp/trainer/trainer.py'],
        ContainerArguments: ['--spec', '/opt/ml/input/data/training/spec.json', '--job-dir', '/opt/ml/checkpoints'],
      },
      HyperParameters: { finetune_mcp_job_id: 'job_sm_request', spec: '/opt/ml/input/data/training/spec.json' },
      InputDataConfig: [{ ChannelName: 'training', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `${prefix}/input/` } } }],
      OutputDataConfig: { S3OutputPath: `${prefix}/output/` },
      CheckpointConfig: { S3Uri: `${prefix}/checkpoints/`, LocalPath: '/opt/ml/checkpoints' },
      ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 100 },
      StoppingCondition: { MaxRuntimeInSeconds: 7200, MaxWaitTimeInSeconds: 7200 + 86400 },
      EnableManagedSpotTraining: true,
      Tags: [{ Key: 'finetune-mcp:job-id', Value: 'job_sm_request' }],
    });
    expect([...fake.objects.keys()].filter((k) => k.includes('job_sm_request')).sort()).toEqual(
      ['spec.json', 'train.jsonl', 'validation.jsonl'].map((f) => `ftm-bucket/finetune-mcp/job_sm_request/input/${f}`),
    );
    expect(job.spec).toMatchObject({ output_dir: '/opt/ml/checkpoints', dataset: { train_path: '/opt/ml/input/data/training/train.jsonl', validation_path: '/opt/ml/input/data/training/validation.jsonl' }, model: { dir: '' } });
    const end = await run.pollUntil(undefined, { waitMs: 5 });
    expect(end).toMatchObject({ status: 'succeeded', result: { model_ref: `sagemaker:${prefix}/checkpoints/output/adapter` } });
    expect(run.statuses).toEqual(['queued', 'running', 'succeeded']);
    fake.startTicks = 2;
    expect(run.series('loss').map(([step]) => step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(run.checkpoints[0]).toEqual({ step: 4, model_ref: `sagemaker:${prefix}/checkpoints/checkpoints/checkpoint-4` });
    // The secret key signs requests and goes nowhere else.
    expect(fake.http.requests.some((r) => r.body.includes(SECRET) || JSON.stringify(r.headers).includes(SECRET))).toBe(false);
  });

  it('translates AWS errors: ValidationException, AccessDenied (S3 and SageMaker), a wrong key, throttling (retried, then RATE_LIMITED), a name taken by another job', async () => {
    const b = await backend();
    const spec = (job_id: string, backend_options: Record<string, unknown> = { instance_type: 'ml.g5.xlarge' }) => Object.assign(makeSpec({ backend: 'sagemaker', base_model: MODEL, approach: 'lora', rows: chatRows(2), backend_options }), { job_id });

    await expect(new RemoteRun(b, spec('job_sm_badtype', { instance_type: 'ml.g9.xlarge' })).submit()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/ValidationException.*resourceConfig\.instanceType.*\[request id fake-/) });

    fake.failNext('PutObject', { status: 403, body: '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>S3DENY</RequestId></Error>', headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'S3DENY' } });
    const denied = new RemoteRun(b, spec('job_sm_s3denied'));
    await expect(denied.submit()).rejects.toMatchObject({ code: 'AUTH_INVALID', message: expect.stringMatching(/uploading s3:\/\/ftm-bucket\/.*AccessDenied.*S3DENY/) });
    expect(fake.jobs.has('ftm-job-sm-s3denied')).toBe(false);

    fake.failNext('CreateTrainingJob', awsJsonError('AccessDeniedException', 'User: arn:aws:iam::123456789012:user/ftm is not authorized to perform: sagemaker:CreateTrainingJob'));
    await expect(new RemoteRun(b, spec('job_sm_denied')).submit()).rejects.toMatchObject({ code: 'AUTH_INVALID', recovery: expect.stringMatching(/docs\/backends\/sagemaker\.md/) });

    // Throttled twice: the SDK retries (max_retries 2 → 3 attempts) and the poll goes through.
    const run = new RemoteRun(b, spec('job_sm_throttle'));
    await run.submit();
    fake.failNext('DescribeTrainingJob', awsJsonError('ThrottlingException', 'Rate exceeded'), 2);
    expect(['queued', 'running', 'succeeded']).toContain((await run.poll()).status);
    fake.failNext('DescribeTrainingJob', awsJsonError('ThrottlingException', 'Rate exceeded'), 3);
    await expect(run.poll()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryable: true });

    const wrong = await connectTestClient({ plugins: [sagemakerPlugin], env: { ...env(), AWS_ACCESS_KEY_ID: 'AKIDWRONG' }, config: config() });
    try {
      await expect(new RemoteRun(await backend(wrong), spec('job_sm_wrongkey')).submit()).rejects.toMatchObject({ code: 'AUTH_INVALID', message: expect.stringMatching(/InvalidAccessKeyId/) });
    } finally {
      await wrong.close();
    }

    // A job of that name that finetune-mcp job did not create is a conflict, not a re-attach.
    const other = spec('job_sm_other');
    await new RemoteRun(b, other).submit();
    fake.jobs.get('ftm-job-sm-other')!.request.HyperParameters.finetune_mcp_job_id = 'job_someone_else';
    await expect(new RemoteRun(b, other).submit()).rejects.toMatchObject({ code: 'STATE_CONFLICT', message: expect.stringMatching(/did not create/) });
  });

  it('stops a running job; stopping it again is not an error; a job SageMaker never had is NOT_FOUND', async () => {
    fake.stepMs = 10;
    const spec = makeSpec({ backend: 'sagemaker', base_model: MODEL, approach: 'lora', rows: chatRows(2), hyperparameters: { max_steps: 1000 }, backend_options: { instance_type: 'ml.g5.xlarge' } });
    spec.job_id = 'job_sm_stop';
    const run = new RemoteRun(await backend(), spec);
    await run.submit();
    await run.pollUntil(['running'], { waitMs: 5 });
    await run.backend.cancel(run.remote_id, run.ctx);
    await run.backend.cancel(run.remote_id, run.ctx);
    expect((await run.pollUntil(['cancelled', 'failed', 'succeeded'], { waitMs: 5 })).status).toBe('cancelled');
    await run.backend.cancel(run.remote_id, run.ctx);
    await expect(run.backend.poll('ftm-job-nowhere', run.ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('runs instance_count instances (ResourceConfig.InstanceCount) and prices them all; the trainer on each reads the cluster SageMaker describes', async () => {
    const spec = makeSpec({ backend: 'sagemaker', base_model: MODEL, approach: 'lora', rows: chatRows(2), backend_options: { instance_type: 'ml.p4d.24xlarge', instance_count: 2 } });
    spec.job_id = 'job_sm_two';
    const b = await backend();
    await new RemoteRun(b, spec).submit();
    const job = fake.jobs.get('ftm-job-sm-two')!;
    expect(job.request.ResourceConfig).toEqual({ InstanceType: 'ml.p4d.24xlarge', InstanceCount: 2, VolumeSizeInGB: 100 });
    // The same command on every instance: the trainer starts its 8 ranks there (resourceconfig.json names the hosts).
    expect(job.request.AlgorithmSpecification.ContainerArguments).toEqual(['--spec', '/opt/ml/input/data/training/spec.json', '--job-dir', '/opt/ml/checkpoints']);
    const quote = await b.quote!(spec, { tokens: 1, seconds: 3600, device: 'A100-40GB', calibrate: false });
    expect(quote.usd).toBeCloseTo(2 * 37.688, 6);
    expect(quote.basis).toMatch(/^2 × ml\.p4d\.24xlarge \(8 × A100-40GB\)/);
  });

  it('refuses what the trainer or SageMaker cannot run, naming the field', async () => {
    const b = await backend();
    const issues = await b.validate!(makeSpec({ backend: 'sagemaker', base_model: MODEL, approach: 'full', rows: chatRows(2), backend_options: { instance_type: 'ml.g5.xlarge', gpu_type: 'H100', instance_count: 0.5, spot: 'yes', output_uri: 'ftp://x' } }));
    expect(issues.map((i) => [i.severity, i.code, i.field])).toEqual([
      ['error', 'CONFIG_INVALID', 'backend_options.gpu_type'],
      ['error', 'CONFIG_INVALID', 'backend_options.instance_count'],
      ['error', 'CONFIG_INVALID', 'backend_options.spot'],
      ['error', 'CONFIG_INVALID', 'backend_options.output_uri'],
    ]);
    const unpriced = await b.validate!(makeSpec({ backend: 'sagemaker', base_model: MODEL, approach: 'lora', rows: chatRows(2), backend_options: { instance_type: 'ml.p5.48xlarge', instance_count: 2, output_uri: 's3://ftm-bucket/published/' } }));
    expect(unpriced).toEqual([expect.objectContaining({ severity: 'warning', field: 'backend_options.instance_type', message: expect.stringMatching(/not in the price table/) })]);
  });
});

describe('plans for the sagemaker backend (instance types priced from the dated table)', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await connectTestClient({
      plugins: [sagemakerPlugin],
      env: { AWS_REGION: 'us-east-1' },
      config: { plugins: { sagemaker: { s3_prefix: 's3://ftm-bucket/x/', role_arn: ROLE, image_uri: IMAGE, usd_per_hour: { 'ml.g6e.2xlarge': 3.1 } } } },
    });
  });
  afterAll(() => t.close());

  it('7B LoRA on ml.g5.2xlarge goes, priced per instance-hour with date and source; 70B does not fit and names what does; a 70B full fine-tune is no-go on one A10G and names the GPUs that fit sharded, more A10Gs among them', async () => {
    const dataset_id = await prepareTestDataset(t, { rows: 60 });
    const plan = async (base_model: string, approach: string, backend_options: Record<string, unknown>) => {
      const config = await t.callOk(configureTrainingTool, { base_model, dataset_id, backend: 'sagemaker', approach, method: 'sft', template: 'smoke', backend_options });
      return t.callOk(planTrainingTool, { config_id: config.config_id, detail: true });
    };
    const small = await plan('Qwen/Qwen2.5-7B-Instruct', 'lora', { instance_type: 'ml.g5.2xlarge' });
    expect(small.verdict, small.reasons.join(' ')).toBe('go');
    expect(small.estimate).toMatchObject({ device: 'A10G', fits: true });
    expect(small.estimate_detail!.cost.formula).toMatch(/^1 × ml\.g5\.2xlarge \(1 × A10G\) for [\d.]+ h at \$1\.515\/h: AWS SageMaker training on-demand list price, us-east-1, approximate as of 2026-12-05 \(https:\/\/aws\.amazon\.com\/sagemaker\/pricing\/; overridden in the config for ml\.g6e\.2xlarge\)$/);
    const big = await plan('meta-llama/Llama-3.1-70B-Instruct', 'qlora', { instance_type: 'ml.g5.2xlarge' });
    expect(big.verdict, big.reasons.join(' ')).toBe('no_go');
    expect(big.reasons[0]).toMatch(/^\[OUT_OF_MEMORY\].*A10G has 24 GB\. (L40S|A100-40GB) fits\./);
    const fitting = big.estimate_detail!.devices.filter((d) => d.fits).map((d) => d.device);
    expect(fitting.length).toBeGreaterThan(0);
    expect(fitting).not.toContain('A10G');
    const full = await t.callOk(configureTrainingTool, { base_model: 'meta-llama/Llama-3.1-70B-Instruct', dataset_id, backend: 'sagemaker', approach: 'full', method: 'sft', template: 'smoke', backend_options: { instance_type: 'ml.g5.2xlarge' } });
    const fullPlan = await t.callOk(planTrainingTool, { config_id: full.config_id });
    expect(fullPlan.verdict).toBe('no_go');
    expect(fullPlan.reasons[0]).toMatch(/^\[OUT_OF_MEMORY\] Needs ~[\d.]+ GB per device; 1 × A10G has 24 GB\. \d+×\S+ \(\d+ GB\) with ZeRO-3 sharding \(FSDP full_shard\) fits at ~[\d.]+ GB each \(or 64×A10G at ~1\d\.\d GB each\)/);
    // Four ml.p4d.24xlarge are 32 A100-40GB, one trainer process each: sharded 32 ways it fits and goes.
    const sharded = await t.callOk(configureTrainingTool, { base_model: 'meta-llama/Llama-3.1-70B-Instruct', dataset_id, backend: 'sagemaker', approach: 'full', method: 'sft', template: 'smoke', backend_options: { instance_type: 'ml.p4d.24xlarge', instance_count: 4 } });
    const go = await t.callOk(planTrainingTool, { config_id: sharded.config_id, detail: true });
    expect(go.verdict, go.reasons.join(' ')).toBe('go');
    expect(go.estimate_detail).toMatchObject({ device: 'A100-40GB', device_count: 32, fits: true });
    expect(go.estimate_detail!.memory.per_device_gb).toBeLessThan(40);
    expect(go.estimate_detail!.cost.formula).toMatch(/^4 × ml\.p4d\.24xlarge \(8 × A100-40GB\)/);
  });
});
