import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rayPlugin } from '../../plugins/ray/index.js';
import { listBackendsTool } from '../../tools/list-backends.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { FakeKube } from './fake-kube.js';
import { FakeRay } from './fake-ray.js';
import { asRemote, chatRows, makeSpec, RemoteRun } from './support.js';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const FAST = { poll_interval_ms: 5, max_poll_interval_ms: 20, max_retries: 1, storage_dir: '/mnt/shared/ftm' };

describe('ray plugin, kuberay mode, against a local fake Kubernetes API (RayJob custom objects) and Ray dashboard', () => {
  let ray: FakeRay;
  let kube: FakeKube;
  let env: Record<string, string>;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    ray = new FakeRay();
    ray.stepMs = 15;
    kube = new FakeKube(ray);
    await ray.start();
    await kube.start();
    kube.dashboardURL = ray.http.url.replace(/^http:\/\//, '');
    env = { KUBECONFIG: kube.kubeconfig('ml'), RAY_AUTH_TOKEN: ray.token, HOME: mkdtempSync(join(tmpdir(), 'ftm-home-')) };
  });
  afterAll(async () => {
    for (const t of clients) await t.close();
    await kube.stop();
    await ray.stop();
  });

  async function backend(kuberay: Record<string, unknown> = { image: 'registry.example/finetune-mcp-trainer:0.1.0' }, extraEnv: Record<string, string> = {}) {
    const t = await connectTestClient({ plugins: [rayPlugin], env: { ...env, ...extraEnv }, config: { plugins: { ray: { ...FAST, mode: 'kuberay', kuberay } } } });
    clients.push(t);
    return asRemote(await t.services.plugins.get('training_backend', 'ray'));
  }
  const spec = (job_id: string, extra: Partial<Parameters<typeof makeSpec>[0]> = {}) => {
    const s = makeSpec({ backend: 'ray', base_model: MODEL, approach: 'lora', rows: chatRows(4), hyperparameters: { max_steps: 8, save_steps: 4 }, backend_options: { gpu_type: 'A10G' }, ...extra });
    s.job_id = job_id;
    return s;
  };

  it('is disabled without Kubernetes credentials, or without an image or cluster selector, saying how to fix it', async () => {
    const cases = [
      { env: { HOME: mkdtempSync(join(tmpdir(), 'ftm-nokube-')) }, kuberay: { image: 'x' }, reason: /no Kubernetes credentials/, fix: /KUBECONFIG/ },
      { env: { KUBECONFIG: join(tmpdir(), 'no-such-kubeconfig') }, kuberay: { image: 'x' }, reason: /KUBECONFIG names/, fix: /KUBECONFIG/ },
      { env, kuberay: {}, reason: /neither plugins\.ray\.kuberay\.image/, fix: /trainer\/Dockerfile/ },
      { env, kuberay: { image: 'x', submission_mode: 'K8sJobMode' }, reason: /submits by itself/, fix: /InteractiveMode/ },
    ];
    for (const c of cases) {
      const t = await connectTestClient({ plugins: [rayPlugin], env: c.env, config: { plugins: { ray: { mode: 'kuberay', kuberay: c.kuberay } } } });
      try {
        const { backends } = await t.callOk(listBackendsTool);
        expect(backends[0]).toMatchObject({ name: 'ray', status: 'disabled', reason: expect.stringMatching(c.reason), fix: expect.stringMatching(c.fix) });
      } finally {
        await t.close();
      }
    }
  });

  it('creates a RayJob with the Jobs-mode entrypoint and a GPU cluster spec, submits in InteractiveMode, and follows it to success with steps and loss from the dashboard logs', async () => {
    const run = new RemoteRun(await backend({ image: 'registry.example/trainer:0.1.0', active_deadline_seconds: 3600, workers: { gpus: 1, replicas: 2 } }), spec('job_kr_walk'));
    expect(await run.submit()).toBe('ftm-job-kr-walk');
    const object = kube.rayjobs.get('ml/ftm-job-kr-walk')!;
    expect(object).toMatchObject({ apiVersion: 'ray.io/v1', kind: 'RayJob', metadata: { name: 'ftm-job-kr-walk', namespace: 'ml' } });
    expect(object.spec).toMatchObject({
      entrypoint: 'python /opt/finetune-mcp/trainer/trainer.py --spec spec.json --job-dir /mnt/shared/ftm/job_kr_walk',
      jobId: 'job_kr_walk',
      submissionMode: 'InteractiveMode',
      shutdownAfterJobFinishes: true,
      ttlSecondsAfterFinished: 300,
      activeDeadlineSeconds: 3600,
      entrypointNumGpus: 1,
      entrypointResources: JSON.stringify({ 'accelerator_type:A10G': 0.001 }),
    });
    expect(JSON.parse(object.spec.runtimeEnvYAML)).toMatchObject({ working_dir: expect.stringMatching(/^gcs:\/\/_ray_pkg_[0-9a-f]{32}\.zip$/), env_vars: { PYTHONUNBUFFERED: '1' } });
    const worker = object.spec.rayClusterSpec.workerGroupSpecs[0];
    expect(worker).toMatchObject({ groupName: 'gpu', replicas: 2 });
    expect(worker.template.spec.containers[0]).toMatchObject({ image: 'registry.example/trainer:0.1.0', resources: { limits: { 'nvidia.com/gpu': 1 } } });
    expect(object.spec.rayClusterSpec.headGroupSpec.template.spec.containers[0].image).toBe('registry.example/trainer:0.1.0');
    expect(object.spec.clusterSelector).toBeUndefined();
    // Nothing reaches the cluster's dashboard before KubeRay has brought the cluster up.
    expect(ray.jobs.has('job_kr_walk')).toBe(false);

    const end = await run.pollUntil(undefined, { waitMs: 5 });
    expect(end).toMatchObject({ status: 'succeeded', result: { model_ref: 'ray:/mnt/shared/ftm/job_kr_walk/output/adapter' } });
    expect(run.statuses).toEqual(['queued', 'running', 'succeeded']);
    expect(ray.jobs.get('job_kr_walk')!.body.entrypoint).toBe(object.spec.entrypoint);
    expect(run.series('loss').map(([step]) => step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(run.checkpoints[0]).toEqual({ step: 4, model_ref: 'ray:/mnt/shared/ftm/job_kr_walk/checkpoints/checkpoint-4' });
    expect(kube.http.requests.every((r) => r.headers.authorization === `Bearer ${kube.token}`)).toBe(true);
  });

  it('sizes the cluster it creates to the job: a 2-node × 4-GPU job gets 2 workers of 4 GPUs and the Ray Train driver', async () => {
    const run = new RemoteRun(await backend({ image: 'registry.example/trainer:0.1.0', workers: { gpus: 1, replicas: 1 } }), spec('job_kr_nodes', { backend_options: { num_gpus: 4, num_nodes: 2 } }));
    await run.submit();
    const object = kube.rayjobs.get('ml/ftm-job-kr-nodes')!;
    expect(object.spec).toMatchObject({ entrypoint: 'python /opt/finetune-mcp/trainer/ray_train.py --spec spec.json --job-dir /mnt/shared/ftm/job_kr_nodes --num-nodes 2 --gpus-per-node 4', entrypointNumGpus: 0 });
    const worker = object.spec.rayClusterSpec.workerGroupSpecs[0];
    expect(worker).toMatchObject({ replicas: 2, minReplicas: 2, maxReplicas: 2 });
    expect(worker.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(4);
  });

  it('re-attaches when a retried create gets 409 AlreadyExists for its own job, and refuses a stale RayJob of another job', async () => {
    const b = await backend();
    const s = spec('job_kr_retry');
    expect(await new RemoteRun(b, s).submit()).toBe('ftm-job-kr-retry');
    expect(await new RemoteRun(b, s).submit()).toBe('ftm-job-kr-retry');
    expect(kube.http.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/rayjobs')).length).toBeGreaterThanOrEqual(2);
    expect([...kube.rayjobs.keys()].filter((k) => k.endsWith('job-kr-retry'))).toHaveLength(1);
    kube.rayjobs.get('ml/ftm-job-kr-retry')!.spec.jobId = 'job_someone_else';
    await expect(new RemoteRun(b, s).submit()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('runs job job_someone_else') });
  });

  it('runs on an existing cluster with clusterSelector (no rayClusterSpec, nothing to shut down)', async () => {
    const run = new RemoteRun(await backend({ cluster_selector: { 'ray.io/cluster': 'gpu-pool' } }), spec('job_kr_selector'));
    await run.submit();
    const object = kube.rayjobs.get('ml/ftm-job-kr-selector')!;
    expect(object.spec.clusterSelector).toEqual({ 'ray.io/cluster': 'gpu-pool' });
    expect(object.spec.rayClusterSpec).toBeUndefined();
    expect(object.spec.shutdownAfterJobFinishes).toBeUndefined();
    expect((await run.pollUntil(undefined, { waitMs: 5 })).status).toBe('succeeded');
  });

  it('answers 403 with AUTH_INVALID naming the RBAC refusal and the Role to grant', async () => {
    kube.forbidden.add('locked');
    const b = await backend({ image: 'x', namespace: 'locked' });
    const error = await new RemoteRun(b, spec('job_kr_403')).submit().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'AUTH_INVALID', message: expect.stringContaining('cannot create resource "rayjobs" in API group "ray.io"'), recovery: expect.stringContaining('rayjobs.ray.io') });
  });

  it('follows the status only when the dashboard stops answering, saying so once', async () => {
    const run = new RemoteRun(await backend(), spec('job_kr_nologs'));
    await run.submit();
    await run.pollUntil(['running'], { waitMs: 5 });
    const outage = { method: 'GET', path: /\/logs$/, times: 1000, reply: { status: 503, body: 'dashboard unavailable', headers: { 'content-type': 'text/plain' } } };
    ray.http.fail(outage);
    try {
      const end = await run.pollUntil(undefined, { waitMs: 5 });
      expect(end.status).toBe('succeeded');
      expect(run.events.filter((e) => /dashboard is not reachable/.test(e.message))).toHaveLength(1);
    } finally {
      outage.times = 0;
    }
  });

  it('cancels by deleting the RayJob (its finalizer stops the Ray job); a second cancel is harmless; the job reads as cancelled', async () => {
    const run = new RemoteRun(await backend(), spec('job_kr_cancel', { hyperparameters: { max_steps: 1000 } }));
    await run.submit();
    await run.pollUntil(['running'], { waitMs: 5 });
    await run.backend.cancel(run.remote_id, run.ctx);
    await run.backend.cancel(run.remote_id, run.ctx);
    expect(kube.rayjobs.has('ml/ftm-job-kr-cancel')).toBe(false);
    expect(ray.jobs.get('job_kr_cancel')!.stoppedAt).toBeDefined();
    expect((await run.poll()).status).toBe('cancelled');
    expect(kube.http.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
  });
});
