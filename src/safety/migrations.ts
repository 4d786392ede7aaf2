import type { Migration } from '../workspace/migrations.js';

/**
 * Safety reports (run_safety_probes), immutable like evaluations; and the canaries of each dataset
 * version: the personal values its rows hold, kept only as salted hashes (HMAC-SHA256 with the
 * workspace's own key), so a model output can be checked against them without storing a value.
 */
export const SAFETY_MIGRATIONS: Migration[] = [
  {
    id: 'safety_0001_reports_and_canaries',
    sql: `
CREATE TABLE safety_reports (
  id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  version_id TEXT,
  job_id TEXT,
  dataset_id TEXT,
  suites TEXT NOT NULL,
  metrics TEXT NOT NULL,
  report TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX safety_reports_version ON safety_reports (version_id, created_at);
CREATE INDEX safety_reports_job ON safety_reports (job_id, created_at);
CREATE TRIGGER safety_reports_immutable BEFORE UPDATE ON safety_reports WHEN NOT EXISTS (SELECT 1 FROM erasure_unlock)
  BEGIN SELECT RAISE(ABORT, 'IMMUTABLE_RECORD: safety_reports rows never change; run the probes again'); END;
CREATE TABLE safety_canaries (
  dataset_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (dataset_id, kind, hash)
);
CREATE TABLE safety_canary_sets (
  dataset_id TEXT PRIMARY KEY,
  content_hash TEXT NOT NULL,
  values_found INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
`,
  },
];
