import type { Migration } from '../workspace/migrations.js';

/**
 * Improvement policies (docs/improvement-loop.md): a policy, its cursor into the source, the pool of
 * judged rows that scored at least min_score, its cycles, and the retraining jobs it started. The
 * cursor and the pool change in one transaction, so a crash neither loses rows nor judges them twice.
 */
export const IMPROVEMENT_MIGRATIONS: Migration[] = [
  {
    id: 'improvement_0001_policies',
    sql: `
CREATE TABLE improvement_policies (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  spec TEXT NOT NULL,
  cursor TEXT NOT NULL DEFAULT '{}',
  lease_owner TEXT,
  lease_until TEXT,
  next_run_at TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE improvement_cycles (
  id TEXT PRIMARY KEY,
  policy_id TEXT NOT NULL REFERENCES improvement_policies (id),
  started_at TEXT NOT NULL,
  ended_at TEXT,
  batch_path TEXT,
  batch_origins TEXT,
  cursor_after TEXT,
  judge_run_id TEXT,
  judged INTEGER NOT NULL DEFAULT 0,
  added INTEGER NOT NULL DEFAULT 0,
  dataset_id TEXT,
  config_id TEXT,
  plan_id TEXT,
  job_id TEXT,
  evaluation_ids TEXT NOT NULL DEFAULT '[]',
  decision TEXT CHECK (decision IN ('promoted', 'regression', 'waiting', 'nothing_new', 'pooled', 'retraining', 'failed')),
  reason TEXT
);
CREATE INDEX improvement_cycles_policy ON improvement_cycles (policy_id, started_at);
CREATE TABLE improvement_pool (
  policy_id TEXT NOT NULL REFERENCES improvement_policies (id),
  row_sha256 TEXT NOT NULL,
  row TEXT NOT NULL,
  score REAL NOT NULL,
  judge_run_id TEXT NOT NULL,
  ref TEXT NOT NULL,
  span_id TEXT,
  trace_id TEXT,
  added_cycle_id TEXT NOT NULL,
  used_cycle_id TEXT,
  PRIMARY KEY (policy_id, row_sha256)
);
CREATE INDEX improvement_pool_unused ON improvement_pool (policy_id, used_cycle_id);
CREATE TABLE improvement_retrains (
  job_id TEXT PRIMARY KEY,
  policy_id TEXT NOT NULL REFERENCES improvement_policies (id),
  cycle_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'training' CHECK (status IN ('training', 'promoted', 'regression', 'failed')),
  decided_cycle_id TEXT,
  version_id TEXT,
  reason TEXT
);
`,
  },
  {
    // A version the loop registers but cannot vouch for (a gate it cannot measure) is 'held' for a person;
    // a cycle records what its Phoenix write-back did. SQLite cannot widen a CHECK: the tables are rebuilt.
    id: 'improvement_0002_held_and_writeback',
    sql: `
CREATE TABLE improvement_cycles_next (
  id TEXT PRIMARY KEY,
  policy_id TEXT NOT NULL REFERENCES improvement_policies (id),
  started_at TEXT NOT NULL,
  ended_at TEXT,
  batch_path TEXT,
  batch_origins TEXT,
  cursor_after TEXT,
  judge_run_id TEXT,
  judged INTEGER NOT NULL DEFAULT 0,
  added INTEGER NOT NULL DEFAULT 0,
  dataset_id TEXT,
  config_id TEXT,
  plan_id TEXT,
  job_id TEXT,
  evaluation_ids TEXT NOT NULL DEFAULT '[]',
  decision TEXT CHECK (decision IN ('promoted', 'regression', 'held', 'waiting', 'nothing_new', 'pooled', 'retraining', 'failed')),
  reason TEXT,
  writeback TEXT
);
INSERT INTO improvement_cycles_next (id, policy_id, started_at, ended_at, batch_path, batch_origins, cursor_after, judge_run_id, judged, added, dataset_id, config_id, plan_id, job_id, evaluation_ids, decision, reason) SELECT id, policy_id, started_at, ended_at, batch_path, batch_origins, cursor_after, judge_run_id, judged, added, dataset_id, config_id, plan_id, job_id, evaluation_ids, decision, reason FROM improvement_cycles;
DROP TABLE improvement_cycles;
ALTER TABLE improvement_cycles_next RENAME TO improvement_cycles;
CREATE INDEX improvement_cycles_policy ON improvement_cycles (policy_id, started_at);
CREATE TABLE improvement_retrains_next (
  job_id TEXT PRIMARY KEY,
  policy_id TEXT NOT NULL REFERENCES improvement_policies (id),
  cycle_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'training' CHECK (status IN ('training', 'promoted', 'regression', 'held', 'failed')),
  decided_cycle_id TEXT,
  version_id TEXT,
  reason TEXT
);
INSERT INTO improvement_retrains_next (job_id, policy_id, cycle_id, dataset_id, status, decided_cycle_id, version_id, reason) SELECT job_id, policy_id, cycle_id, dataset_id, status, decided_cycle_id, version_id, reason FROM improvement_retrains;
DROP TABLE improvement_retrains;
ALTER TABLE improvement_retrains_next RENAME TO improvement_retrains;
`,
  },
];
