import { FinetuneError, toFinetuneError } from '../errors.js';
import type { JobHandle } from '../plugins/providers.js';
import type { TrainingCapabilities } from '../plugins/types.js';
import type { Services } from '../services.js';
import { processAlive, requestCancel } from './cancel-signal.js';
import { ACTIVE_STATUSES, isTerminal, JobLedger, type JobPolicy, type JobRecord } from './ledger.js';
import { createLedgerSink } from './ledger-sink.js';
import { refusePlan, planTraining } from './plan.js';
import { checkRuntimePolicies } from './policies.js';
import { buildSpec } from './spec.js';
import { postWebhook } from './webhook.js';

/** Attempts (first run + automatic resumes) before auto_resume gives up on a job that keeps dying. */
const MAX_AUTO_ATTEMPTS = 3;

export type JobListener = (job: JobRecord) => void;

/**
 * Runs jobs on backends and keeps the ledger true: a per-backend queue, cancel and resume,
 * start-up reconciliation (dead local workers → interrupted, remote jobs re-attached), and a watch
 * loop that enforces budgets on quiet jobs, notices dead workers, feeds Prometheus and tells
 * listeners (resource subscriptions, waiting monitors) which jobs changed.
 */
export class JobManager {
  private services!: Services;
  private ledger!: JobLedger;
  private readonly handles = new Map<string, JobHandle>();
  private readonly cancelling = new Map<string, number>();
  private readonly listeners = new Set<JobListener>();
  private timer: NodeJS.Timeout | undefined;
  private lastSeen = new Date(0).toISOString();
  private lastSeq = 0;
  private ticking = false;

  /** Binds to the services, reconciles unfinished jobs and starts the watch loop. */
  async open(services: Services): Promise<void> {
    this.services = services;
    this.ledger = new JobLedger(services.workspace.db);
    this.lastSeq = this.ledger.lastSeq();
    this.lastSeen = new Date().toISOString();
    await this.reconcile();
    this.timer = setInterval(() => void this.tick(), services.config.training.watch_interval_ms);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  get jobLedger(): JobLedger {
    return this.ledger;
  }

  onChange(listener: JobListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Creates a job from a go plan (or runs the pre-flight on a config) and queues it; returns at once. */
  async start(input: { config_id?: string; plan_id?: string; job_id?: string }): Promise<JobRecord> {
    if (!input.config_id && !input.plan_id) throw new FinetuneError('INVALID_INPUT', 'Pass config_id or plan_id.', { details: { field: 'config_id' } });
    let plan = input.plan_id ? this.ledger.getPlan(input.plan_id) : undefined;
    if (plan && input.config_id && plan.config_id !== input.config_id) {
      throw new FinetuneError('INVALID_INPUT', `Plan ${plan.plan_id} is for config ${plan.config_id}, not ${input.config_id}.`, { details: { field: 'plan_id' } });
    }
    plan ??= (await planTraining(this.services, { config_id: input.config_id! })).plan;
    if (plan.verdict !== 'go') throw refusePlan(plan);
    const config = this.ledger.getConfig(plan.config_id);
    const estimate = plan.estimate as { time?: { value: number }; cost?: { value: number }; tokens?: { steps?: { value: number } } };
    const seconds = estimate.time?.value ?? 0;
    const policy: JobPolicy = {
      ...config.policy,
      ...plan.budget,
      ...(seconds > 0 && estimate.cost?.value ? { cost_usd_per_s: estimate.cost.value / seconds } : {}),
    };
    const job = this.ledger.create({ job_id: input.job_id, config_id: config.config_id, plan_id: plan.plan_id, backend: config.backend, policy, total_steps: estimate.tokens?.steps?.value ?? 0 });
    await this.pump(config.backend);
    return this.ledger.get(job.job_id);
  }

  /** Stops a job; idempotent (an ended job is returned as it is). */
  async cancel(job_id: string): Promise<{ job: JobRecord; already_ended: boolean }> {
    const job = this.ledger.get(job_id);
    if (isTerminal(job.status)) return { job, already_ended: true };
    if (job.status === 'queued' || job.status === 'interrupted') {
      return { job: this.finishCancel(job_id, 'Cancelled before it ran.'), already_ended: false };
    }
    requestCancel(this.services.workspace, job_id);
    this.ledger.appendEvent(job_id, 'cancel_requested', 'Cancel requested.');
    const handle = this.handles.get(job_id);
    if (handle) await handle.cancel().catch((error: unknown) => this.services.logger.warn({ err: error, job_id }, 'backend cancel failed'));
    this.cancelling.set(job_id, Date.now());
    const deadline = Date.now() + Math.min(this.services.config.training.cancel_grace_ms, 5000);
    while (Date.now() < deadline && !isTerminal(this.ledger.get(job_id).status)) await sleep(50);
    const after = this.ledger.get(job_id);
    if (!isTerminal(after.status) && !handle && !processAlive(after.worker_pid)) {
      return { job: this.finishCancel(job_id, 'Cancelled; no worker was running.'), already_ended: false };
    }
    return { job: after, already_ended: false };
  }

  /** Queues a stopped job again, continuing from a checkpoint (the latest unless one is named). */
  async resume(job_id: string, checkpoint?: string | number): Promise<{ job: JobRecord; resumed_from: string | null }> {
    const job = this.ledger.get(job_id);
    if (!['interrupted', 'failed', 'cancelled'].includes(job.status)) {
      throw new FinetuneError('STATE_CONFLICT', `Job ${job_id} is '${job.status}'; only interrupted, failed or cancelled jobs resume.`, { details: { field: 'job_id', status: job.status } });
    }
    const caps = this.capabilities(job.backend);
    if (!caps.resume) throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Backend '${job.backend}' cannot resume jobs.`, { recovery: 'Start a new job with start_training.' });
    const checkpoints = this.ledger.checkpoints(job_id);
    let from: string | null = checkpoints.at(-1)?.path ?? null;
    if (checkpoint !== undefined) {
      const wanted = checkpoints.find((c) => String(c.step) === String(checkpoint) || c.path === checkpoint || c.path.endsWith(`/${checkpoint}`));
      if (!wanted) {
        throw new FinetuneError('NOT_FOUND', `Job ${job_id} has no checkpoint '${checkpoint}'. Checkpoints: ${checkpoints.map((c) => `step ${c.step}`).join(', ') || 'none'}.`, {
          details: { field: 'checkpoint' },
        });
      }
      from = wanted.path;
    }
    this.ledger.requeue(job_id, from, from ? `Resuming from ${from}.` : 'Resuming from the start (no checkpoint).');
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
    } catch (error) {
      this.services.logger.error({ err: error }, 'job watch loop failed');
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
      if (handle) await handle.cancel().catch((error: unknown) => this.services.logger.warn({ err: error }, 'backend cancel failed'));
    }
    const since = this.cancelling.get(job.job_id);
    if (since !== undefined && Date.now() - since > this.services.config.training.cancel_grace_ms && !isTerminal(current.status)) {
      // A local worker that ignored SIGTERM for the whole grace period is stopped for good.
      if (current.worker_pid && current.worker_pid !== process.pid && processAlive(current.worker_pid)) {
        try {
          process.kill(current.worker_pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      this.finishCancel(job.job_id, 'The backend did not stop within the grace period; marked as cancelled.');
      return;
    }
    const caps = this.capabilities(job.backend, false);
    const followerGone = current.worker_pid !== null && current.worker_pid !== process.pid && !processAlive(current.worker_pid);
    if (caps?.remote) {
      // The server that followed this remote job has exited: follow it from here.
      if (followerGone && !handle && current.remote_id) await this.reattach(current);
    } else if (followerGone && current.cancel_requested_at && !current.stop_code) {
      this.finishCancel(job.job_id, `Worker process ${current.worker_pid} ended after the cancel request.`);
    } else if (followerGone) {
      this.interrupt(current, `Worker process ${current.worker_pid} is gone.`);
    }
  }

  /** Launches queued jobs of one backend while it has free slots; one claim is atomic across processes. */
  private async pump(backend: string): Promise<void> {
    // A disabled backend (no key, no binding) keeps its jobs queued until a server can run them.
    if (this.services.plugins.status(backend)?.status !== 'enabled') return;
    const caps = this.capabilities(backend, false);
    const limit = caps?.max_concurrent_jobs ?? 1;
    for (;;) {
      const job = this.claimNext(backend, limit);
      if (!job) return;
      await this.launch(job);
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

  private async launch(job: JobRecord): Promise<void> {
    try {
      const config = this.ledger.getConfig(job.config_id);
      const spec = await buildSpec(this.services, config, job.job_id, job.resume_from);
      const backend = await this.services.plugins.get('training_backend', job.backend);
      const sink = createLedgerSink(this.services.workspace, job.job_id);
      const handle = await backend.start(spec, sink);
      this.handles.set(job.job_id, handle);
      if (handle.remote_id) this.ledger.update(job.job_id, { remote_id: handle.remote_id });
      // A backend without its own worker process runs inside this server, and a remote job is followed
      // by it: this pid is the job's keeper until the backend records a worker of its own.
      this.ledger.setWorkerIfUnset(job.job_id, process.pid);
    } catch (thrown) {
      const error = toFinetuneError(thrown);
      this.services.logger.warn({ job_id: job.job_id, code: error.code, err: thrown }, 'job failed to start');
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
        const followedElsewhere = job.worker_pid !== null && job.worker_pid !== process.pid && processAlive(job.worker_pid);
        if (!followedElsewhere) await this.reattach(job);
      } else if (!processAlive(job.worker_pid) || job.worker_pid === process.pid) {
        this.interrupt(job, job.worker_pid ? `Worker process ${job.worker_pid} is gone (server restart).` : 'The server stopped before the job had a worker.');
      }
    }
    for (const job of this.ledger.list({ status: 'interrupted', limit: 1000 }).jobs) {
      if (this.mayAutoResume(job)) await this.resume(job.job_id).catch(() => undefined);
    }
  }

  private async reattach(job: JobRecord): Promise<void> {
    if (this.services.plugins.status(job.backend)?.status !== 'enabled') {
      // Not usable in this process (no key here): the job runs on at the provider; another server can follow it.
      this.services.logger.warn({ job_id: job.job_id, backend: job.backend }, 'cannot re-attach: backend disabled in this process');
      return;
    }
    try {
      const backend = await this.services.plugins.get('training_backend', job.backend);
      if (!backend.attach) throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Backend '${job.backend}' cannot re-attach to jobs.`);
      const spec = await buildSpec(this.services, this.ledger.getConfig(job.config_id), job.job_id, job.resume_from);
      const handle = await backend.attach(job.remote_id!, spec, createLedgerSink(this.services.workspace, job.job_id));
      this.handles.set(job.job_id, handle);
      this.ledger.update(job.job_id, { worker_pid: process.pid });
      this.ledger.appendEvent(job.job_id, 'reattached', `Re-attached to remote job ${job.remote_id} after a server restart.`, { remote_id: job.remote_id });
    } catch (thrown) {
      const error = toFinetuneError(thrown);
      this.interrupt(job, `Could not re-attach to remote job ${job.remote_id}: [${error.code}] ${error.message}`);
    }
  }

  private interrupt(job: JobRecord, message: string): void {
    const now = this.ledger.get(job.job_id);
    if (now.status !== 'preparing' && now.status !== 'running') return;
    this.handles.delete(job.job_id);
    this.ledger.transition(job.job_id, 'interrupted', { message });
    if (this.mayAutoResume(job)) void this.resume(job.job_id).catch(() => undefined);
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

  private finishCancel(job_id: string, message: string): JobRecord {
    this.cancelling.delete(job_id);
    this.handles.delete(job_id);
    const job = this.ledger.transition(job_id, 'cancelled', { message });
    postWebhook(job.policy.webhook_url, { job_id, event: 'job_ended', status: job.status, error_code: job.error_code, message });
    return job;
  }

  /** Prometheus and listeners: what changed since the last look. */
  private observe(): void {
    const { metrics } = this.services;
    const events = this.ledger.db
      .prepare(`SELECT e.seq, e.job_id, e.data, j.backend, j.started_at, j.finished_at FROM job_events e JOIN jobs j ON j.job_id = e.job_id WHERE e.seq > ? AND e.type = 'status' ORDER BY e.seq`)
      .all(this.lastSeq) as Array<{ seq: number; job_id: string; data: string | null; backend: string; started_at: string | null; finished_at: string | null }>;
    for (const e of events) {
      const to = e.data ? (JSON.parse(e.data) as { to?: string }).to : undefined;
      if (to && isTerminal(to as JobRecord['status'])) {
        metrics.runs_total.inc({ backend: e.backend, status: to });
        if (e.started_at && e.finished_at) metrics.run_duration.observe({ backend: e.backend }, (Date.parse(e.finished_at) - Date.parse(e.started_at)) / 1000);
        this.handles.delete(e.job_id);
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
    const caps = this.services.plugins.status(backend)?.capabilities.training;
    if (!caps && strict) throw new FinetuneError('PLUGIN_UNAVAILABLE', `No training backend '${backend}' on this server.`, { recovery: 'Call list_backends.' });
    return caps;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
