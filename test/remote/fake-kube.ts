import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeRay } from './fake-ray.js';
import { HttpFake, type Reply } from './http-fake.js';

/**
 * A local stand-in for the Kubernetes API server's custom-objects endpoints for KubeRay's RayJob
 * (POST/GET/PATCH/DELETE /apis/ray.io/v1/namespaces/{ns}/rayjobs[/{name}], metav1.Status bodies for
 * 401/403/404/409), with a small operator that walks a RayJob as KubeRay does: New → Initializing →
 * Waiting (InteractiveMode; dashboardURL set) → Running once the Ray job exists on the cluster's
 * dashboard (a FakeRay) → Complete (SUCCEEDED / STOPPED) or Failed (AppFailed). Deleting a RayJob
 * stops its Ray job, as KubeRay's finalizer does.
 */
export class FakeKube {
  readonly http: HttpFake;
  readonly rayjobs = new Map<string, Record<string, any>>();
  /** Namespaces where the token may not create RayJobs (a 403 as RBAC gives it). */
  readonly forbidden = new Set<string>();
  /** The dashboard address the operator writes into status.dashboardURL (host:port, no scheme, as KubeRay does). */
  dashboardURL = '';
  private uid = 0;

  constructor(
    private readonly ray: FakeRay,
    readonly token = 'kube-token-0123456789',
  ) {
    this.http = new HttpFake((request) => (request.headers.authorization === `Bearer ${this.token}` ? undefined : status(401, 'Unauthorized', 'Unauthorized')));
    const base = /^\/apis\/ray\.io\/v1\/namespaces\/([a-z0-9-]+)\/rayjobs/;
    const one = new RegExp(`${base.source}\\/([a-z0-9-]+)$`);
    this.http
      .on('POST', new RegExp(`${base.source}$`), (request, [ns]) => this.create(ns!, JSON.parse(request.body.toString('utf8'))))
      .on('GET', one, (_r, [ns, name]) => this.withJob(ns!, name!, (job) => ({ status: 200, body: this.reconcile(job) })))
      .on('PATCH', one, (request, [ns, name]) =>
        this.withJob(ns!, name!, (job) => {
          mergePatch(job, JSON.parse(request.body.toString('utf8')));
          return { status: 200, body: job };
        }),
      )
      .on('DELETE', one, (_r, [ns, name]) =>
        this.withJob(ns!, name!, (job) => {
          // The finalizer: stop the Ray job on its cluster, then the object goes.
          const rayJob = this.ray.jobs.get(job.spec.jobId);
          if (rayJob && !rayJob.stoppedAt) rayJob.stoppedAt = Date.now();
          this.rayjobs.delete(`${ns}/${name}`);
          return { status: 200, body: { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name, group: 'ray.io', kind: 'rayjobs', uid: job.metadata.uid } } };
        }),
      );
  }

  async start(): Promise<string> {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  /** A kubeconfig file in a fresh temp folder pointing at this server, as `kubectl config view --raw` writes one. */
  kubeconfig(namespace = 'ml', token = this.token): string {
    const dir = mkdtempSync(join(tmpdir(), 'ftm-kube-'));
    const file = join(dir, 'config');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: ${this.http.url}`,
        // @kubernetes/client-node 1.x refuses a plain-http server unless TLS checks are off (kubectl does not ask).
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: trainer',
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: fake',
        '  context:',
        '    cluster: fake',
        '    user: trainer',
        `    namespace: ${namespace}`,
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return file;
  }

  private create(ns: string, body: Record<string, any>): Reply {
    const name = body?.metadata?.name as string | undefined;
    if (this.forbidden.has(ns)) {
      return status(403, 'Forbidden', `rayjobs.ray.io is forbidden: User "system:serviceaccount:${ns}:finetune-mcp" cannot create resource "rayjobs" in API group "ray.io" in the namespace "${ns}"`);
    }
    if (!name || body.kind !== 'RayJob' || body.apiVersion !== 'ray.io/v1') return status(422, 'Invalid', `RayJob.ray.io "${name}" is invalid: metadata.name: Required value`);
    if (this.rayjobs.has(`${ns}/${name}`)) return status(409, 'AlreadyExists', `rayjobs.ray.io "${name}" already exists`, { name, group: 'ray.io', kind: 'rayjobs' });
    const job = { ...body, metadata: { ...body.metadata, namespace: ns, uid: `uid-${++this.uid}`, resourceVersion: '1', creationTimestamp: new Date().toISOString() }, status: {} };
    this.rayjobs.set(`${ns}/${name}`, job);
    return { status: 201, body: job };
  }

  private withJob(ns: string, name: string, then: (job: Record<string, any>) => Reply): Reply {
    const job = this.rayjobs.get(`${ns}/${name}`);
    return job ? then(job) : status(404, 'NotFound', `rayjobs.ray.io "${name}" not found`, { name, group: 'ray.io', kind: 'rayjobs' });
  }

  /** One step of the operator per read: the cluster comes up, then the Ray job's status is mirrored. */
  private reconcile(job: Record<string, any>): Record<string, any> {
    const s = job.status as Record<string, any>;
    const deployment = s.jobDeploymentStatus ?? '';
    if (deployment === '') Object.assign(s, { jobDeploymentStatus: 'Initializing', jobId: job.spec.jobId, rayClusterName: `${job.metadata.name}-raycluster` });
    else if (deployment === 'Initializing') Object.assign(s, { jobDeploymentStatus: job.spec.submissionMode === 'InteractiveMode' ? 'Waiting' : 'Running', dashboardURL: this.dashboardURL });
    else {
      const rayJob = this.ray.jobs.get(s.jobId);
      if (!rayJob) return job;
      const ray = this.ray.details(rayJob);
      s.jobStatus = ray.status;
      if (deployment === 'Waiting') s.jobDeploymentStatus = 'Running';
      if (ray.status === 'SUCCEEDED' || ray.status === 'STOPPED') s.jobDeploymentStatus = 'Complete';
      if (ray.status === 'FAILED') Object.assign(s, { jobDeploymentStatus: 'Failed', reason: 'AppFailed', message: ray.message });
    }
    return job;
  }
}

/** A metav1.Status body, as the API server answers every error. */
function status(code: number, reason: string, message: string, details?: Record<string, unknown>): Reply {
  return { status: code, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code } };
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: Record<string, any>, patch: Record<string, any>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key];
    else if (typeof value === 'object' && !Array.isArray(value) && typeof target[key] === 'object' && target[key] !== null) mergePatch(target[key], value);
    else target[key] = value;
  }
}
