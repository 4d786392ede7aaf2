import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { FinetuneError, upstreamError } from '../../src/plugin-sdk/index.js';

type Env = Readonly<Record<string, string | undefined>>;

/** KubeRay's RayJob custom resource (ray-project/kuberay ray-operator/apis/ray/v1/rayjob_types.go). */
const RAYJOB = { group: 'ray.io', version: 'v1', plural: 'rayjobs' } as const;
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Where kubectl would find credentials: the KUBECONFIG files, ~/.kube/config, or the pod's service account. */
type KubeSource = { files: string[] } | { in_cluster: true };

/** The credentials the way kubectl looks for them, or why there are none. */
export function kubeSource(env: Env): KubeSource | { reason: string; fix: string } {
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(delimiter).filter((file) => file && existsSync(file));
    if (files.length) return { files };
    return { reason: `KUBECONFIG names ${env.KUBECONFIG}, and no such file exists.`, fix: 'Point KUBECONFIG at your kubeconfig file (the one kubectl uses), then restart.' };
  }
  const home = join(env.HOME || homedir(), '.kube', 'config');
  if (existsSync(home)) return { files: [home] };
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(SERVICE_ACCOUNT_TOKEN)) return { in_cluster: true };
  return {
    reason: 'plugins.ray.mode is "kuberay", but there are no Kubernetes credentials: KUBECONFIG is not set, ~/.kube/config does not exist and the server is not running in a pod.',
    fix: 'Set KUBECONFIG (or create ~/.kube/config, e.g. with your cloud CLI) so that `kubectl get rayjobs` works, then restart; see docs/backends/ray.md, KubeRay.',
  };
}

/** A RayJob as the API returns it: the fields this plugin reads. */
export interface RayJobObject {
  metadata: { name: string; namespace?: string; uid?: string; deletionTimestamp?: string };
  spec: Record<string, unknown>;
  status?: {
    jobId?: string;
    jobStatus?: string;
    jobDeploymentStatus?: string;
    dashboardURL?: string;
    rayClusterName?: string;
    reason?: string;
    message?: string;
  };
}

/** RayJobs in one namespace through the CustomObjectsApi, errors translated once, here. */
export class RayJobs {
  constructor(
    private readonly api: CustomObjectsApi,
    readonly namespace: string,
  ) {}

  async create(body: Record<string, unknown>): Promise<RayJobObject> {
    return (await this.call('creating', String((body.metadata as { name: string }).name), () => this.api.createNamespacedCustomObject({ ...RAYJOB, namespace: this.namespace, body }))) as RayJobObject;
  }

  async get(name: string): Promise<RayJobObject> {
    return (await this.call('reading', name, () => this.api.getNamespacedCustomObject({ ...RAYJOB, namespace: this.namespace, name }))) as RayJobObject;
  }

  /** Deletes in the background: KubeRay's finalizer stops the Ray job first, then its cluster goes. */
  async remove(name: string): Promise<void> {
    await this.call('deleting', name, () => this.api.deleteNamespacedCustomObject({ ...RAYJOB, namespace: this.namespace, name, propagationPolicy: 'Background' }));
  }

  private async call(action: string, name: string, run: () => Promise<unknown>): Promise<unknown> {
    try {
      return await run();
    } catch (error) {
      throw kubeError(error, `${action} RayJob ${this.namespace}/${name}`);
    }
  }
}

/** A Kubernetes API failure (its Status body carries reason and message) as a FinetuneError. */
function kubeError(error: unknown, action: string): FinetuneError {
  const status = (error as { code?: unknown }).code;
  if (typeof status !== 'number') {
    return new FinetuneError('UPSTREAM_ERROR', `The Kubernetes API could not be reached while ${action}: ${(error as Error).message}`, { cause: error });
  }
  const raw = (error as { body?: unknown }).body;
  let body: { message?: string; reason?: string } = {};
  try {
    body = typeof raw === 'string' ? JSON.parse(raw) : ((raw as typeof body) ?? {});
  } catch {
    body = { message: String(raw) };
  }
  const message = `${body.reason ? `${body.reason}: ` : ''}${body.message ?? (error as Error).message}`;
  const mapped = upstreamError({ provider: 'Kubernetes', action }, status, message, (error as { headers?: Record<string, string> }).headers?.['audit-id']);
  if (status === 403) {
    return new FinetuneError('AUTH_INVALID', mapped.message, {
      recovery: 'Grant the server’s Kubernetes identity the Role in docs/backends/ray.md (KubeRay): create, get, delete on rayjobs.ray.io in this namespace.',
      cause: error,
      details: { status },
    });
  }
  return mapped;
}

/** The namespace: the config's, else the kubeconfig context's, else "default" (as kubectl picks it). */
export async function rayJobs(env: Env, options: { namespace?: string; context?: string }): Promise<RayJobs> {
  const source = kubeSource(env);
  if ('reason' in source) throw new FinetuneError('PLUGIN_UNAVAILABLE', source.reason, { recovery: source.fix });
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  if ('in_cluster' in source) kc.loadFromCluster();
  else {
    kc.loadFromFile(source.files[0]!);
    // Several KUBECONFIG files merge as kubectl merges them: the first file's current-context wins.
    for (const file of source.files.slice(1)) {
      const more = new k8s.KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more, true);
    }
  }
  if (options.context) kc.setCurrentContext(options.context);
  const namespace = options.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return new RayJobs(kc.makeApiClient(k8s.CustomObjectsApi), namespace);
}
