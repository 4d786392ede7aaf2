import { immutableTable, type Migration } from '../workspace/migrations.js';

/**
 * Dataset versions are immutable records (a change is a new version naming its parent). The consent
 * log is append-only: every PII redaction run leaves who/what/when and the legal basis given.
 */
export const DATASET_MIGRATIONS: Migration[] = [
  {
    id: 'datasets_0001_versions',
    sql: `
CREATE TABLE datasets (
  id TEXT PRIMARY KEY,
  parent_id TEXT REFERENCES datasets (id),
  name TEXT,
  task_type TEXT NOT NULL,
  operation TEXT NOT NULL,
  source_format TEXT NOT NULL,
  source_path TEXT NOT NULL,
  source_sha256 TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  rows INTEGER NOT NULL,
  split INTEGER NOT NULL DEFAULT 0,
  manifest TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX datasets_parent ON datasets (parent_id);
CREATE INDEX datasets_content ON datasets (content_hash);
${immutableTable('datasets')}
CREATE TABLE dataset_consent_log (
  id TEXT PRIMARY KEY,
  dataset_id TEXT NOT NULL REFERENCES datasets (id),
  source_dataset_id TEXT NOT NULL REFERENCES datasets (id),
  actor TEXT NOT NULL,
  legal_basis TEXT NOT NULL,
  consent_reference TEXT,
  purpose TEXT,
  kinds TEXT NOT NULL,
  findings INTEGER NOT NULL,
  rows_affected INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX dataset_consent_log_dataset ON dataset_consent_log (dataset_id);
${immutableTable('dataset_consent_log')}
CREATE TRIGGER dataset_consent_log_append_only BEFORE DELETE ON dataset_consent_log
  BEGIN SELECT RAISE(ABORT, 'IMMUTABLE_RECORD: the consent log is append-only'); END;
`,
  },
];
