import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { FinetuneError } from '../errors.js';
import { scrubDeep, scrubSecrets } from '../observability/secrets.js';
import { processStart } from './process-identity.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from '../workspace/database.js';
import { newId } from '../workspace/ids.js';
import {
  isLegalTransition,
  isTerminal,
  type ArtifactRecord,
  type CheckpointRecord,
  type JobEvent,
  type JobFilter,
  type JobPolicy,
  type JobRecord,
  type JobStatus,
  type MetricPoint,
  type PlanRecord,
  type StoredConfig,
  type TransitionDetail,
} from './job-records.js';
import { ALERT_EVENTS, enqueueAlert } from './webhook.js';

/**
 * The durable job ledger: every process on a workspace (servers, detached training workers) reads
 * and writes jobs here, so nothing about a job lives only in one process's memory.
 */

export * from './job-records.js';

const now = (): string => new Date().toISOString();
const json = (value: unknown): string => JSON.stringify(value);
const parse = <T>(text: string | null): T | undefined => (text === null || text === undefined ? undefined : (JSON.parse(text) as T));

type Row = Record<string, unknown>;

function toJob(row: Row): JobRecord {
  return { ...(row as unknown as JobRecord), policy: parse<JobPolicy>(row.policy as string)! };
}

function toConfig(row: Row): StoredConfig {
  return {
    config_id: row.config_id as string,
    base_model: row.base_model as string,
    dataset_id: row.dataset_id as string,
    method: row.method as StoredConfig['method'],
    approach: row.approach as StoredConfig['approach'],
    backend: row.backend as string,
    template: row.template as string,
    hyperparameters: parse(row.hyperparameters as string)!,
    backend_options: parse(row.backend_options as string)!,
    policy: parse(row.policy as string)!,
    parent_config_id: (row.parent_config_id as string | null) ?? null,
    created_at: row.created_at as string,
  };
}

export class JobLedger {
  private readonly statements = new Map<string, Statement>();

  constructor(readonly db: Db) {}

  /** A prepared statement, compiled once per ledger (the sink writes several per training step). */
  stmt(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  // ---- configs and plans (immutable) ----

  insertConfig(config: Omit<StoredConfig, 'created_at'>): StoredConfig {
    const record: StoredConfig = { ...config, created_at: now() };
    this.stmt(
        `INSERT INTO training_configs (config_id, base_model, dataset_id, method, approach, backend, template, hyperparameters, backend_options, policy, parent_config_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.config_id,
        record.base_model,
        record.dataset_id,
        record.method,
        record.approach,
        record.backend,
        record.template,
        json(record.hyperparameters),
        json(record.backend_options),
        json(record.policy),
        record.parent_config_id,
        record.created_at,
      );
    return record;
  }

  getConfig(config_id: string): StoredConfig {
    const row = this.stmt('SELECT * FROM training_configs WHERE config_id = ?').get(config_id) as Row | undefined;
    if (!row) throw new FinetuneError('NOT_FOUND', `No training config '${config_id}'.`, { recovery: 'Call configure_training to create one.', details: { field: 'config_id' } });
    return toConfig(row);
  }

  insertPlan(plan: Omit<PlanRecord, 'created_at'>): PlanRecord {
    const record: PlanRecord = { ...plan, created_at: now() };
    this.stmt('INSERT INTO training_plans (plan_id, config_id, verdict, reasons, estimate, validation, budget, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(record.plan_id, record.config_id, record.verdict, json(record.reasons), json(record.estimate), json(record.validation), json(record.budget), record.created_at);
    return record;
  }

  getPlan(plan_id: string): PlanRecord {
    const row = this.stmt('SELECT * FROM training_plans WHERE plan_id = ?').get(plan_id) as Row | undefined;
    if (!row) throw new FinetuneError('NOT_FOUND', `No training plan '${plan_id}'.`, { recovery: 'Call plan_training to create one.', details: { field: 'plan_id' } });
    return {
      plan_id: row.plan_id as string,
      config_id: row.config_id as string,
      verdict: row.verdict as PlanRecord['verdict'],
      reasons: parse(row.reasons as string)!,
      estimate: parse(row.estimate as string)!,
      validation: parse(row.validation as string)!,
      budget: parse(row.budget as string)!,
      created_at: row.created_at as string,
    };
  }

  // ---- jobs ----

  create(input: { config_id: string; plan_id?: string; backend: string; policy: JobPolicy; total_steps?: number; job_id?: string }): JobRecord {
    return this.createOnce(input, []).job;
  }

  /**
   * Creates a job unless one of `start_keys` ('plan:<id>', 'key:<idempotency key>') already started
   * one: then that job is returned with `existing: true`. Check and insert run in one IMMEDIATE
   * transaction and the keys are a primary key, so concurrent starts (any process) give one job.
   */
  createOnce(
    input: { config_id: string; plan_id?: string; backend: string; policy: JobPolicy; total_steps?: number; job_id?: string },
    start_keys: string[],
  ): { job: JobRecord; existing: boolean } {
    const job_id = input.job_id ?? newId('job');
    const time = now();
    const insert = this.db.transaction((): string | undefined => {
      const started = this.startedBy(start_keys);
      if (started) return started;
      this.stmt(
          `INSERT INTO jobs (job_id, config_id, plan_id, backend, status, policy, total_steps, created_at, updated_at)
           VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
        )
        .run(job_id, input.config_id, input.plan_id ?? null, input.backend, json(input.policy), input.total_steps ?? 0, time, time);
      this.insertEvent(job_id, 'status', 'info', 'Job created and queued.', { to: 'queued' });
      for (const key of start_keys) this.stmt('INSERT INTO job_starts (start_key, job_id, created_at) VALUES (?, ?, ?)').run(key, job_id, time);
      return undefined;
    });
    const existing = insert.immediate();
    return existing ? { job: this.get(existing), existing: true } : { job: this.get(job_id), existing: false };
  }

  /** The job that one of these start keys already started, if any (several different jobs: a conflict). */
  startedBy(start_keys: string[]): string | undefined {
    const found = new Map<string, string>();
    for (const key of start_keys) {
      const job_id = this.stmt('SELECT job_id FROM job_starts WHERE start_key = ?').pluck().get(key) as string | undefined;
      if (job_id) found.set(key, job_id);
    }
    const jobs = new Set(found.values());
    if (jobs.size > 1) {
      throw new FinetuneError('STATE_CONFLICT', `${[...found].map(([k, j]) => `${k.replace(':', ' ')} started ${j}`).join('; ')}: they name different jobs.`, {
        recovery: 'Pass only the plan_id, or a new idempotency_key.',
        details: { field: 'idempotency_key' },
      });
    }
    return [...jobs][0];
  }

  find(job_id: string): JobRecord | undefined {
    const row = this.stmt('SELECT * FROM jobs WHERE job_id = ?').get(job_id) as Row | undefined;
    return row ? toJob(row) : undefined;
  }

  get(job_id: string): JobRecord {
    const job = this.find(job_id);
    if (!job) throw new FinetuneError('NOT_FOUND', `No training job '${job_id}'.`, { recovery: 'Call list_jobs to see the jobs of this workspace.', details: { field: 'job_id' } });
    return job;
  }

  /**
   * Moves a job to `to`, refusing illegal moves (STATE_CONFLICT). A job stopped by a budget or
   * guardrail (stop_code set) that reports `cancelled` ends as `failed` with that code, so the
   * reason survives. Returns the job as it is after the move.
   */
  transition(job_id: string, to: JobStatus, detail: TransitionDetail = {}): JobRecord {
    const move = this.db.transaction(() => {
      const job = this.get(job_id);
      if (!isLegalTransition(job.status, to)) {
        throw new FinetuneError('STATE_CONFLICT', `Job ${job_id} cannot go from '${job.status}' to '${to}'.`, {
          details: { field: 'status', from: job.status, to },
        });
      }
      let target = to;
      let error_code = detail.error_code ?? null;
      // A backend's failure text may quote an upstream body that echoes a credential: never stored.
      let message = detail.message === undefined ? null : scrubSecrets(detail.message);
      if (to === 'cancelled' && job.stop_code) {
        target = 'failed';
        error_code = job.stop_code;
        message = job.stop_reason ?? message;
      } else if (to === 'cancelled') {
        error_code ??= 'CANCELLED';
      }
      const time = now();
      const ending = isTerminal(target) || target === 'interrupted';
      const restarting = target === 'queued';
      // Budgets count running time: an attempt's running seconds are banked when it stops running.
      const ran = job.attempt_started_at && target !== 'running' ? Math.max(0, (Date.parse(time) - Date.parse(job.attempt_started_at)) / 1000) : 0;
      this.stmt('UPDATE jobs SET run_seconds = run_seconds + ?, attempt_started_at = ? WHERE job_id = ?').run(
        ran,
        target === 'running' ? (job.attempt_started_at ?? time) : null,
        job_id,
      );
      this.stmt(
          `UPDATE jobs SET status = ?, updated_at = ?,
             error_code = ?, error_message = ?,
             remote_id = COALESCE(?, remote_id),
             started_at = CASE WHEN ? = 'running' AND started_at IS NULL THEN ? ELSE started_at END,
             finished_at = CASE WHEN ? THEN ? ELSE NULL END,
             cancel_requested_at = CASE WHEN ? THEN NULL ELSE cancel_requested_at END,
             stop_code = CASE WHEN ? THEN NULL ELSE stop_code END,
             stop_reason = CASE WHEN ? THEN NULL ELSE stop_reason END,
             worker_pid = CASE WHEN ? THEN NULL ELSE worker_pid END,
             worker_start = CASE WHEN ? THEN NULL ELSE worker_start END
           WHERE job_id = ?`,
        )
        .run(
          target,
          time,
          target === 'failed' || target === 'cancelled' || target === 'interrupted' ? error_code : null,
          target === 'failed' || target === 'cancelled' || target === 'interrupted' ? message : null,
          detail.remote_id ?? null,
          target,
          time,
          ending ? 1 : 0,
          time,
          restarting ? 1 : 0,
          restarting ? 1 : 0,
          restarting ? 1 : 0,
          restarting ? 1 : 0,
          restarting ? 1 : 0,
          job_id,
        );
      const level = target === 'failed' ? 'error' : target === 'interrupted' || target === 'cancelled' ? 'warning' : 'info';
      const seq = this.insertEvent(job_id, 'status', level, message ?? `Job is ${target}.`, {
        from: job.status,
        to: target,
        ...(error_code && (target === 'failed' || target === 'cancelled') ? { error_code } : {}),
      });
      if (isTerminal(target) && job.policy.webhook_url) {
        const ended_error = target === 'failed' || target === 'cancelled' ? error_code : null;
        enqueueAlert(this.db, {
          job_id,
          event_seq: seq,
          event: 'job_ended',
          url: job.policy.webhook_url,
          time,
          body: { status: target, error_code: ended_error, message: message ?? `Job ${target}.` },
        });
      }
      return this.get(job_id);
    });
    return move.immediate();
  }

  /**
   * Starts a new attempt of a stopped job: back to `queued`, continuing from `resume_from`; `budget`
   * replaces the job's budgets (each a total over all attempts).
   */
  requeue(job_id: string, resume_from: string | null, message: string, budget: Pick<JobPolicy, 'max_cost_usd' | 'max_runtime_s'> = {}): JobRecord {
    const run = this.db.transaction(() => {
      const before = this.get(job_id);
      const changes = Object.entries(budget).filter(([, v]) => v !== undefined);
      if (changes.length) {
        this.stmt('UPDATE jobs SET policy = ? WHERE job_id = ?').run(json({ ...before.policy, ...Object.fromEntries(changes) }), job_id);
        const text = changes.map(([k, v]) => `${k} ${String(before.policy[k as keyof JobPolicy] ?? 'none')} → ${String(v)}`).join(', ');
        this.insertEvent(job_id, 'budget_changed', 'info', `Budget changed on resume: ${text}.`, Object.fromEntries(changes));
      }
      this.transition(job_id, 'queued', { message });
      this.stmt('UPDATE jobs SET attempt = attempt + 1, resume_from = ?, updated_at = ? WHERE job_id = ?').run(resume_from, now(), job_id);
      return this.get(job_id);
    });
    return run.immediate();
  }

  /** Records progress and who runs the job (a worker_pid with its start identity); fields left undefined keep their value. */
  update(job_id: string, fields: Partial<Pick<JobRecord, 'step' | 'total_steps' | 'epoch' | 'worker_pid' | 'remote_id'>>): void {
    const entries: Array<[string, unknown]> = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (fields.worker_pid !== undefined) entries.push(['worker_start', processStart(fields.worker_pid)]);
    if (entries.length === 0) return;
    const sets = entries.map(([k]) => `${k} = ?`).join(', ');
    this.stmt(`UPDATE jobs SET ${sets}, updated_at = ? WHERE job_id = ?`).run(...entries.map(([, v]) => v), now(), job_id);
  }

  /** Records the process that runs a job unless its worker already recorded itself. */
  setWorkerIfUnset(job_id: string, pid: number): void {
    this.stmt('UPDATE jobs SET worker_start = CASE WHEN worker_pid IS NULL THEN ? ELSE worker_start END, worker_pid = COALESCE(worker_pid, ?) WHERE job_id = ?').run(
      processStart(pid),
      pid,
      job_id,
    );
  }

  /** Marks that the job must stop; a worker polls this. `stop_code` turns the stop into a failure with that code. */
  requestStop(job_id: string, stop?: { code: string; reason: string }): JobRecord {
    this.stmt(
        `UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, ?), stop_code = COALESCE(stop_code, ?), stop_reason = COALESCE(stop_reason, ?), updated_at = ? WHERE job_id = ?`,
      )
      .run(now(), stop?.code ?? null, stop?.reason ?? null, now(), job_id);
    return this.get(job_id);
  }

  list(filter: JobFilter = {}): { jobs: JobRecord[]; total: number } {
    const where: string[] = [];
    const params: unknown[] = [];
    const statuses = filter.status === undefined ? [] : Array.isArray(filter.status) ? filter.status : [filter.status];
    if (statuses.length) {
      where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
      params.push(...statuses);
    }
    if (filter.backend) {
      where.push('backend = ?');
      params.push(filter.backend);
    }
    if (filter.config_id) {
      where.push('config_id = ?');
      params.push(filter.config_id);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.stmt(`SELECT COUNT(*) AS n FROM jobs ${clause}`).get(...params) as { n: number }).n;
    const rows = this.stmt(`SELECT * FROM jobs ${clause} ORDER BY created_at DESC, job_id DESC LIMIT ? OFFSET ?`)
      .all(...params, filter.limit ?? 50, filter.offset ?? 0) as Row[];
    return { jobs: rows.map(toJob), total };
  }

  /** Queued jobs of a backend in the order they were queued (oldest first). */
  queued(backend?: string): JobRecord[] {
    const rows = backend
      ? this.stmt(`SELECT * FROM jobs WHERE status = 'queued' AND backend = ? ORDER BY updated_at, job_id`).all(backend)
      : this.stmt(`SELECT * FROM jobs WHERE status = 'queued' ORDER BY updated_at, job_id`).all();
    return (rows as Row[]).map(toJob);
  }

  // ---- what a job reports (append-only) ----

  appendEvent(job_id: string, type: string, message: string, data?: Record<string, unknown>, level: JobEvent['level'] = 'info'): number {
    const write = this.db.transaction(() => {
      const seq = this.insertEvent(job_id, type, level, message, data);
      this.touch(job_id);
      return seq;
    });
    return write();
  }

  addMetric(job_id: string, name: string, step: number, value: number): void {
    const time = now();
    const write = this.db.transaction(() => {
      this.stmt('INSERT INTO job_metrics (job_id, name, step, value, time) VALUES (?, ?, ?, ?, ?)').run(job_id, name, step, Number.isFinite(value) ? value : null, time);
      if (name === 'epoch') this.stmt('UPDATE jobs SET epoch = ?, step = MAX(step, ?), updated_at = ? WHERE job_id = ?').run(value, step, time, job_id);
      else this.stmt('UPDATE jobs SET step = MAX(step, ?), updated_at = ? WHERE job_id = ?').run(step, time, job_id);
    });
    write.immediate();
  }

  addCheckpoint(job_id: string, checkpoint: { step: number; path: string; metrics?: Record<string, number> }): void {
    this.stmt('INSERT OR REPLACE INTO job_checkpoints (job_id, step, path, metrics, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(job_id, checkpoint.step, checkpoint.path, checkpoint.metrics ? json(checkpoint.metrics) : null, now());
    this.insertEvent(job_id, 'checkpoint', 'info', `Checkpoint at step ${checkpoint.step}.`, { step: checkpoint.step, path: checkpoint.path });
    this.touch(job_id);
  }

  addArtifact(job_id: string, artifact: { kind: string; path?: string; uri?: string; meta?: Record<string, unknown> }): void {
    this.stmt('INSERT INTO job_artifacts (job_id, kind, path, uri, meta, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(job_id, artifact.kind, artifact.path ?? null, artifact.uri ?? null, artifact.meta ? json(artifact.meta) : null, now());
    this.insertEvent(job_id, 'artifact', 'info', `Artifact ${artifact.kind}${artifact.path ? ` at ${artifact.path}` : ''}.`, { kind: artifact.kind });
    this.touch(job_id);
  }

  // ---- reading what a job reported ----

  /** Events after `cursor` (a seq number; 0 or undefined = from the start), oldest first. */
  eventsSince(job_id: string, cursor = 0, limit = 100): { events: JobEvent[]; next_cursor: number } {
    const rows = this.stmt('SELECT * FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?').all(job_id, cursor, limit) as Row[];
    const events = rows.map((r) => ({
      seq: r.seq as number,
      job_id: r.job_id as string,
      time: r.time as string,
      type: r.type as string,
      level: r.level as JobEvent['level'],
      message: r.message as string,
      ...(r.data ? { data: parse<Record<string, unknown>>(r.data as string) } : {}),
    }));
    return { events, next_cursor: events.length ? events[events.length - 1].seq : cursor };
  }

  /**
   * For the process that spawned a worker and saw it exit: a worker that ends before its job did (kill -9,
   * the out-of-memory killer, a crash) leaves a `worker_exited` event, so the job manager can say how.
   */
  recordWorkerExit(job_id: string, pid: number, code: number | null, signal: string | null): void {
    const job = this.find(job_id);
    if (!job || job.worker_pid !== pid || (job.status !== 'preparing' && job.status !== 'running')) return;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    this.appendEvent(job_id, 'worker_exited', `Worker process ${pid} ${how} before the job ended.`, { pid, code, signal }, 'warning');
  }

  /** The job's latest event of one type, if any. */
  lastEvent(job_id: string, type: string): JobEvent | undefined {
    const row = this.stmt('SELECT seq FROM job_events WHERE job_id = ? AND type = ? ORDER BY seq DESC LIMIT 1').pluck().get(job_id, type) as number | undefined;
    return row === undefined ? undefined : this.eventsSince(job_id, row - 1, 1).events[0];
  }

  /** The highest event seq of the whole workspace: a cheap change marker for watchers. */
  lastSeq(): number {
    return (this.stmt('SELECT COALESCE(MAX(seq), 0) AS s FROM job_events').get() as { s: number }).s;
  }

  /** Jobs that changed after a moment (ISO time), for watchers that notify subscribers. */
  changedSince(time: string): JobRecord[] {
    return (this.stmt('SELECT * FROM jobs WHERE updated_at > ? ORDER BY updated_at').all(time) as Row[]).map(toJob);
  }

  metricSeries(job_id: string, name: string): MetricPoint[] {
    return (this.stmt('SELECT name, step, value, time FROM job_metrics WHERE job_id = ? AND name = ? ORDER BY step, rowid').all(job_id, name) as Row[]).map((r) => ({
      name: r.name as string,
      step: r.step as number,
      value: r.value === null ? Number.NaN : (r.value as number),
      time: r.time as string,
    }));
  }

  /** The latest value of every metric series of a job. */
  latestMetrics(job_id: string): Record<string, { step: number; value: number }> {
    const rows = this.stmt(
        `SELECT m.name, m.step, m.value FROM job_metrics m
         JOIN (SELECT name, MAX(rowid) AS last FROM job_metrics WHERE job_id = ? GROUP BY name) l ON m.rowid = l.last`,
      )
      .all(job_id) as Row[];
    return Object.fromEntries(rows.map((r) => [r.name as string, { step: r.step as number, value: r.value === null ? Number.NaN : (r.value as number) }]));
  }

  /**
   * Checkpoints that still exist, oldest first: a local folder that is gone (removed by
   * save_total_limit, or by hand) is left out; remote ones ("openai:…", "together:…") are kept.
   */
  checkpoints(job_id: string): CheckpointRecord[] {
    return this.allCheckpoints(job_id).filter((c) => !isAbsolute(c.path) || existsSync(c.path));
  }

  /** Every checkpoint the job ever reported, including removed ones. */
  allCheckpoints(job_id: string): CheckpointRecord[] {
    return (this.stmt('SELECT step, path, metrics, created_at FROM job_checkpoints WHERE job_id = ? ORDER BY step').all(job_id) as Row[]).map((r) => ({
      step: r.step as number,
      path: r.path as string,
      ...(r.metrics ? { metrics: parse<Record<string, number>>(r.metrics as string) } : {}),
      created_at: r.created_at as string,
    }));
  }

  artifacts(job_id: string): ArtifactRecord[] {
    return (this.stmt('SELECT id, kind, path, uri, meta, created_at FROM job_artifacts WHERE job_id = ? ORDER BY id').all(job_id) as Row[]).map((r) => ({
      id: r.id as number,
      kind: r.kind as string,
      ...(r.path ? { path: r.path as string } : {}),
      ...(r.uri ? { uri: r.uri as string } : {}),
      ...(r.meta ? { meta: parse<Record<string, unknown>>(r.meta as string) } : {}),
      created_at: r.created_at as string,
    }));
  }

  /** Whether an event of this type with this `data.key` value was already written (warnings fire once). */
  hasEvent(job_id: string, type: string, key?: string, value?: string | number): boolean {
    const row =
      key === undefined
        ? this.stmt('SELECT 1 FROM job_events WHERE job_id = ? AND type = ? LIMIT 1').get(job_id, type)
        : this.stmt(`SELECT 1 FROM job_events WHERE job_id = ? AND type = ? AND json_extract(data, ?) = ? LIMIT 1`).get(job_id, type, `$.${key}`, value);
    return row !== undefined;
  }

  /**
   * Writes an event unless one of this type with this `data[key]` exists, check and write in one
   * immediate transaction: the server's watch loop and a job's worker both check budgets, and a
   * check-then-write across two processes sent one warning twice under load.
   */
  appendEventOnce(job_id: string, type: string, key: string, message: string, data: Record<string, unknown>, level: JobEvent['level'] = 'info'): boolean {
    const value = data[key] as string | number;
    return this.db
      .transaction(() => {
        if (this.hasEvent(job_id, type, key, value)) return false;
        this.appendEvent(job_id, type, message, data, level);
        return true;
      })
      .immediate();
  }

  /** Writes an event; an alert event (ALERT_EVENTS) of a job with a webhook also queues its alert, in the caller's transaction. */
  private insertEvent(job_id: string, type: string, level: JobEvent['level'], text: string, details?: Record<string, unknown>): number {
    const [message, data] = [scrubSecrets(text), details && scrubDeep(details)];
    const time = now();
    const result = this.stmt('INSERT INTO job_events (job_id, time, type, level, message, data) VALUES (?, ?, ?, ?, ?, ?)')
      .run(job_id, time, type, level, message, data ? json(data) : null);
    const seq = Number(result.lastInsertRowid);
    if (ALERT_EVENTS.has(type)) {
      const url = (this.stmt(`SELECT json_extract(policy, '$.webhook_url') FROM jobs WHERE job_id = ?`).pluck().get(job_id) as string | null | undefined) ?? undefined;
      if (url) enqueueAlert(this.db, { job_id, event_seq: seq, event: type, url, time, body: { message, ...data } });
    }
    return seq;
  }

  private touch(job_id: string): void {
    this.stmt('UPDATE jobs SET updated_at = ? WHERE job_id = ?').run(now(), job_id);
  }
}
