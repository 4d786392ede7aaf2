import { immutableTable, type Migration } from '../workspace/migrations.js';

/**
 * The training control plane's tables. Configs and plans are immutable records; a job is the one
 * mutable row (its state machine), everything it reports is appended (events, metrics, checkpoints,
 * artifacts) so a reader never sees a record change under it.
 */
export const TRAINING_MIGRATIONS: Migration[] = [
  {
    id: 'training_0001_ledger',
    sql: `
CREATE TABLE training_configs (
  config_id TEXT PRIMARY KEY,
  base_model TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  method TEXT NOT NULL,
  approach TEXT NOT NULL,
  backend TEXT NOT NULL,
  template TEXT NOT NULL,
  hyperparameters TEXT NOT NULL,
  backend_options TEXT NOT NULL,
  policy TEXT NOT NULL,
  parent_config_id TEXT,
  created_at TEXT NOT NULL
);
${immutableTable('training_configs')}

CREATE TABLE training_plans (
  plan_id TEXT PRIMARY KEY,
  config_id TEXT NOT NULL REFERENCES training_configs(config_id),
  verdict TEXT NOT NULL CHECK (verdict IN ('go', 'no_go')),
  reasons TEXT NOT NULL,
  estimate TEXT NOT NULL,
  validation TEXT NOT NULL,
  budget TEXT NOT NULL,
  created_at TEXT NOT NULL
);
${immutableTable('training_plans')}

CREATE TABLE jobs (
  job_id TEXT PRIMARY KEY,
  config_id TEXT NOT NULL REFERENCES training_configs(config_id),
  plan_id TEXT REFERENCES training_plans(plan_id),
  backend TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'preparing', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
  policy TEXT NOT NULL,
  step INTEGER NOT NULL DEFAULT 0,
  total_steps INTEGER NOT NULL DEFAULT 0,
  epoch REAL NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 1,
  resume_from TEXT,
  error_code TEXT,
  error_message TEXT,
  worker_pid INTEGER,
  remote_id TEXT,
  cancel_requested_at TEXT,
  stop_code TEXT,
  stop_reason TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
CREATE INDEX jobs_status ON jobs(status, backend, created_at);

CREATE TABLE job_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  time TEXT NOT NULL,
  type TEXT NOT NULL,
  level TEXT NOT NULL DEFAULT 'info',
  message TEXT NOT NULL,
  data TEXT
);
CREATE INDEX job_events_job ON job_events(job_id, seq);
${immutableTable('job_events')}

CREATE TABLE job_metrics (
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  name TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL,
  time TEXT NOT NULL
);
CREATE INDEX job_metrics_series ON job_metrics(job_id, name, step);

CREATE TABLE job_checkpoints (
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  step INTEGER NOT NULL,
  path TEXT NOT NULL,
  metrics TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (job_id, step)
);

CREATE TABLE job_artifacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  kind TEXT NOT NULL,
  path TEXT,
  uri TEXT,
  meta TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX job_artifacts_job ON job_artifacts(job_id, id);
`,
  },
  {
    // Budget and guardrail checks look events up by type ("was this warning already sent?").
    id: 'training_0002_event_type_index',
    sql: `CREATE INDEX job_events_type ON job_events(job_id, type);`,
  },
  {
    // MCP tasks for start_training: the task id is the job id; the task's state is read from the job.
    id: 'training_0003_job_tasks',
    sql: `CREATE TABLE job_tasks (
  task_id TEXT PRIMARY KEY,
  mode TEXT NOT NULL CHECK (mode IN ('task', 'call')),
  session_id TEXT,
  ttl INTEGER,
  poll_interval INTEGER NOT NULL,
  status TEXT,
  status_message TEXT,
  result TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);`,
  },
  {
    // One plan, one job: each start key ('plan:<plan_id>', 'key:<idempotency_key>') names the one job it
    // started. The primary key makes two concurrent starts of one plan give one job (no check-then-insert).
    // Existing jobs claim their plans, the oldest job of a plan first.
    id: 'training_0004_job_starts',
    sql: `CREATE TABLE job_starts (
  start_key TEXT PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  created_at TEXT NOT NULL
);
INSERT OR IGNORE INTO job_starts (start_key, job_id, created_at)
  SELECT 'plan:' || plan_id, job_id, created_at FROM jobs WHERE plan_id IS NOT NULL ORDER BY created_at, job_id;
-- A task whose start_training call returned an existing job follows that job.
ALTER TABLE job_tasks ADD COLUMN job_id TEXT;`,
  },
  {
    // Budgets count time spent running: seconds of earlier attempts plus the current attempt since it began running.
    id: 'training_0005_run_seconds',
    sql: `ALTER TABLE jobs ADD COLUMN run_seconds REAL NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN attempt_started_at TEXT;
UPDATE jobs SET attempt_started_at = started_at WHERE status = 'running';`,
  },
  {
    // Webhook alerts are delivered at least once: written in the same transaction as their event, sent by
    // whichever process (worker or server) gets to them, retried with backoff; every attempt is logged.
    id: 'training_0006_alert_outbox',
    sql: `CREATE TABLE alert_outbox (
  alert_id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  event_seq INTEGER,
  event TEXT NOT NULL,
  url TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  locked_by TEXT,
  locked_until TEXT,
  last_error TEXT,
  created_at TEXT NOT NULL,
  delivered_at TEXT
);
CREATE INDEX alert_outbox_due ON alert_outbox(status, next_attempt_at);
CREATE INDEX alert_outbox_job ON alert_outbox(job_id, alert_id);

CREATE TABLE alert_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id INTEGER NOT NULL REFERENCES alert_outbox(alert_id),
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  time TEXT NOT NULL,
  ok INTEGER NOT NULL,
  http_status INTEGER,
  error TEXT,
  duration_ms INTEGER NOT NULL,
  pid INTEGER NOT NULL
);
CREATE INDEX alert_deliveries_job ON alert_deliveries(job_id, id);
${immutableTable('alert_deliveries')}`,
  },
  {
    // A worker's pid alone is not its identity once it died and the pid was reused: its start time goes beside it.
    id: 'training_0007_worker_start',
    sql: `ALTER TABLE jobs ADD COLUMN worker_start TEXT;`,
  },
  {
    // An improvement policy's alerts (a judge failing on too many rows) may come before any job: job_id
    // becomes optional and policy_id names the policy. SQLite cannot drop a NOT NULL: the tables are
    // rebuilt, the deliveries (a child of the outbox, immutable) kept aside meanwhile so no key dangles.
    id: 'training_0008_policy_alerts',
    sql: `CREATE TABLE alert_deliveries_kept AS SELECT * FROM alert_deliveries;
DROP TRIGGER alert_deliveries_immutable;
DROP TABLE alert_deliveries;
CREATE TABLE alert_outbox_next (
  alert_id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT REFERENCES jobs(job_id),
  policy_id TEXT,
  event_seq INTEGER,
  event TEXT NOT NULL,
  url TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  locked_by TEXT,
  locked_until TEXT,
  last_error TEXT,
  created_at TEXT NOT NULL,
  delivered_at TEXT,
  CHECK (job_id IS NOT NULL OR policy_id IS NOT NULL)
);
INSERT INTO alert_outbox_next (alert_id, job_id, event_seq, event, url, payload, status, attempts, next_attempt_at, locked_by, locked_until, last_error, created_at, delivered_at)
  SELECT alert_id, job_id, event_seq, event, url, payload, status, attempts, next_attempt_at, locked_by, locked_until, last_error, created_at, delivered_at FROM alert_outbox;
DROP TABLE alert_outbox;
ALTER TABLE alert_outbox_next RENAME TO alert_outbox;
CREATE INDEX alert_outbox_due ON alert_outbox(status, next_attempt_at);
CREATE INDEX alert_outbox_job ON alert_outbox(job_id, alert_id);
CREATE TABLE alert_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id INTEGER NOT NULL REFERENCES alert_outbox(alert_id),
  job_id TEXT,
  attempt INTEGER NOT NULL,
  time TEXT NOT NULL,
  ok INTEGER NOT NULL,
  http_status INTEGER,
  error TEXT,
  duration_ms INTEGER NOT NULL,
  pid INTEGER NOT NULL
);
INSERT INTO alert_deliveries SELECT * FROM alert_deliveries_kept;
DROP TABLE alert_deliveries_kept;
CREATE INDEX alert_deliveries_job ON alert_deliveries(job_id, id);
${immutableTable('alert_deliveries')}`,
  },
];
