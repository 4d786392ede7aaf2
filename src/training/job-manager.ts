import { FinetuneError, toFinetuneError } from '../errors.js';
import { isRemoteBackend, type JobHandle, type WorkerTrainingBackend } from '../plugins/providers.js';
import { createRemoteJobRunner, type RemoteJobRunner } from '../plugins/remote-jobs.js';
import type { TrainingCapabilities } from '../plugins/types.js';
import { requestCancel, signalWorker, workerAlive } from './cancel-signal.js';
import { ACTIVE_STATUSES, isTerminal, JobLedger, runningSeconds, type CheckpointRecord, type JobFilter, type JobPolicy, type JobRecord, type MetricPoint } from './ledger.js';
import type { JobManagerDeps } from './deps.js';
import { createLedgerSink } from './ledger-sink.js';
import { resolveDataset, resolveModel, type TrainingInputs } from './inputs.js';
import { refusePlan, planTraining } from './plan.js';
import { checkRuntimePolicies } from './policies.js';
import { buildSpec } from './spec.js';
import { jobDocument, jobProgress } from './views.js';
import { configureAlerts, deliverDue } from './webhook.js';

/** Attempts (first run + automatic resumes) before auto_resume gives up on a job that keeps dying. */
const MAX_AUTO_ATTEMPTS = 3;

type JobListener = (job: JobRecord) => void;

/**
 * Runs jobs on backends and keeps the ledger true: a per-backend queue, cancel and resume,
 * start-up reconciliation (dead local workers → interrupted, remote jobs re-attached), and a watch
 * loop that enforces budgets on quiet jobs, notices dead workers, feeds Prometheus and tells
 * listeners (resource subscriptions, waiting monitors) which jobs changed.
 */
export class JobManager {
  private ledger!: JobLedger;
  private readonly handles = new Map<string, JobHandle>();
  private readonly cancelling = new Map<string, number>();
  private readonly listeners = new Set<JobListener>();
  private timer: NodeJS.Timeout | undefined;
  private lastSeen = new Date(0).toISOString();
  private lastSeq = 0;
  private ticking = false;

  constructor(private readonly deps: JobManagerDeps) {}

  /** Opens the ledger (the database opens here, not at construction), reconciles unfinished jobs and starts the watch loop. */
  async open(): Promise<void> {
    const { workspace, config } = this.deps;
    this.ledger = new JobLedger(workspace.db);
    this.lastSeq = this.ledger.lastSeq();
    this.lastSeen = new Date().toISOString();
    const { alert_retry_ms, alert_max_attempts } = config.training;
    configureAlerts(workspace.db, { retry_ms: alert_retry_ms, max_attempts: alert_max_attempts });
    void deliverDue(workspace.db); // alerts a worker could not send before it exited
    await this.reconcile();
    this.timer = setInterval(() => void this.tick(), config.training.watch_interval_ms);
    this.timer.unref();
  }

  /** Stops watching and following: remote jobs run on at their provider, local workers in their own process; the next server re-attaches. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    for (const job_id of [...this.handles.keys()]) this.release(job_id);
    this.cancelling.clear();
  }

  get jobLedger(): JobLedger {
    return this.ledger;
  }

  /** Reads for tools and resources, which call the manager rather than its ledger. */
  get(job_id: string): JobRecord {
    return this.ledger.get(job_id);
  }

  list(filter: JobFilter): { jobs: JobRecord[]; total: number } {
    return this.ledger.list(filter);
  }

  /** 0 unless the job waits in its backend's queue; then 1 for the next to run, 2 behind it… */
  queuePosition(job: JobRecord): number {
    return this.ledger.queued(job.backend).findIndex((j) => j.job_id === job.job_id) + 1;
  }

  /** Metrics, best eval, events after a cursor, checkpoints, artifacts and alerts of a job (monitor_training). */
  progress(job: JobRecord, events: { cursor: number; limit: number }): ReturnType<typeof jobProgress> {
    return jobProgress(this.ledger, job, events);
  }

  /** Everything a resource reader wants about one job. */
  document(job_id: string): Record<string, unknown> {
    return jobDocument(this.ledger, job_id);
  }

  /** The series monitor_training plots, each under the first name the backend used for it. */
  trainingCurves(job_id: string): { train_loss: MetricPoint[]; eval_loss: MetricPoint[]; learning_rate: MetricPoint[] } {
    const first = (names: string[]) => names.map((n) => this.ledger.metricSeries(job_id, n)).find((s) => s.length) ?? [];
    return {
      // The local trainer and OpenAI (mapped) record `loss`; some trainers log `train_loss`.
      train_loss: first(['loss', 'train_loss']),
      eval_loss: first(['eval_loss']),
      // The local trainer records `learning_rate`; Together and Modal record `lr`.
      learning_rate: first(['learning_rate', 'lr']),
    };
  }

  onChange(listener: JobListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Creates a job from a go plan (or runs the pre-flight on a config) and queues it; returns at once. */
  async start(input: StartInput): Promise<JobRecord> {
    return (await this.startOnce(input)).job;
  }

  /**
   * start, idempotent: a plan starts one job, and so does an idempotency_key; a repeated call (an
   * agent retrying after a time-out, two concurrent calls) returns that job with `existing: true`,
   * whatever its state. The keys are claimed in the same transaction that creates the job.
   */
  async startOnce(input: StartInput): Promise<{ job: JobRecord; existing: boolean }> {
    if (!input.config_id && !input.plan_id) throw new FinetuneError('INVALID_INPUT', 'Pass config_id or plan_id.', { details: { field: 'config_id' } });
    const keyOf = (plan_id?: string) => [...(plan_id ? [`plan:${plan_id}`] : []), ...(input.idempotency_key ? [`key:${input.idempotency_key}`] : [])];
    const earlier = this.ledger.startedBy(keyOf(input.plan_id));
    if (earlier) return { job: sameStart(this.ledger.get(earlier), input), existing: true };
    let plan = input.plan_id ? this.ledger.getPlan(input.plan_id) : undefined;
    if (plan && input.config_id && plan.config_id !== input.config_id) {
      throw new FinetuneError('INVALID_INPUT', `Plan ${plan.plan_id} is for config ${plan.config_id}, not ${input.config_id}.`, { details: { field: 'plan_id' } });
    }
    // The inputs are resolved once for the whole start: by the pre-flight, or by the check below.
    let inputs: TrainingInputs | undefined;
    if (!plan) ({ plan, inputs } = await planTraining(this.deps, { config_id: input.config_id! }));
    if (plan.verdict !== 'go') throw refusePlan(plan);
    const config = this.ledger.getConfig(plan.config_id);
    inputs ??= await this.requireInputs(plan.plan_id, config);
    const estimate = plan.estimate as { time?: { value: number }; cost?: { value: number }; tokens?: { steps?: { value: number } } };
    const seconds = estimate.time?.value ?? 0;
    const policy: JobPolicy = {
      ...config.policy,
      ...plan.budget,
      ...(seconds > 0 && estimate.cost?.value ? { cost_usd_per_s: estimate.cost.value / seconds } : {}),
    };
    const created = this.ledger.createOnce(
      { job_id: input.job_id, config_id: config.config_id, plan_id: plan.plan_id, backend: config.backend, policy, total_steps: estimate.tokens?.steps?.value ?? 0 },
      keyOf(plan.plan_id),
    );
    if (created.existing) return { job: sameStart(created.job, input), existing: true };
    await this.pump(config.backend, { job_id: created.job.job_id, inputs });
    return { job: this.ledger.get(created.job.job_id), existing: false };
  }

  /**
   * A plan outlives the records it names: refuse at once when its dataset or base model was deleted
   * since, instead of queueing a job that fails at launch.
   */
  private async requireInputs(plan_id: string, config: { config_id: string; dataset_id: string; base_model: string }): Promise<TrainingInputs> {
    const unlessGone = <T>(resolving: Promise<T>) =>
      resolving.catch((error: unknown) => {
        if (toFinetuneError(error).code !== 'NOT_FOUND') throw error;
        return undefined;
      });
    // A base model given by name (not mdl_…) is the backend's to resolve: only a model record can be gone.
    const [dataset, model] = await Promise.all([unlessGone(resolveDataset(this.deps, config.dataset_id)), unlessGone(resolveModel(this.deps, config.base_model))]);
    if (dataset && model) return { dataset, model };
    const missing = [...(dataset ? [] : [`dataset ${config.dataset_id}`]), ...(model ? [] : [`base model ${config.base_model}`])];
    throw new FinetuneError('NOT_FOUND', `Plan ${plan_id} (config ${config.config_id}) trains on ${missing.join(' and ')}, which no longer exist${missing.length > 1 ? '' : 's'} (deleted).`, {
      recovery: 'Call configure_training with an existing dataset_id and base_model (list_datasets, list_models), then plan_training.',
      details: { field: 'plan_id' },
    });
  }

  /** Stops a job; idempotent (an ended job is returned as it is). */
  async cancel(job_id: string): Promise<{ job: JobRecord; already_ended: boolean }> {
    const job = this.ledger.get(job_id);
    if (isTerminal(job.status)) return { job, already_ended: true };
    if (job.status === 'queued' || job.status === 'interrupted') {
      return { job: this.finishCancel(job_id, 'Cancelled before it ran.'), already_ended: false };
    }
    requestCancel(this.deps.workspace, job_id);
    this.ledger.appendEvent(job_id, 'cancel_requested', 'Cancel requested.');
    const handle = this.handles.get(job_id);
    if (handle) await handle.cancel().catch((error: unknown) => this.deps.logger.warn({ err: error, job_id }, 'backend cancel failed'));
    this.cancelling.set(job_id, Date.now());
    const deadline = Date.now() + Math.min(this.deps.config.training.cancel_grace_ms, 5000);
    while (Date.now() < deadline && !isTerminal(this.ledger.get(job_id).status)) await sleep(50);
    const after = this.ledger.get(job_id);
    if (!isTerminal(after.status) && !handle && !workerAlive(after)) {
      return { job: this.finishCancel(job_id, 'Cancelled; no worker was running.'), already_ended: false };
    }
    return { job: after, already_ended: false };
  }

  /**
   * Queues a stopped job again, continuing from a checkpoint that exists (the latest unless one is
   * named); `budget` sets new budgets (totals for the job, counting what earlier attempts used).
   */
  async resume(job_id: string, checkpoint?: string | number, budget: ResumeBudget = {}): Promise<{ job: JobRecord; resumed_from: string | null }> {
    const job = this.ledger.get(job_id);
    if (!['interrupted', 'failed', 'cancelled'].includes(job.status)) {
      throw new FinetuneError('STATE_CONFLICT', `Job ${job_id} is '${job.status}'; only interrupted, failed or cancelled jobs resume.`, { details: { field: 'job_id', status: job.status } });
    }
    const caps = this.capabilities(job.backend);
    if (!caps.resume) throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Backend '${job.backend}' cannot resume jobs.`, { recovery: 'Start a new job with start_training.' });
    const checkpoints = this.ledger.checkpoints(job_id); // only those that still exist
    let from: string | null = checkpoints.at(-1)?.path ?? null;
    if (checkpoint !== undefined) {
      const matches = (c: CheckpointRecord) => String(c.step) === String(checkpoint) || c.path === checkpoint || c.path.endsWith(`/${checkpoint}`);
      const wanted = checkpoints.find(matches);
      if (!wanted) {
        const existing = checkpoints.map((c) => `step ${c.step}`).join(', ') || 'none';
        const removed = this.ledger.allCheckpoints(job_id).find(matches);
        throw new FinetuneError(
          'NOT_FOUND',
          removed
            ? `Checkpoint step ${removed.step} of job ${job_id} no longer exists (${removed.path} was removed, e.g. by save_total_limit, which keeps the last checkpoints and the best). Existing checkpoints: ${existing}.`
            : `Job ${job_id} has no checkpoint '${checkpoint}'. Existing checkpoints: ${existing}.`,
          { recovery: 'Pass one of the existing checkpoints (monitor_training lists them), or omit checkpoint to resume from the latest.', details: { field: 'checkpoint' } },
        );
      }
      from = wanted.path;
    }
    this.refuseSpentBudget(job, budget);
    this.ledger.requeue(job_id, from, from ? `Resuming from ${from}.` : 'Resuming from the start (no checkpoint).', budget);
    await this.pump(job.backend);
    return { job: this.ledger.get(job_id), resumed_from: from };
  }

  /**
   * Waits (bounded) until the job's status changes, or, when `events_cursor` is given, until an event
   * newer than it arrives (a checkpoint, a warning); calls `onChange` on every step of progress meanwhile.
   */
  async waitForChange(
    job_id: string,
    wait_s: number,
    signal?: AbortSignal,
    onChange?: (job: JobRecord) => Promise<void> | void,
    events_cursor?: number,
  ): Promise<JobRecord> {
    const start = this.ledger.get(job_id);
    if (isTerminal(start.status)) return start;
    const deadline = Date.now() + wait_s * 1000;
    let seen = start.updated_at;
    while (Date.now() < deadline && !signal?.aborted) {
      await sleep(Math.min(100, Math.max(1, deadline - Date.now())));
      const now = this.ledger.get(job_id);
      if (now.updated_at === seen) continue;
      seen = now.updated_at;
      await onChange?.(now);
      if (now.status !== start.status || isTerminal(now.status)) return now;
      if (events_cursor && this.ledger.eventsSince(job_id, events_cursor, 1).events.length) return now;
    }
    return this.ledger.get(job_id);
  }

  /** One pass of the watch loop; exposed so tests can drive it without waiting. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const job of this.ledger.list({ status: [...ACTIVE_STATUSES], limit: 1000 }).jobs) await this.watchActive(job);
      for (const backend of new Set(this.ledger.queued().map((j) => j.backend))) await this.pump(backend);
      this.observe();
      void deliverDue(this.ledger.db); // webhook alerts due now (retries, or left by an exited worker)
    } catch (error) {
      this.deps.logger.error({ err: error }, 'job watch loop failed');
    } finally {
      this.ticking = false;
    }
  }

  private async watchActive(job: JobRecord): Promise<void> {
    checkRuntimePolicies(this.ledger, job.job_id);
    const current = this.ledger.get(job.job_id);
    const handle = this.handles.get(job.job_id);
    if (current.cancel_requested_at && !this.cancelling.has(job.job_id)) {
      this.cancelling.set(job.job_id, Date.now());
      if (handle) await handle.cancel().catch((error: unknown) => this.deps.logger.warn({ err: error }, 'backend cancel failed'));
    }
    const since = this.cancelling.get(job.job_id);
    if (since !== undefined && Date.now() - since > this.deps.config.training.cancel_grace_ms && !isTerminal(current.status)) {
      // A local worker that ignored SIGTERM for the whole grace period is stopped for good.
      signalWorker(current, 'SIGKILL');
      this.finishCancel(job.job_id, 'The backend did not stop within the grace period; marked as cancelled.');
      return;
    }
    const caps = this.capabilities(job.backend, false);
    const followerGone = current.worker_pid !== null && current.worker_pid !== process.pid && !workerAlive(current);
    if (caps?.remote) {
      // The server that followed this remote job has exited: follow it from here.
      if (followerGone && !handle && current.remote_id) await this.reattach(current);
    } else if (followerGone && current.cancel_requested_at && !current.stop_code) {
      this.finishCancel(job.job_id, `Worker process ${current.worker_pid} ended after the cancel request.`);
    } else if (followerGone) {
      this.interrupt(current, `Worker process ${current.worker_pid} ${this.howWorkerEnded(current)} while the server was running, without reporting an end.`);
    }
  }

  /**
   * Launches queued jobs of one backend while it has free slots; one claim is atomic across processes.
   * `prepared`: the inputs a start resolved for its job, used when that job is the one launched.
   */
  private async pump(backend: string, prepared?: { job_id: string; inputs: TrainingInputs }): Promise<void> {
    // A disabled backend (no key, no binding) keeps its jobs queued until a server can run them.
    if (this.deps.plugins.status(backend)?.status !== 'enabled') return;
    const caps = this.capabilities(backend, false);
    const limit = caps?.max_concurrent_jobs ?? 1;
    for (;;) {
      const job = this.claimNext(backend, limit);
      if (!job) return;
      await this.launch(job, prepared?.job_id === job.job_id ? prepared.inputs : undefined);
    }
  }

  private claimNext(backend: string, limit: number): JobRecord | undefined {
    const claim = this.ledger.db.transaction(() => {
      const active = this.ledger.list({ status: [...ACTIVE_STATUSES], backend, limit: 1000 }).total;
      if (active >= limit) return undefined;
      const next = this.ledger.queued(backend)[0];
      if (!next) return undefined;
      return this.ledger.transition(next.job_id, 'preparing', { message: `Preparing (attempt ${next.attempt}).` });
    });
    return claim.immediate();
  }

  private async launch(job: JobRecord, inputs?: TrainingInputs): Promise<void> {
    try {
      const config = this.ledger.getConfig(job.config_id);
      const spec = await buildSpec(this.deps, config, job.job_id, job.resume_from, inputs);
      const backend = await this.runnable(job.backend);
      const sink = createLedgerSink(this.deps.workspace, job.job_id);
      const handle = await backend.start(spec, sink);
      this.handles.set(job.job_id, handle);
      if (handle.remote_id) this.ledger.update(job.job_id, { remote_id: handle.remote_id });
      // A backend without its own worker process runs inside this server, and a remote job is followed
      // by it: this pid is the job's keeper until the backend records a worker of its own.
      this.ledger.setWorkerIfUnset(job.job_id, process.pid);
    } catch (thrown) {
      const error = toFinetuneError(thrown);
      this.deps.logger.warn({ job_id: job.job_id, code: error.code, err: thrown }, 'job failed to start');
      const now = this.ledger.get(job.job_id);
      if (!isTerminal(now.status)) this.ledger.transition(job.job_id, 'failed', { error_code: error.code, message: `Backend could not start the job: ${error.message}` });
    }
  }

  /** Start-up: local jobs whose worker died become interrupted (auto-resume if asked); remote jobs are re-attached. */
  private async reconcile(): Promise<void> {
    for (const job of this.ledger.list({ status: [...ACTIVE_STATUSES], limit: 1000 }).jobs) {
      const caps = this.capabilities(job.backend, false);
      if (caps?.remote && job.remote_id) {
        // Another live server already follows it; a fresh process (or this one, restarted) takes it over.
        const followedElsewhere = job.worker_pid !== null && job.worker_pid !== process.pid && workerAlive(job);
        if (!followedElsewhere) await this.reattach(job);
      } else if (!workerAlive(job) || job.worker_pid === process.pid) {
        // The worker ended while no server watched it: say how when its exit was seen, never guess "server restart".
        this.interrupt(
          job,
          job.worker_pid === process.pid || !job.worker_pid
            ? 'The server that ran this job stopped before the job ended.'
            : `Worker process ${job.worker_pid} ${this.howWorkerEnded(job)} without reporting an end; found when this server started.`,
        );
      }
    }
    for (const job of this.ledger.list({ status: 'interrupted', limit: 1000 }).jobs) {
      if (this.mayAutoResume(job)) await this.resume(job.job_id).catch(() => undefined);
    }
  }

  private async reattach(job: JobRecord): Promise<void> {
    if (this.deps.plugins.status(job.backend)?.status !== 'enabled') {
      // Not usable in this process (no key here): the job runs on at the provider; another server can follow it.
      this.deps.logger.warn({ job_id: job.job_id, backend: job.backend }, 'cannot re-attach: backend disabled in this process');
      return;
    }
    try {
      const backend = await this.runnable(job.backend);
      if (!backend.attach) throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Backend '${job.backend}' cannot re-attach to jobs.`);
      const spec = await buildSpec(this.deps, this.ledger.getConfig(job.config_id), job.job_id, job.resume_from);
      const handle = await backend.attach(job.remote_id!, spec, createLedgerSink(this.deps.workspace, job.job_id));
      this.handles.set(job.job_id, handle);
      this.ledger.update(job.job_id, { worker_pid: process.pid });
      this.ledger.appendEvent(job.job_id, 'reattached', `Re-attached to remote job ${job.remote_id} after a server restart.`, { remote_id: job.remote_id });
    } catch (thrown) {
      const error = toFinetuneError(thrown);
      this.interrupt(job, `Could not re-attach to remote job ${job.remote_id}: [${error.code}] ${error.message}`);
    }
  }

  /** The backend as the manager drives it: a remote backend runs through the host's remote job loop. */
  private async runnable(name: string): Promise<WorkerTrainingBackend | RemoteJobRunner> {
    const backend = await this.deps.plugins.get('training_backend', name);
    return isRemoteBackend(backend) ? createRemoteJobRunner(backend, { name, logger: this.deps.logger.child({ backend: name }) }) : backend;
  }

  private interrupt(job: JobRecord, message: string): void {
    const now = this.ledger.get(job.job_id);
    if (now.status !== 'preparing' && now.status !== 'running') return;
    this.release(job.job_id);
    this.ledger.transition(job.job_id, 'interrupted', { message });
    if (this.mayAutoResume(job)) void this.resume(job.job_id).catch(() => undefined);
  }

  /** "was killed by SIGKILL" / "exited with code 1" when a backend saw the worker's exit (a worker_exited event), else "died". */
  private howWorkerEnded(job: JobRecord): string {
    const exit = this.ledger.lastEvent(job.job_id, 'worker_exited');
    const data = exit?.data as { pid?: number; signal?: string | null; code?: number | null } | undefined;
    if (!data || data.pid !== job.worker_pid) return 'died';
    return data.signal ? `was killed by ${data.signal}` : `exited with code ${data.code}`;
  }

  /** Resuming a job whose budget is used up would stop it at once: refuse, and say which budget to raise. */
  private refuseSpentBudget(job: JobRecord, budget: ResumeBudget): void {
    const policy = { ...job.policy, ...Object.fromEntries(Object.entries(budget).filter(([, v]) => v !== undefined)) };
    const ran = runningSeconds(job);
    if (policy.max_runtime_s && ran >= policy.max_runtime_s) {
      throw new FinetuneError('BUDGET_EXCEEDED', `Job ${job.job_id} has run ${ran.toFixed(1)} s of its ${policy.max_runtime_s} s runtime budget; resumed, it would stop at once.`, {
        recovery: `Call resume_training again with max_runtime_s above ${Math.ceil(ran)} (a total for the job, counting the ${Math.ceil(ran)} s already run).`,
        details: { field: 'max_runtime_s', used_s: ran, limit_s: policy.max_runtime_s },
      });
    }
    const reported = this.ledger.latestMetrics(job.job_id).cost_usd?.value;
    const cost = reported !== undefined && Number.isFinite(reported) ? reported : (policy.cost_usd_per_s ?? 0) * ran;
    if (policy.max_cost_usd && cost >= policy.max_cost_usd) {
      throw new FinetuneError('BUDGET_EXCEEDED', `Job ${job.job_id} has spent ${cost.toFixed(2)} USD of its ${policy.max_cost_usd} USD budget; resumed, it would stop at once.`, {
        recovery: `Call resume_training again with max_cost_usd above ${cost.toFixed(2)} (a total for the job).`,
        details: { field: 'max_cost_usd', used_usd: cost, limit_usd: policy.max_cost_usd },
      });
    }
  }

  /** auto_resume, within a bound: a job that keeps dying is left interrupted for a person to look at. */
  private mayAutoResume(job: JobRecord): boolean {
    if (!job.policy.auto_resume || !this.capabilities(job.backend, false)?.resume) return false;
    if (job.attempt < MAX_AUTO_ATTEMPTS) return true;
    if (!this.ledger.hasEvent(job.job_id, 'auto_resume_stopped')) {
      this.ledger.appendEvent(job.job_id, 'auto_resume_stopped', `Not resuming automatically after ${job.attempt} attempts; call resume_training after checking the events.`, { attempt: job.attempt }, 'warning');
    }
    return false;
  }

  /** Stops following a job here (a remote follower stops polling; a worker runs on by itself). */
  private release(job_id: string): void {
    this.handles.get(job_id)?.detach?.();
    this.handles.delete(job_id);
  }

  private finishCancel(job_id: string, message: string): JobRecord {
    this.cancelling.delete(job_id);
    this.release(job_id);
    return this.ledger.transition(job_id, 'cancelled', { message }); // queues the job_ended alert
  }

  /** Prometheus and listeners: what changed since the last look. */
  private observe(): void {
    const metrics = this.deps.metrics();
    const events = this.ledger.db
      .prepare(`SELECT e.seq, e.type, e.job_id, e.data, j.backend, j.started_at, j.finished_at FROM job_events e JOIN jobs j ON j.job_id = e.job_id WHERE e.seq > ? AND e.type IN ('status', 'budget_exceeded') ORDER BY e.seq`)
      .all(this.lastSeq) as Array<{ seq: number; type: string; job_id: string; data: string | null; backend: string; started_at: string | null; finished_at: string | null }>;
    for (const e of events) {
      if (e.type === 'budget_exceeded') {
        metrics.budget_exceeded.inc({ backend: e.backend, budget: (e.data ? (JSON.parse(e.data) as { budget?: string }).budget : undefined) ?? 'unknown' });
        continue;
      }
      const to = e.data ? (JSON.parse(e.data) as { to?: string }).to : undefined;
      if (to && isTerminal(to as JobRecord['status'])) {
        metrics.runs_total.inc({ backend: e.backend, status: to });
        if (e.started_at && e.finished_at) metrics.run_duration.observe({ backend: e.backend }, (Date.parse(e.finished_at) - Date.parse(e.started_at)) / 1000);
        this.release(e.job_id);
        this.cancelling.delete(e.job_id);
        metrics.job_tokens_per_second.remove({ job_id: e.job_id });
      }
    }
    this.lastSeq = Math.max(this.lastSeq, this.ledger.lastSeq());
    metrics.running_jobs.reset();
    for (const job of this.ledger.list({ status: 'running', limit: 1000 }).jobs) {
      metrics.running_jobs.inc({ backend: job.backend });
      const rate = this.ledger.latestMetrics(job.job_id).tokens_per_s?.value;
      if (Number.isFinite(rate)) metrics.job_tokens_per_second.set({ job_id: job.job_id }, rate!);
    }
    const changed = this.ledger.changedSince(this.lastSeen);
    if (changed.length) this.lastSeen = changed[changed.length - 1].updated_at;
    for (const job of changed) for (const listener of this.listeners) listener(job);
  }

  private capabilities(backend: string): TrainingCapabilities;
  private capabilities(backend: string, strict: false): TrainingCapabilities | undefined;
  private capabilities(backend: string, strict = true): TrainingCapabilities | undefined {
    const caps = this.deps.plugins.status(backend)?.capabilities.training;
    if (!caps && strict) throw new FinetuneError('PLUGIN_UNAVAILABLE', `No training backend '${backend}' on this server.`, { recovery: 'Call list_backends.' });
    return caps;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface StartInput {
  config_id?: string;
  plan_id?: string;
  /** The job id to use (an MCP task's id); ignored when the start returns an existing job. */
  job_id?: string;
  /** Makes a config_id start idempotent: the same key returns the job it started. */
  idempotency_key?: string;
}

type ResumeBudget = Pick<JobPolicy, 'max_runtime_s' | 'max_cost_usd'>;

/** A start key reused with other arguments (another config or plan) is a mistake, not a retry. */
function sameStart(job: JobRecord, input: StartInput): JobRecord {
  const other = (input.config_id && input.config_id !== job.config_id) || (input.plan_id && input.plan_id !== job.plan_id);
  if (other) {
    throw new FinetuneError('STATE_CONFLICT', `idempotency_key '${input.idempotency_key}' already started job ${job.job_id} (config ${job.config_id}, plan ${job.plan_id}), not this ${input.plan_id ? `plan ${input.plan_id}` : `config ${input.config_id}`}.`, {
      recovery: 'Use a new idempotency_key for a different config or plan.',
      details: { field: 'idempotency_key', job_id: job.job_id },
    });
  }
  return job;
}
