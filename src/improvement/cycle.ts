/**
 * One cycle of an improvement policy (docs/improvement-loop.md): decide on a retraining job that has
 * ended; finish a batch a crash left judged but not pooled; read what is new since the cursor, judge it
 * (judge_outputs) and pool the rows scoring ≥ min_score, moving the cursor in the same transaction;
 * start one retraining job when the pool reaches retrain_threshold. One cycle at a time per policy,
 * across processes (a lease on the policy row).
 */
import { createHash, randomBytes } from 'node:crypto';
import { FinetuneError } from '../errors.js';
import { getJudgeRun, type JudgeRunRecord, type JudgeRunRow } from '../evaluation/judge-run-store.js';
import type { Services } from '../services.js';
import { isTerminal, JobLedger, type StoredConfig } from '../training/ledger.js';
import { enqueueAlert } from '../training/webhook.js';
import { decideRetrain } from './decide.js';
import { fetchNew, writeBatch } from './fetch.js';
import { startRetrain } from './retrain.js';
import { PolicyStore, type CycleRecord, type CycleWriteback, type Decision, type PolicyRecord } from './store.js';

/** How long a cycle may hold its policy before another process may take it (a holder that died). */
const LEASE_MS = 3600_000;

interface CycleOptions {
  signal?: AbortSignal;
  /** Who holds the lease (default: this process and a random tag). */
  owner?: string;
  /** Tests: runs after the judge run is stored and before its rows are pooled (a crash there). */
  afterJudge?: () => void;
}

interface CycleOutcome {
  cycle: CycleRecord;
  pool: { unused: number; used: number };
}

export async function runImprovementCycle(services: Services, policyRef: string, options: CycleOptions = {}): Promise<CycleOutcome> {
  const store = new PolicyStore(services.workspace);
  const policy = store.get(policyRef);
  const owner = options.owner ?? `${process.pid}:${randomBytes(4).toString('hex')}`;
  const now = new Date();
  if (!store.lease(policy.id, owner, new Date(now.getTime() + LEASE_MS), now)) {
    throw new FinetuneError('STATE_CONFLICT', `Improvement policy '${policy.name}' is running a cycle in another call or process.`, {
      recovery: 'Wait for it to end (get_improvement_policy shows its cycles), then run it again.',
      retryable: true,
      details: { field: 'policy_id' },
    });
  }
  let cycle: CycleRecord | undefined;
  try {
    const base = baseConfig(services, policy);
    cycle = store.newCycle(policy.id);
    const decided = await decidePending(services, store, policy, cycle, options.signal);
    await resumeBatch(services, store, policy, options);
    const { pooled, skipped } = await judgeNew(services, store, policy, cycle, options);
    const retrain = await maybeRetrain(services, store, policy, cycle, base);
    const decision: Decision = decided?.status === 'promoted' || decided?.status === 'regression' || decided?.status === 'held' ? decided.status : retrain ?? (store.training(policy.id) ? 'waiting' : pooled ? 'pooled' : 'nothing_new');
    const reason = [decided?.reason, retrainReason(store, policy, cycle.id, decision), skipped].filter(Boolean).join('; ');
    store.updateCycle(cycle.id, { decision, reason, ended_at: new Date().toISOString() });
    record(services, store, policy, decision);
    return { cycle: store.cycle(cycle.id), pool: store.poolSize(policy.id) };
  } catch (error) {
    if (cycle) {
      store.updateCycle(cycle.id, { decision: 'failed', reason: (error as Error).message, ended_at: new Date().toISOString() });
      record(services, store, policy, 'failed');
    }
    throw error;
  } finally {
    store.release(policy.id, owner, policy.spec.interval_s ? new Date(Date.now() + policy.spec.interval_s * 1000).toISOString() : null);
  }
}

/** The id a policy being created is checked under, before it has one. */
export const NEW_POLICY = '(new)';

/** The base config, or a located error naming the policy when it is gone (or, at creation, the field). */
export function baseConfig(services: Services, policy: PolicyRecord): StoredConfig {
  try {
    return new JobLedger(services.workspace.db).getConfig(policy.spec.base_config_id);
  } catch (error) {
    if (error instanceof FinetuneError && error.code === 'NOT_FOUND' && policy.id === NEW_POLICY) {
      throw new FinetuneError('NOT_FOUND', `base_config_id ${policy.spec.base_config_id} names no training config, so policy '${policy.name}' could not retrain.`, {
        recovery: 'Pass the config_id that configure_training returned for the model and data this policy should keep improving.',
        details: { field: 'base_config_id' },
      });
    }
    if (error instanceof FinetuneError && error.code === 'NOT_FOUND') {
      throw new FinetuneError('NOT_FOUND', `Policy '${policy.name}' (${policy.id}): its base config ${policy.spec.base_config_id} no longer exists, so it cannot retrain.`, {
        recovery: 'Create a new policy with an existing base_config_id (configure_training makes one); this policy keeps its pool and history.',
        details: { field: 'base_config_id', policy_id: policy.id },
      });
    }
    throw error;
  }
}

/** A retraining job of this policy that has ended gets its evaluation and decision, once. */
async function decidePending(services: Services, store: PolicyStore, policy: PolicyRecord, cycle: CycleRecord, signal?: AbortSignal) {
  const retrain = store.training(policy.id);
  if (!retrain || !isTerminal(services.jobs.get(retrain.job_id).status)) return undefined;
  const decided = await decideRetrain(services, policy, cycle, retrain, signal);
  store.updateCycle(cycle.id, { evaluation_ids: decided.evaluation_ids });
  const webhook = services.jobs.get(retrain.job_id).policy.webhook_url;
  services.workspace.db.transaction(() => {
    store.decideRetrain(retrain.job_id, { status: decided.status, decided_cycle_id: cycle.id, version_id: decided.version_id, reason: decided.reason });
    // A regression goes to the retraining job's alert webhook (its base config's policy), with the decision, at least once.
    if (decided.status === 'regression' && webhook) {
      const body = { policy: policy.name, policy_id: policy.id, cycle_id: cycle.id, reason: decided.reason, evaluation_ids: decided.evaluation_ids, version_id: decided.version_id };
      enqueueAlert(services.workspace.db, { job_id: retrain.job_id, event_seq: null, event: 'improvement_regression', url: webhook, time: new Date().toISOString(), body });
    }
    // A job that produced no model trained on nothing: its rows go back to the pool for the next crossing.
    if (decided.status === 'failed') store.releasePool(policy.id, retrain.cycle_id);
  })();
  if (decided.status === 'promoted') services.metrics.improvement_promotions.inc({ policy: policy.name });
  if (decided.status === 'regression') services.metrics.improvement_regressions.inc({ policy: policy.name });
  return decided;
}

/** A batch an earlier cycle fetched but never pooled: its stored judge run is pooled as it is (not judged again), or the batch is judged now. */
async function resumeBatch(services: Services, store: PolicyStore, policy: PolicyRecord, options: CycleOptions): Promise<void> {
  const earlier = store.unpooledBatch(policy.id);
  if (!earlier) return;
  const stored = services.workspace.db.prepare('SELECT id FROM judge_runs WHERE source_ref = ? ORDER BY created_at DESC LIMIT 1').pluck().get(earlier.batch_path) as string | undefined;
  await poolBatch(services, store, policy, earlier, options, stored ? getJudgeRun(services.workspace, stored) : undefined);
  store.updateCycle(earlier.id, { decision: 'pooled', reason: `cut short after judging (${earlier.reason ?? 'the process stopped'}); its batch was pooled by a later cycle`, ended_at: earlier.ended_at ?? new Date().toISOString() });
}

/** Judges and pools what is new; returns whether there was anything, and notes for the reason (source lines skipped as no row, judge failures). */
async function judgeNew(services: Services, store: PolicyStore, policy: PolicyRecord, cycle: CycleRecord, options: CycleOptions): Promise<{ pooled: boolean; skipped: string | undefined }> {
  const current = store.get(policy.id);
  const batch = await fetchNew(services, current, options.signal);
  const first = batch.skipped[0];
  const skipped = first ? `skipped ${batch.skipped.length} line(s) that are no row to judge, e.g. ${first.ref}: ${first.reason}` : undefined;
  if (skipped) services.logger.warn({ policy: policy.name, skipped: batch.skipped.slice(0, 20) }, 'improvement policy: source lines skipped');
  if (!batch.lines.length) {
    // Blank or skipped lines only: the cursor still moves past them.
    if (JSON.stringify(batch.cursor_after) !== JSON.stringify(current.cursor)) store.pool(policy.id, cycle.id, batch.cursor_after, null, 0, []);
    return { pooled: false, skipped };
  }
  const batch_path = writeBatch(services, policy.id, cycle.id, batch);
  store.updateCycle(cycle.id, { batch_path, batch_origins: batch.origins, cursor_after: batch.cursor_after });
  const failures = await poolBatch(services, store, policy, store.cycle(cycle.id), options);
  return { pooled: true, skipped: [skipped, failures].filter(Boolean).join('; ') || undefined };
}

/** Pools a judged batch (judging it first unless a stored run is given); returns a note when the judge failed on too many rows. */
async function poolBatch(services: Services, store: PolicyStore, policy: PolicyRecord, cycle: CycleRecord, options: CycleOptions, judged?: { run: JudgeRunRecord; rows: JudgeRunRow[] }): Promise<string | undefined> {
  const { spec } = policy;
  if (!judged) {
    const { judgeOutputs } = await import('../evaluation/judge-outputs.js');
    const out = await judgeOutputs(
      { services, signal: options.signal },
      { path: cycle.batch_path!, rubric: spec.rubric, rubric_name: spec.rubric_name, judge: spec.judge, write_back: false, concurrency: 4, limit: cycle.batch_origins!.length, policy: policy.name },
    );
    judged = { run: out.run, rows: out.rows };
    options.afterJudge?.();
  }
  const origins = cycle.batch_origins!;
  const rows = judged.rows
    .filter((r) => r.score !== null && r.score >= spec.min_score)
    .map((r) => {
      const row = r.row as { messages: Array<{ role: string; content: string }>; context?: string };
      const origin = origins[r.position];
      return { row, score: r.score!, row_sha256: createHash('sha256').update(JSON.stringify(row)).digest('hex'), ref: origin.ref, span_id: origin.span_id ?? r.span_id, trace_id: origin.trace_id ?? r.trace_id };
    });
  const alarm = judgeFailures(services, policy, judged.rows);
  const { run } = judged;
  services.workspace.db.transaction(() => {
    store.pool(policy.id, cycle.id, cycle.cursor_after!, run.id, judged.rows.length, rows);
    // With the pool insert, so the alert exists exactly when the cycle's pooling does (at least once).
    if (alarm?.url) {
      const body = { policy: policy.name, policy_id: policy.id, cycle_id: cycle.id, judge_run_id: run.id, judged: judged.rows.length, failed: alarm.failed, failure_rate: alarm.rate, threshold: alarm.threshold, first_error: alarm.first_error };
      enqueueAlert(services.workspace.db, { job_id: null, policy_id: policy.id, event_seq: null, event: 'improvement_judge_failures', url: alarm.url, time: new Date().toISOString(), body });
    }
  })();
  services.metrics.improvement_pool_size.set({ policy: policy.name }, store.unusedCount(policy.id));
  await writeBackToSource(services, store, policy, cycle.id, run, judged.rows);
  if (!alarm) return undefined;
  services.logger.warn({ policy: policy.name, cycle_id: cycle.id, judge_run_id: run.id, failed: alarm.failed, judged: judged.rows.length, first_error: alarm.first_error }, 'improvement policy: the judge failed on too many rows');
  return `the judge could not score ${alarm.failed} of ${judged.rows.length} rows (${(alarm.rate * 100).toFixed(0)}% > improvement.judge_failure_alert_rate ${alarm.threshold}), e.g. ${alarm.first_error}${alarm.url ? '; alerted the webhook' : "; no alert sent: the base config has no policy.webhook_url"}`;
}

/** The judge's failure rate on a batch, when it is above improvement.judge_failure_alert_rate; and where to alert (the base config's webhook). */
function judgeFailures(services: Services, policy: PolicyRecord, rows: JudgeRunRow[]) {
  const threshold = services.config.improvement.judge_failure_alert_rate;
  const failed = rows.filter((r) => r.score === null);
  const rate = rows.length ? failed.length / rows.length : 0;
  if (!failed.length || rate <= threshold) return undefined;
  return { failed: failed.length, rate, threshold, first_error: `${failed[0].ref}: ${failed[0].error}`, url: baseConfig(services, policy).policy.webhook_url };
}

/**
 * Scores of a batch read from a data source that takes annotations (Phoenix) go back onto their spans,
 * as judge_outputs writes them. A failure does not fail the cycle: it is recorded on the cycle and logged.
 */
async function writeBackToSource(services: Services, store: PolicyStore, policy: PolicyRecord, cycleId: string, run: JudgeRunRecord, rows: JudgeRunRow[]): Promise<void> {
  const { source } = policy.spec;
  if (!('source' in source)) return;
  let writeback: CycleWriteback;
  const target = `${source.source}${typeof source.query.project === 'string' ? `:${source.query.project}` : ''}`;
  try {
    const data_source = await services.plugins.get('data_source', source.source);
    if (!data_source.annotate) return;
    const { writeScoresBack } = await import('../evaluation/judge-outputs.js');
    const out = await writeScoresBack(services, { source: source.source, source_ref: target, data_source }, run, rows);
    writeback = { target, written: out.written, failed: out.failed.length, error: out.failed[0] ? `${out.failed[0].ref}: ${out.failed[0].reason}` : null };
  } catch (error) {
    writeback = { target, written: 0, failed: rows.filter((r) => r.score !== null).length, error: (error as Error).message };
  }
  store.updateCycle(cycleId, { writeback });
  if (writeback.error) services.logger.warn({ policy: policy.name, cycle_id: cycleId, ...writeback }, 'improvement policy: scores were not all written back to the source');
}

/** One job per threshold crossing: never while one of this policy's jobs is training. */
async function maybeRetrain(services: Services, store: PolicyStore, policy: PolicyRecord, cycle: CycleRecord, base: StoredConfig): Promise<Decision | undefined> {
  if (store.training(policy.id)) return undefined;
  let owner = store.pendingRetrain(policy.id);
  if (!owner) {
    if (store.unusedCount(policy.id) < policy.spec.retrain_threshold) return undefined;
    store.takePool(policy.id, cycle.id);
    owner = store.cycle(cycle.id);
  }
  try {
    await startRetrain(services, store, policy, owner, base);
  } catch (error) {
    // Nothing started: the rows go back to the pool, and the next cycle tries again.
    if (!store.cycle(owner.id).job_id) store.releasePool(policy.id, owner.id);
    throw error;
  }
  if (owner.id !== cycle.id) {
    const jobId = store.cycle(owner.id).job_id;
    store.updateCycle(cycle.id, { job_id: jobId });
    store.updateCycle(owner.id, { decision: 'retraining', reason: `cut short; its job ${jobId} was started or found by cycle ${cycle.id}`, ended_at: owner.ended_at ?? new Date().toISOString() });
  }
  services.metrics.improvement_retrains.inc({ policy: policy.name });
  services.metrics.improvement_pool_size.set({ policy: policy.name }, store.unusedCount(policy.id));
  return 'retraining';
}

function retrainReason(store: PolicyStore, policy: PolicyRecord, cycleId: string, decision: Decision): string {
  const c = store.cycle(cycleId);
  const unused = store.unusedCount(policy.id);
  if (decision === 'retraining') return `pool reached ${policy.spec.retrain_threshold}: job ${c.job_id} trains on ${c.dataset_id ?? 'the new version'}`;
  if (decision === 'waiting') return `job ${store.training(policy.id)!.job_id} is still training; pool holds ${unused}`;
  return `judged ${c.judged}, added ${c.added}; pool ${unused}/${policy.spec.retrain_threshold}`;
}

function record(services: Services, store: PolicyStore, policy: PolicyRecord, decision: Decision): void {
  services.metrics.improvement_cycles.inc({ policy: policy.name, decision });
  services.metrics.improvement_pool_size.set({ policy: policy.name }, store.unusedCount(policy.id));
}
