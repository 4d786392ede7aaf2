import type { Db } from '../workspace/database.js';

/**
 * Webhook alerts, delivered at least once. An alert is a row of `alert_outbox`, written by the ledger
 * in the same transaction as the event it reports (so an alert exists exactly when its event does).
 * Any process on the workspace delivers them: the one that wrote the event (at once), a training
 * worker before it exits (a bounded wait), and every server (on start and on each watch tick).
 * A process claims a row with a lease before POSTing, so two processes never send it at the same
 * time; one that dies mid-POST leaves the row to be sent again when the lease ends (hence "at least
 * once": receivers dedupe on `alert_id`). Alerts of one job go out in order: a job's next alert waits
 * until the one before it is delivered or given up. Every attempt is logged in `alert_deliveries`.
 */

interface AlertOptions {
  /** First retry after this many ms, doubling each attempt (capped at 5 minutes). */
  retry_ms: number;
  /** Attempts before an alert is given up as `failed`. */
  max_attempts: number;
  /** Time-out of one POST. */
  timeout_ms: number;
  fetch: typeof fetch;
}

const DEFAULT_ALERT_OPTIONS: AlertOptions = { retry_ms: 1000, max_attempts: 10, timeout_ms: 5000, fetch: (...args) => fetch(...args) };

/** Event types that are alerts; a terminal status change adds `job_ended`. */
export const ALERT_EVENTS: ReadonlySet<string> = new Set(['budget_warning', 'budget_exceeded', 'guardrail_warning', 'guardrail_stop']);

const MAX_BACKOFF_MS = 5 * 60_000;

interface AlertRow {
  alert_id: number;
  job_id: string | null;
  policy_id: string | null;
  event_seq: number | null;
  event: string;
  url: string;
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

interface AlertDelivery {
  alert_id: number;
  attempt: number;
  time: string;
  ok: boolean;
  http_status: number | null;
  error: string | null;
  duration_ms: number;
  pid: number;
}

/**
 * Queues one alert; call inside the transaction that writes its event. Returns the alert id. An alert
 * is a job's, or (with job_id null) an improvement policy's; each one's alerts go out in order.
 */
export function enqueueAlert(db: Db, alert: { job_id: string | null; policy_id?: string; event_seq: number | null; event: string; url: string; body: Record<string, unknown>; time: string }): number {
  const result = db
    .prepare(`INSERT INTO alert_outbox (job_id, policy_id, event_seq, event, url, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, '', ?, ?)`)
    .run(alert.job_id, alert.job_id ? null : (alert.policy_id ?? null), alert.event_seq, alert.event, alert.url, alert.time, alert.time);
  const alert_id = Number(result.lastInsertRowid);
  const payload = JSON.stringify({ source: 'finetune-mcp', alert_id, time: alert.time, job_id: alert.job_id, event: alert.event, ...alert.body });
  db.prepare('UPDATE alert_outbox SET payload = ? WHERE alert_id = ?').run(payload, alert_id);
  scheduleDelivery(db);
  return alert_id;
}

/** The alerts of a job, oldest first, with their delivery attempts. */
export function jobAlerts(db: Db, job_id: string): Array<AlertRow & { deliveries: AlertDelivery[] }> {
  const rows = db.prepare('SELECT * FROM alert_outbox WHERE job_id = ? ORDER BY alert_id').all(job_id) as AlertRow[];
  if (!rows.length) return [];
  const log = db.prepare('SELECT * FROM alert_deliveries WHERE job_id = ? ORDER BY id').all(job_id) as Array<Omit<AlertDelivery, 'ok'> & { ok: number }>;
  return rows.map((row) => ({
    ...row,
    deliveries: log.filter((d) => d.alert_id === row.alert_id).map(({ alert_id, attempt, time, ok, http_status, error, duration_ms, pid }) => ({ alert_id, attempt, time, ok: ok === 1, http_status, error, duration_ms, pid })),
  }));
}

// ---- delivery ----

interface Deliverer {
  db: Db;
  options: AlertOptions;
  running: Promise<void> | null;
  again: boolean;
  timer: NodeJS.Timeout | undefined;
}

const deliverers = new Map<Db, Deliverer>();
const owner = `${process.pid}:${Math.random().toString(36).slice(2, 8)}`;

function delivererOf(db: Db): Deliverer {
  let d = deliverers.get(db);
  if (!d) {
    d = { db, options: DEFAULT_ALERT_OPTIONS, running: null, again: false, timer: undefined };
    deliverers.set(db, d);
  }
  return d;
}

/** Sets how this process delivers the alerts of one workspace (a server passes its config). */
export function configureAlerts(db: Db, options: Partial<AlertOptions>): void {
  const d = delivererOf(db);
  d.options = { ...d.options, ...options };
}

/** Starts a delivery round soon (after the current transaction commits); never throws. */
function scheduleDelivery(db: Db): void {
  setImmediate(() => void deliverDue(db));
}

/** Sends every alert that is due now (one round per job at a time, in order); resolves when done. */
export function deliverDue(db: Db): Promise<void> {
  const d = delivererOf(db);
  if (d.running) {
    d.again = true;
    return d.running;
  }
  d.running = (async () => {
    try {
      do {
        d.again = false;
        while (db.open && (await deliverRound(d)) > 0);
      } while (d.again && db.open);
      if (db.open) retryLater(d);
    } catch {
      // A closed or busy database: the next round (another process, the next tick) picks the alerts up.
    } finally {
      d.running = null;
      if (!db.open) forget(d);
    }
  })();
  return d.running;
}

/**
 * For a process about to exit (a training worker): delivers the alerts of `job_id`, retrying as the
 * backoff allows, until none is pending or `wait_ms` has passed. What is left is sent by a server.
 */
export async function flushAlerts(db: Db, job_id: string, wait_ms = 10_000): Promise<{ pending: number }> {
  const deadline = Date.now() + wait_ms;
  for (;;) {
    await deliverDue(db);
    const next = db.prepare(`SELECT MIN(next_attempt_at) AS next, COUNT(*) AS n FROM alert_outbox WHERE job_id = ? AND status = 'pending'`).get(job_id) as { next: string | null; n: number };
    if (next.n === 0 || Date.now() >= deadline) {
      const d = deliverers.get(db);
      if (d?.timer) clearTimeout(d.timer);
      return { pending: next.n };
    }
    const wait = Math.min(Math.max(20, Date.parse(next.next ?? '') - Date.now()), deadline - Date.now());
    await new Promise((resolve) => setTimeout(resolve, Number.isFinite(wait) ? wait : 100));
  }
}

/** Waits until this process has no delivery under way (tests; callers about to read the log). */
export async function pendingWebhooks(): Promise<void> {
  for (const d of [...deliverers.values()]) if (d.db.open) await deliverDue(d.db);
}

function forget(d: Deliverer): void {
  if (d.timer) clearTimeout(d.timer);
  deliverers.delete(d.db);
}

/** A timer for the earliest retry, so a process that stays up retries without anyone asking. */
function retryLater(d: Deliverer): void {
  const next = d.db.prepare(`SELECT MIN(next_attempt_at) AS next FROM alert_outbox WHERE status = 'pending'`).pluck().get() as string | null;
  if (d.timer) clearTimeout(d.timer);
  d.timer = undefined;
  if (!next) return;
  d.timer = setTimeout(() => void deliverDue(d.db), Math.max(20, Date.parse(next) - Date.now()));
  d.timer.unref();
}

/** Claims the first due alert of each job or policy (leased to this process) and POSTs them; returns how many. */
async function deliverRound(d: Deliverer): Promise<number> {
  const { db, options } = d;
  const now = new Date();
  const lease = new Date(now.getTime() + options.timeout_ms + 10_000).toISOString();
  const claimed = db
    .prepare(
      `UPDATE alert_outbox SET locked_by = ?, locked_until = ?
       WHERE alert_id IN (
         SELECT o.alert_id FROM alert_outbox o
         WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND (o.locked_until IS NULL OR o.locked_until <= ?)
           AND NOT EXISTS (SELECT 1 FROM alert_outbox p WHERE p.job_id IS o.job_id AND p.policy_id IS o.policy_id AND p.status = 'pending' AND p.alert_id < o.alert_id)
         ORDER BY o.alert_id LIMIT 20)
       RETURNING *`,
    )
    .all(owner, lease, now.toISOString(), now.toISOString()) as AlertRow[];
  for (const row of claimed.sort((a, b) => a.alert_id - b.alert_id)) await post(d, row);
  return claimed.length;
}

async function post(d: Deliverer, row: AlertRow): Promise<void> {
  const { db, options } = d;
  const started = Date.now();
  let ok = false;
  let http_status: number | null = null;
  let error: string | null = null;
  try {
    const response = await options.fetch(row.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `finetune-mcp-alert-${row.alert_id}` },
      body: row.payload,
      signal: AbortSignal.timeout(options.timeout_ms),
    });
    await response.arrayBuffer().catch(() => undefined);
    http_status = response.status;
    ok = response.ok;
    if (!ok) error = `HTTP ${response.status}`;
  } catch (thrown) {
    const cause = (thrown as { cause?: { code?: string; message?: string } }).cause;
    error = cause?.code ?? cause?.message ?? (thrown as Error).message ?? String(thrown);
  }
  if (!db.open) return;
  const time = new Date().toISOString();
  const attempt = row.attempts + 1;
  const record = db.transaction(() => {
    db.prepare('INSERT INTO alert_deliveries (alert_id, job_id, attempt, time, ok, http_status, error, duration_ms, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(row.alert_id, row.job_id, attempt, time, ok ? 1 : 0, http_status, error, Date.now() - started, process.pid);
    if (ok) {
      db.prepare(`UPDATE alert_outbox SET status = 'delivered', attempts = ?, delivered_at = ?, locked_by = NULL, locked_until = NULL WHERE alert_id = ?`).run(attempt, time, row.alert_id);
    } else {
      const giveUp = attempt >= options.max_attempts;
      const next = new Date(Date.now() + Math.min(MAX_BACKOFF_MS, options.retry_ms * 2 ** (attempt - 1))).toISOString();
      db.prepare(`UPDATE alert_outbox SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?, locked_by = NULL, locked_until = NULL WHERE alert_id = ?`)
        .run(giveUp ? 'failed' : 'pending', attempt, error, next, row.alert_id);
    }
  });
  record.immediate();
}
