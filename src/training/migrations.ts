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
];
