import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FinetuneError,
  isFinetuneError,
  writeFileAtomic,
  type Quote,
  type QuoteBasis,
  type RemoteJobContext,
  type RemotePoll,
  type RemoteTrainingBackend,
  type RestClient,
  type SpecIssue,
  type TrainingSpec,
} from '../../src/plugin-sdk/index.js';
import { jobLayout, jobSubmission, readTrainerLogs, STATUS, submitToDashboard, trainerOutcome, uploadPackage, type JobSubmission, type LogCursor, type RayBackend } from './backend.js';
import type { KubeRayConfig, RayConfig } from './config.js';
import type { RayJobObject, RayJobs } from './kube.js';

/** What a kuberay poll keeps besides the log cursor: whether we submitted, asked to cancel, or lost the dashboard. */
interface KubeRayState extends LogCursor {
  submitted?: boolean;
  cancel_requested?: boolean;
  logs_unreachable?: boolean;
}

/** The RayJob's name for our job id: a DNS-1123 label (lower case, digits, dashes). */
function rayJobName(jobId: string): string {
  return `ftm-${jobId.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`.slice(0, 63).replace(/-+$/, '');
}

/** A deployment status of KubeRay's before the Ray job has a status of its own. */
const WAITING = new Set(['', 'Initializing', 'Waiting', 'Scheduling', 'Scheduled', 'Retrying']);

/**
 * The container trainer as a KubeRay RayJob custom resource: the same entrypoint and working_dir
 * package as the Jobs API mode, on a cluster KubeRay creates from rayClusterSpec or an existing
 * one picked by clusterSelector. Status comes from the RayJob; logs, when the cluster's dashboard is
 * reachable, through the same trainer-event parser.
 */
export class KubeRayBackend implements RemoteTrainingBackend {
  readonly kind = 'remote';
  readonly poll_interval_ms: { initial: number; max: number };

  constructor(
    private readonly jobs: RayJobs,
    private readonly config: RayConfig,
    /** The Jobs API client of a dashboard address (status.dashboardURL, or plugins.ray.address). */
    private readonly dashboard: (address: string) => RestClient,
    /** The Jobs-mode backend: pricing and pre-flight checks are the same. */
    private readonly common: Pick<RayBackend, 'quote' | 'validate'>,
  ) {
    this.poll_interval_ms = { initial: config.poll_interval_ms, max: config.max_poll_interval_ms };
  }

  quote(spec: TrainingSpec, basis: QuoteBasis): Promise<Quote> {
    return this.common.quote(spec, basis);
  }

  validate(spec: TrainingSpec): Promise<SpecIssue[]> {
    return this.common.validate(spec);
  }

  async submit(job: { job_id: string; spec: TrainingSpec; files: { train: string; validation?: string } }, ctx: RemoteJobContext): Promise<{ remote_id: string }> {
    const submission = jobSubmission(job, this.config);
    // Kept in the job folder: in InteractiveMode it is uploaded once the cluster is up, perhaps after a restart.
    writeFileAtomic(packagePath(ctx), submission.zip);
    ctx.state.submission = submission.body;
    const k = this.config.kuberay;
    if (k.submission_mode !== 'InteractiveMode') {
      // KubeRay submits by itself: the package must be on the (existing) cluster before the RayJob exists.
      await uploadPackage(this.dashboard(this.config.address!), submission, ctx.signal);
    }
    const name = rayJobName(job.job_id);
    try {
      await this.jobs.create(rayJobBody(name, submission, this.config, jobLayout(job.spec.config.backend_options)));
    } catch (error) {
      // A create retried after its answer was lost: the RayJob of that name is ours (same job id).
      if (!(isFinetuneError(error) && error.details.status === 409)) throw error;
      const existing = await this.jobs.get(name);
      if (existing.spec.jobId !== job.job_id) {
        throw new FinetuneError('CONFIG_INVALID', `RayJob ${this.jobs.namespace}/${name} exists and runs job ${String(existing.spec.jobId)}, not ${job.job_id}.`, {
          recovery: `Delete it (kubectl delete rayjob -n ${this.jobs.namespace} ${name}) if it is stale, then start the job again.`,
        });
      }
    }
    return { remote_id: name };
  }

  async poll(remoteId: string, ctx: RemoteJobContext): Promise<RemotePoll> {
    const state = ctx.state as KubeRayState;
    let object: RayJobObject;
    try {
      object = await this.jobs.get(remoteId);
    } catch (error) {
      // Cancelling deletes the RayJob: once it is gone, the job is cancelled.
      if (state.cancel_requested && isFinetuneError(error) && error.code === 'NOT_FOUND') return { status: 'cancelled', message: `RayJob ${remoteId} was deleted on request.` };
      throw error;
    }
    const status = object.status ?? {};
    const deployment = status.jobDeploymentStatus ?? '';
    const dashboard = status.dashboardURL ? this.dashboard(/^https?:\/\//.test(status.dashboardURL) ? status.dashboardURL : `http://${status.dashboardURL}`) : undefined;
    const submissionId = status.jobId || String(object.spec.jobId);
    if (this.config.kuberay.submission_mode === 'InteractiveMode' && deployment === 'Waiting' && !state.submitted) {
      if (!dashboard) return { status: 'queued', message: `RayJob ${remoteId}: waiting for the cluster's dashboard address.` };
      await this.submitWaiting(dashboard, ctx);
      state.submitted = true;
    }
    const found = dashboard && !state.logs_unreachable ? await this.logs(dashboard, submissionId, state, ctx) : { events: [] };
    const ours = mapStatus(status.jobStatus ?? '', deployment, object.metadata.deletionTimestamp !== undefined);
    return trainerOutcome(found, ours, remoteId, state, this.config, {
      message: status.message || `RayJob ${remoteId}: ${deployment || 'New'}${status.jobStatus ? `, Ray job ${status.jobStatus}` : ''}.`,
      // KubeRay's own reasons: a deadline is the budget's doing, a submission that failed the config's.
      error_code: status.reason === 'DeadlineExceeded' ? 'TIMEOUT' : status.reason === 'SubmissionFailed' ? 'CONFIG_INVALID' : undefined,
      reason: status.reason,
      job_dir_id: submissionId,
    });
  }

  /**
   * Deletes the RayJob. KubeRay documents `suspend` for queueing (Kueue): a suspended job is resumed
   * later and starts over, it needs shutdownAfterJobFinishes and it cannot apply to an existing
   * cluster (clusterSelector). Deleting is its documented way to end a job: the operator's finalizer
   * stops the Ray job through the dashboard, then the cluster it created goes with it.
   */
  async cancel(remoteId: string, ctx: RemoteJobContext): Promise<void> {
    (ctx.state as KubeRayState).cancel_requested = true;
    try {
      await this.jobs.remove(remoteId);
    } catch (error) {
      if (!(isFinetuneError(error) && error.code === 'NOT_FOUND')) throw error;
    }
  }

  /** InteractiveMode: the cluster is up and KubeRay waits for the job, which is submitted here under the RayJob's jobId. */
  private async submitWaiting(dashboard: RestClient, ctx: RemoteJobContext): Promise<void> {
    const path = packagePath(ctx);
    if (!existsSync(path)) throw new FinetuneError('NOT_FOUND', `The job package ${path} is gone, so the waiting RayJob cannot be given its job.`, { recovery: 'Start the job again.' });
    const zip = readFileSync(path);
    const submission = (ctx.state as { submission?: JobSubmission['body'] }).submission;
    if (!submission) throw new FinetuneError('INTERNAL', 'The job submission body was not kept with the job.');
    try {
      await submitToDashboard(dashboard, { name: submission.runtime_env.working_dir!.toString().replace('gcs://', ''), zip, body: submission }, ctx.signal);
    } catch (error) {
      if (!isFinetuneError(error) || error.code !== 'UPSTREAM_ERROR') throw error;
      throw new FinetuneError('UPSTREAM_ERROR', `${error.message} In InteractiveMode this server submits the job through the cluster's dashboard, so it must reach it.`, {
        recovery: 'Run the server where it reaches the RayCluster head service (e.g. in the cluster), or use submission_mode K8sJobMode with cluster_selector and plugins.ray.address.',
      });
    }
  }

  /** Logs through the dashboard while it answers; once it does not, status only (said once, as a warning). */
  private async logs(dashboard: RestClient, submissionId: string, state: KubeRayState, ctx: RemoteJobContext): Promise<Omit<RemotePoll, 'status'>> {
    try {
      return await readTrainerLogs(dashboard, submissionId, state, ctx.signal);
    } catch (error) {
      if (!isFinetuneError(error) || !['UPSTREAM_ERROR', 'NOT_FOUND'].includes(error.code)) throw error;
      if (error.code === 'NOT_FOUND') return { events: [] };
      state.logs_unreachable = true;
      return { events: [{ type: 'remote_warning', level: 'warning', message: `The RayCluster's dashboard is not reachable from this server (${error.message}); following the RayJob's status only, without steps or loss.` }] };
    }
  }
}

function packagePath(ctx: RemoteJobContext): string {
  return join(ctx.output_dir, 'ray-package.zip');
}

/** RayJob status → ours: the Ray job's own status once there is one, else KubeRay's deployment status. */
function mapStatus(jobStatus: string, deployment: string, deleting: boolean): string {
  if (STATUS[jobStatus] && jobStatus !== 'PENDING') return STATUS[jobStatus]!;
  if (deployment === 'Failed') return 'failed';
  if (deleting) return 'cancelled';
  if (jobStatus === 'PENDING' || WAITING.has(deployment)) return 'queued';
  if (deployment === 'Running') return 'running';
  // Suspended, Suspending, Complete without a Ray status…: KubeRay's word, for the host to report.
  return `kuberay:${deployment}`;
}

/** The RayJob custom resource for a job. */
function rayJobBody(name: string, submission: JobSubmission, config: RayConfig, layout: ReturnType<typeof jobLayout>): Record<string, unknown> {
  const k = config.kuberay;
  const { body } = submission;
  return {
    apiVersion: 'ray.io/v1',
    kind: 'RayJob',
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'finetune-mcp', 'finetune-mcp/job-id': rayJobName(body.submission_id).slice(4) } },
    spec: {
      entrypoint: body.entrypoint,
      jobId: body.submission_id,
      submissionMode: k.submission_mode,
      // JSON is YAML: the same runtime env the Jobs API mode sends.
      runtimeEnvYAML: JSON.stringify(body.runtime_env),
      entrypointNumGpus: body.entrypoint_num_gpus,
      ...(body.entrypoint_resources ? { entrypointResources: JSON.stringify(body.entrypoint_resources) } : {}),
      metadata: body.metadata,
      ...(k.active_deadline_seconds ? { activeDeadlineSeconds: k.active_deadline_seconds } : {}),
      ...(k.cluster_selector
        ? { clusterSelector: k.cluster_selector }
        : {
            shutdownAfterJobFinishes: k.shutdown_after_job_finishes,
            ...(k.shutdown_after_job_finishes ? { ttlSecondsAfterFinished: k.ttl_seconds_after_finished } : {}),
            rayClusterSpec: rayClusterSpec(k, layout),
          }),
    },
  };
}

/**
 * A head group and one GPU worker group, both on the trainer image. The group is at least the job's
 * shape (num_nodes workers of num_gpus GPUs each), so a multi-GPU or multi-node job is never left
 * waiting for GPUs a cluster made for it lacks.
 */
function rayClusterSpec(k: KubeRayConfig, layout: ReturnType<typeof jobLayout>): Record<string, unknown> {
  const replicas = Math.max(k.workers.replicas, layout.nodes);
  const gpus = Math.max(k.workers.gpus, layout.gpus_per_node);
  const container = (name: string, resources: Record<string, string | number>) => ({
    name,
    image: k.image,
    resources: { requests: resources, limits: resources },
  });
  return {
    ...(k.ray_version ? { rayVersion: k.ray_version } : {}),
    headGroupSpec: {
      rayStartParams: { 'dashboard-host': '0.0.0.0' },
      template: { spec: { containers: [container('ray-head', { cpu: k.head.cpu, memory: k.head.memory })] } },
    },
    workerGroupSpecs: [
      {
        groupName: k.workers.group_name,
        replicas,
        minReplicas: replicas,
        maxReplicas: replicas,
        rayStartParams: {},
        template: { spec: { containers: [container('ray-worker', { cpu: k.workers.cpu, memory: k.workers.memory, ...(gpus ? { [k.workers.gpu_resource]: gpus } : {}) })] } },
      },
    ],
  };
}
