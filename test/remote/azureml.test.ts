import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azuremlPluginWith } from '../../plugins/azureml/index.js';
import { cancelTrainingTool } from '../../tools/cancel-training.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { listBackendsTool } from '../../tools/list-backends.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { prepareTestDataset } from '../training/datasets.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { armError, blobError, FAKE_TOKENS, FakeAzureMl, fakeCredential } from './fake-azureml.js';
import { asRemote, chatRows, makeSpec, RemoteRun } from './support.js';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const SUBSCRIPTION = '00000000-1111-2222-3333-444444444444';
const IMAGE = 'ftmregistry.azurecr.io/finetune-mcp-trainer:0.1.0';
const plugin = azuremlPluginWith({ credential: fakeCredential });

describe('azureml plugin against a local fake of the Azure ML REST API, run history and blob storage', () => {
  let fake: FakeAzureMl;
  let t: TestClient;
  let home: string;
  let urls: Record<string, string>;
  const config = (extra: Record<string, unknown> = {}) => ({
    plugins: { azureml: { ...urls, resource_group: 'ml-rg', workspace: 'ml-ws', compute: 'gpu-cluster', vm_size: 'Standard_NC24ads_A100_v4', image: IMAGE, poll_interval_ms: 5, max_poll_interval_ms: 20, max_retries: 2, ...extra } },
    training: { watch_interval_ms: 50, cancel_grace_ms: 3000 },
  });
  const env = { AZURE_SUBSCRIPTION_ID: SUBSCRIPTION };

  beforeAll(async () => {
    fake = new FakeAzureMl();
    const url = await fake.start();
    urls = { management_url: url, run_history_url: `${url}/history`, blob_url: `${url}/blob/${fake.account}` };
    home = mkdtempSync(join(tmpdir(), 'ftm-azureml-'));
    t = await connectTestClient({ plugins: [plugin], env, config: config(), home });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
    rmSync(home, { recursive: true, force: true });
  });
  const backend = async (client = t) => asRemote(await client.services.plugins.get('training_backend', 'azureml'));
  const spec = (job_id: string, extra: Partial<Parameters<typeof makeSpec>[0]> = {}) =>
    Object.assign(makeSpec({ backend: 'azureml', base_model: MODEL, approach: 'lora', rows: chatRows(2), ...extra }), { job_id });

  it('is disabled until the workspace, compute and image are set, and says how to fix it', async () => {
    for (const [azureml, environment] of [[{}, {}], [{ resource_group: 'ml-rg', workspace: 'ml-ws', compute: 'gpu-cluster', image: IMAGE }, { AZURE_SUBSCRIPTION_ID: 'my-sub' }]] as const) {
      const bare = await connectTestClient({ plugins: [plugin], env: environment, config: { plugins: { azureml } } });
      try {
        const { backends } = await bare.callOk(listBackendsTool);
        expect(backends[0]).toMatchObject({ name: 'azureml', status: 'disabled', reason: expect.stringMatching(/subscription|compute/), fix: expect.stringMatching(/azureml\.md|az account show/) });
      } finally {
        await bare.close();
      }
    }
  });

  it('the MCP walk: start_training creates the job once (a lost answer is found again), monitor_training shows steps and loss, a restart re-attaches, cancel_training stops it', async () => {
    const dataset_id = await prepareTestDataset(t, { rows: 60 });
    const configured = await t.callOk(configureTrainingTool, { base_model: MODEL, dataset_id, backend: 'azureml', approach: 'lora', template: 'smoke', overrides: { max_steps: 400, save_steps: 4 }, backend_options: { instance_type: 'Standard_NC24ads_A100_v4' } });
    const plan = await t.callOk(planTrainingTool, { config_id: configured.config_id });
    expect(plan.verdict, plan.reasons.join(' ')).toBe('go');
    fake.stepMs = 30;
    fake.loseNextCreateAnswer = true;
    const started = await t.callOk(startTrainingTool, { plan_id: plan.plan_id });
    let m = await t.callOk(monitorTrainingTool, { job_id: started.job_id, wait_s: 0.2 });
    for (let i = 0; i < 200 && !(m.status === 'running' && m.step >= 6); i++) m = await t.callOk(monitorTrainingTool, { job_id: started.job_id, wait_s: 0.2 });
    expect([m.status, m.step >= 6]).toEqual(['running', true]);
    const puts = () => fake.http.count('PUT', new RegExp(`/jobs/${started.job_id}$`));
    // The PUT whose answer was lost is not repeated: a GET finds the job and it is re-attached.
    expect(puts()).toBe(1);
    expect(m.metrics.loss.value).toBeLessThan(2.5);

    await t.close();
    t = await connectTestClient({ plugins: [plugin], env, config: config(), home });
    let later = await t.callOk(monitorTrainingTool, { job_id: started.job_id, wait_s: 0.5 });
    expect(later.status).toBe('running');
    for (let i = 0; i < 200 && later.step <= m.step + 2; i++) later = await t.callOk(monitorTrainingTool, { job_id: started.job_id, wait_s: 0.2 });
    expect(later.step).toBeGreaterThan(m.step);
    expect(puts()).toBe(1);

    expect((await t.callOk(cancelTrainingTool, { job_id: started.job_id })).already_ended).toBe(false);
    let end = later;
    for (let i = 0; i < 200 && !['cancelled', 'failed', 'succeeded'].includes(end.status); i++) end = await t.callOk(monitorTrainingTool, { job_id: started.job_id, wait_s: 0.2 });
    expect([end.status, end.error_code]).toEqual(['cancelled', 'CANCELLED']);
    expect(fake.http.count('POST', new RegExp(`/jobs/${started.job_id}/cancel$`))).toBeGreaterThanOrEqual(1);
    const full = await t.callOk(monitorTrainingTool, { job_id: started.job_id, include_curves: true });
    const steps = (full.curves?.train_loss ?? []).map((p) => p.step);
    // Each step's loss once, in order: the log was read by byte offset, by two servers.
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => i + 1));
    expect(steps.length).toBeGreaterThanOrEqual(later.step);
  });

  it('sends the documented command job, registers the image as an environment, uploads to the blob datastore; the job ends with the adapter in the datastore', async () => {
    fake.stepMs = 10;
    fake.startTicks = 20;
    const s = spec('job_az_request', { approach: 'qlora', rows: chatRows(4), validation: chatRows(2), hyperparameters: { max_steps: 12 } });
    const run = new RemoteRun(await backend(), s);
    expect(await run.submit()).toBe('job_az_request');
    const job = fake.jobs.get('job_az_request')!;
    const ws = fake.workspacePath;
    expect(job.body.properties).toMatchObject({
      jobType: 'Command',
      experimentName: 'finetune-mcp',
      command: 'cd ${{inputs.job}} && python /opt/finetune-mcp/trainer/trainer.py --spec spec.json --job-dir ${{outputs.job_dir}}',
      computeId: `${ws}/computes/gpu-cluster`,
      environmentId: expect.stringMatching(new RegExp(`^${ws.replace(/[/.]/g, '\\$&')}/environments/finetune-mcp-trainer/versions/[0-9a-f]{12}$`)),
      inputs: { job: { jobInputType: 'uri_folder', uri: 'azureml://datastores/workspaceblobstore/paths/finetune-mcp/job_az_request/input/', mode: 'ReadOnlyMount' } },
      outputs: { job_dir: { jobOutputType: 'uri_folder', uri: 'azureml://datastores/workspaceblobstore/paths/finetune-mcp/job_az_request/job/', mode: 'ReadWriteMount' } },
      resources: { instanceCount: 1 },
      limits: { jobLimitsType: 'Command', timeout: 'PT86400S' },
      properties: { finetune_mcp_job_id: 'job_az_request' },
    });
    expect([...fake.environments.values()][0]).toMatchObject({ properties: { image: IMAGE, osType: 'Linux' } });
    const uploads = fake.http.requests.filter((r) => r.method === 'PUT' && r.path.includes('/job_az_request/input/'));
    expect(uploads.map((r) => r.path.split('/').at(-1))).toEqual(['spec.json', 'train.jsonl', 'validation.jsonl']);
    expect(uploads.every((r) => r.headers.authorization === `Bearer ${FAKE_TOKENS.storage}` && r.headers['x-ms-blob-type'] === 'BlockBlob')).toBe(true);
    expect(job.spec).toMatchObject({ dataset: { train_path: 'train.jsonl', validation_path: 'validation.jsonl' }, model: { dir: '' } });
    const end = await run.pollUntil(undefined, { waitMs: 5 });
    fake.startTicks = 3;
    const out = 'azureml://datastores/workspaceblobstore/paths/finetune-mcp/job_az_request/job';
    expect(end).toMatchObject({ status: 'succeeded', result: { model_ref: `azureml:${out}/output/adapter` } });
    expect(run.statuses).toEqual(['queued', 'running', 'succeeded']);
    expect(run.series('loss').map(([step]) => step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(run.checkpoints[0]).toEqual({ step: 4, model_ref: `azureml:${out}/checkpoints/checkpoint-4` });
    // Ranged reads: after the first, each read starts where the last complete line ended.
    const ranges = fake.http.requests.filter((r) => r.path === '/sas/ftmstorage/job_az_request').map((r) => Number(/bytes=(\d+)-/.exec(String(r.headers.range))?.[1]));
    expect(ranges.length).toBeGreaterThan(2);
    expect(ranges).toEqual([...ranges].sort((a, b) => a - b));
  });

  it('runs instance_count nodes with the PyTorch distribution, one process per GPU of the VM size (or num_gpus); one GPU in all stays undistributed', async () => {
    const b = await backend();
    fake.stepMs = 5;
    const nodes = new RemoteRun(b, spec('job_az_nodes', { hyperparameters: { max_steps: 6 }, backend_options: { instance_type: 'Standard_ND96amsr_A100_v4', instance_count: 2 } }));
    await nodes.submit();
    const body = fake.jobs.get('job_az_nodes')!.body.properties;
    expect(body.resources).toEqual({ instanceCount: 2 });
    expect(body.distribution).toEqual({ distributionType: 'PyTorch', processCountPerInstance: 8 });
    // A distributed job logs per process: progress comes from rank 0's std_log_process_0.txt.
    expect((await nodes.pollUntil(undefined, { waitMs: 5 })).status).toBe('succeeded');
    expect(nodes.series('loss').length).toBeGreaterThan(0);
    expect(fake.http.requests.some((r) => r.path.endsWith('/user_logs/std_log_process_0.txt'))).toBe(true);
    await new RemoteRun(b, spec('job_az_two', { backend_options: { num_gpus: 2 } })).submit();
    expect(fake.jobs.get('job_az_two')!.body.properties).toMatchObject({ resources: { instanceCount: 1 }, distribution: { distributionType: 'PyTorch', processCountPerInstance: 2 } });
    await new RemoteRun(b, spec('job_az_one')).submit();
    expect(fake.jobs.get('job_az_one')!.body.properties.distribution).toBeUndefined();
    const quote = await b.quote!(spec('job_az_q', { backend_options: { instance_type: 'Standard_ND96amsr_A100_v4', instance_count: 2 } }), { tokens: 1, seconds: 3600, device: 'A100-80GB', calibrate: false });
    expect(quote.usd).toBeCloseTo(2 * 32.77, 6);
    const issues = await b.validate!(spec('job_az_bad', { backend_options: { instance_count: 0, num_gpus: 'all', output_uri: 'abfs://models@acmestore.dfs.core.windows.net/ftm' } }));
    expect(issues.map((i) => [i.code, i.field])).toEqual([
      ['CONFIG_INVALID', 'backend_options.instance_count'],
      ['CONFIG_INVALID', 'backend_options.num_gpus'],
    ]);
  });

  it('translates Azure errors: a rejected token, no blob role, no credential at all, a missing compute, a throttled read, a name taken', async () => {
    const b = await backend();
    const wrong = await connectTestClient({ plugins: [azuremlPluginWith({ credential: { getToken: async () => ({ token: 'expired' }) } })], env, config: config() });
    try {
      await expect(new RemoteRun(await backend(wrong), spec('job_az_badtoken')).submit()).rejects.toMatchObject({ code: 'AUTH_INVALID', message: expect.stringMatching(/InvalidAuthenticationToken|access token is invalid/) });
    } finally {
      await wrong.close();
    }
    const none = await connectTestClient({ plugins: [azuremlPluginWith({ credential: { getToken: async () => Promise.reject(new Error('DefaultAzureCredential failed to retrieve a token from the included credentials.')) } })], env, config: config() });
    try {
      await expect(new RemoteRun(await backend(none), spec('job_az_nocred')).submit()).rejects.toMatchObject({ code: 'AUTH_INVALID', message: expect.stringMatching(/no credential.*DefaultAzureCredential/) });
    } finally {
      await none.close();
    }
    fake.http.fail({ method: 'PUT', path: /^\/blob\//, times: 1, reply: blobError(403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.') });
    await expect(new RemoteRun(b, spec('job_az_norole')).submit()).rejects.toMatchObject({ code: 'AUTH_INVALID', message: expect.stringMatching(/Azure Blob Storage refused uploading.*AuthorizationPermissionMismatch/) });
    expect(fake.jobs.has('job_az_norole')).toBe(false);

    await expect(new RemoteRun(b, spec('job_az_nocompute', { backend_options: { compute: 'cpu-cluster' } })).submit()).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/Compute .*cpu-cluster is not found/) });

    const run = new RemoteRun(b, spec('job_az_throttled'));
    await run.submit();
    fake.http.fail({ method: 'GET', path: /\/jobs\/job_az_throttled$/, times: 1, reply: { ...armError(429, 'TooManyRequests', 'Rate limit exceeded.'), headers: { 'retry-after': '0' } } });
    expect(['queued', 'running', 'succeeded']).toContain((await run.poll()).status);

    const other = spec('job_az_other');
    await new RemoteRun(b, other).submit();
    fake.jobs.get('job_az_other')!.body.properties.properties.finetune_mcp_job_id = 'job_someone_else';
    await expect(new RemoteRun(b, other).submit()).rejects.toMatchObject({ code: 'STATE_CONFLICT' });
  });

  it('cancels a running job; cancelling it again is not an error; a job Azure ML never had is NOT_FOUND', async () => {
    fake.stepMs = 10;
    const run = new RemoteRun(await backend(), spec('job_az_stop', { hyperparameters: { max_steps: 1000 } }));
    await run.submit();
    await run.pollUntil(['running'], { waitMs: 5 });
    await run.backend.cancel(run.remote_id, run.ctx);
    await run.backend.cancel(run.remote_id, run.ctx);
    expect((await run.pollUntil(['cancelled', 'failed', 'succeeded'], { waitMs: 5 })).status).toBe('cancelled');
    await run.backend.cancel(run.remote_id, run.ctx);
    await expect(run.backend.poll('job_nowhere', run.ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('plans for the azureml backend (VM sizes priced from the dated table)', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await connectTestClient({ plugins: [plugin], env: { AZURE_SUBSCRIPTION_ID: SUBSCRIPTION }, config: { plugins: { azureml: { resource_group: 'ml-rg', workspace: 'ml-ws', compute: 'gpu-cluster', image: IMAGE } } } });
  });
  afterAll(() => t.close());

  it('14B LoRA is no-go on a T4 cluster, naming what fits; 7B goes on NC24ads_A100_v4 priced per VM-hour with date and source; a 7B full fine-tune does not fit one A100-80GB and names the sharded options', async () => {
    const dataset_id = await prepareTestDataset(t, { rows: 60 });
    const plan = async (base_model: string, backend_options: Record<string, unknown>) => {
      const config = await t.callOk(configureTrainingTool, { base_model, dataset_id, backend: 'azureml', approach: 'lora', method: 'sft', template: 'smoke', backend_options });
      return t.callOk(planTrainingTool, { config_id: config.config_id, detail: true });
    };
    const t4 = await plan('Qwen/Qwen2.5-14B-Instruct', { instance_type: 'Standard_NC4as_T4_v3' });
    expect(t4.verdict, t4.reasons.join(' ')).toBe('no_go');
    expect(t4.reasons[0]).toMatch(/^\[OUT_OF_MEMORY\].*T4 has 16 GB\. A100-80GB fits\./);
    const a100 = await plan('Qwen/Qwen2.5-7B-Instruct', { instance_type: 'Standard_NC24ads_A100_v4' });
    expect(a100.verdict, a100.reasons.join(' ')).toBe('go');
    expect(a100.estimate_detail!.cost.formula).toMatch(
      /^1 × Standard_NC24ads_A100_v4 \(1 × A100-80GB\) for [\d.]+ h at \$3\.673\/h: Azure VM \(Azure ML compute\) on-demand list price, East US, approximate as of 2026-12-05 \(https:\/\/azure\.microsoft\.com\/pricing\/details\/virtual-machines\/linux\/\)$/,
    );
    const big = await plan('meta-llama/Llama-3.1-70B-Instruct', { instance_type: 'Standard_NC24ads_A100_v4' });
    expect(big.verdict).toBe('no_go');
    expect(big.reasons[0]).toMatch(/^\[OUT_OF_MEMORY\].*A100-80GB has 80 GB\. No listed device fits: use LoRA\/QLoRA/);
    const full = await t.callOk(configureTrainingTool, { base_model: 'Qwen/Qwen2.5-7B-Instruct', dataset_id, backend: 'azureml', approach: 'full', method: 'sft', template: 'smoke', backend_options: { instance_type: 'Standard_NC24ads_A100_v4' } });
    const fullPlan = await t.callOk(planTrainingTool, { config_id: full.config_id });
    expect(fullPlan.verdict).toBe('no_go');
    // 7B × 16 bytes (bf16 weights, gradients, AdamW m, v, float32 master) ≈ 104 GB; two A100-80GB share it.
    expect(fullPlan.reasons[0]).toMatch(/^\[OUT_OF_MEMORY\] Needs ~10\d\.\d\d GB per device; 1 × A100-80GB has 80 GB\. 2×A100-80GB \(80 GB\) with ZeRO-3 sharding \(FSDP full_shard\) fits at ~5\d\.\d GB each: set backend_options\.num_gpus \/ num_nodes \(ray\) or instance_count on A100-80GB machines\.$/);
  });
});
