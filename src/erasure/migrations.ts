import type { Migration } from '../workspace/migrations.js';

/**
 * Tables that are immutable (every UPDATE refused) or append-only (every DELETE refused). An erasure
 * is the one sanctioned exception: inside its transaction a row in `erasure_unlock` opens them, and
 * since that row is never committed no other connection ever sees them open. A new immutable table
 * must be added here; test/erasure/triggers.test.ts fails on one that is not.
 */
const IMMUTABLE_TABLES = [
  'training_configs', 'training_plans', 'job_events', 'alert_deliveries',
  'evaluations', 'comparisons', 'human_evals', 'human_eval_verdicts', 'judge_runs', 'judge_run_rows', 'judge_run_writebacks',
  'model_versions', 'model_alias_events', 'experiment_runs', 'model_pushes',
  'datasets', 'dataset_consent_log', 'models', 'review_decisions',
];
const APPEND_ONLY = [
  ['dataset_consent_log', 'the consent log is append-only'],
  ['review_decisions', 'review decisions are append-only'],
];

const reopenable = [
  ...IMMUTABLE_TABLES.map(
    (t) => `DROP TRIGGER IF EXISTS ${t}_immutable;
CREATE TRIGGER ${t}_immutable BEFORE UPDATE ON ${t} WHEN NOT EXISTS (SELECT 1 FROM erasure_unlock)
  BEGIN SELECT RAISE(ABORT, 'IMMUTABLE_RECORD: ${t} rows never change; create a new version'); END;`,
  ),
  ...APPEND_ONLY.map(
    ([t, why]) => `DROP TRIGGER IF EXISTS ${t}_append_only;
CREATE TRIGGER ${t}_append_only BEFORE DELETE ON ${t} WHEN NOT EXISTS (SELECT 1 FROM erasure_unlock)
  BEGIN SELECT RAISE(ABORT, 'IMMUTABLE_RECORD: ${why}'); END;`,
  ),
].join('\n');

/**
 * The erasure log (append-only, each entry hashing the one before it), the taint of model versions
 * trained on erased data, and the unlock row erasures take.
 */
export const ERASURE_MIGRATIONS: Migration[] = [
  {
    id: 'erasure_0001_log_and_taints',
    sql: `
CREATE TABLE erasure_unlock (held INTEGER NOT NULL);
CREATE TABLE erasure_log (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  request_reference TEXT NOT NULL,
  reason TEXT NOT NULL,
  summary TEXT NOT NULL,
  at TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TRIGGER erasure_log_no_update BEFORE UPDATE ON erasure_log
  BEGIN SELECT RAISE(ABORT, 'IMMUTABLE_RECORD: the erasure log is append-only'); END;
CREATE TRIGGER erasure_log_no_delete BEFORE DELETE ON erasure_log
  BEGIN SELECT RAISE(ABORT, 'IMMUTABLE_RECORD: the erasure log is append-only'); END;
CREATE TABLE model_version_taints (
  version_id TEXT NOT NULL REFERENCES model_versions (id),
  erasure_id TEXT NOT NULL REFERENCES erasure_log (id),
  request_reference TEXT NOT NULL,
  dataset_ids TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (version_id, erasure_id)
);
${reopenable}
`,
  },
];
