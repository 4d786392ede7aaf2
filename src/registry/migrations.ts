import { immutableTable, type Migration } from '../workspace/migrations.js';

/**
 * Registry tables. A model version is immutable (its lineage never changes); aliases are the
 * one mutable pointer, and every move of an alias is an append-only event with its reason.
 */
export const REGISTRY_MIGRATIONS: Migration[] = [
  {
    id: 'registry_0001_model_versions',
    sql: `
CREATE TABLE model_versions (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  major INTEGER NOT NULL,
  minor INTEGER NOT NULL,
  patch INTEGER NOT NULL,
  prerelease TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  source_kind TEXT NOT NULL,
  artifact_dir TEXT NOT NULL,
  artifact_sha256 TEXT NOT NULL,
  lineage TEXT NOT NULL,
  metrics TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (name, version)
);
CREATE INDEX model_versions_name ON model_versions (name, major, minor, patch);
${immutableTable('model_versions')}
CREATE TABLE model_aliases (
  name TEXT NOT NULL,
  alias TEXT NOT NULL,
  version_id TEXT NOT NULL REFERENCES model_versions (id),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (name, alias)
);
CREATE TABLE model_alias_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  alias TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('promote', 'rollback')),
  from_version_id TEXT,
  to_version_id TEXT NOT NULL REFERENCES model_versions (id),
  reason TEXT NOT NULL DEFAULT '',
  forced INTEGER NOT NULL DEFAULT 0,
  gates TEXT NOT NULL DEFAULT '[]',
  at TEXT NOT NULL
);
CREATE INDEX model_alias_events_alias ON model_alias_events (name, alias, seq);
${immutableTable('model_alias_events')}
`,
  },
  {
    id: 'registry_0002_experiment_runs',
    sql: `
CREATE TABLE experiment_runs (
  id TEXT PRIMARY KEY,
  experiment TEXT NOT NULL,
  run_name TEXT NOT NULL,
  job_id TEXT,
  params TEXT NOT NULL,
  metrics TEXT NOT NULL,
  artifacts TEXT NOT NULL,
  tags TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  UNIQUE (experiment, run_name)
);
CREATE INDEX experiment_runs_experiment ON experiment_runs (experiment, created_at);
${immutableTable('experiment_runs')}
`,
  },
  {
    // Where each version was pushed (push_model): append-only, one row per commit on a Hub repo.
    id: 'registry_0003_model_pushes',
    sql: `
CREATE TABLE model_pushes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  version_id TEXT NOT NULL REFERENCES model_versions (id),
  hub_url TEXT NOT NULL,
  repo TEXT NOT NULL,
  revision TEXT NOT NULL,
  commit_oid TEXT NOT NULL,
  commit_url TEXT NOT NULL,
  format TEXT NOT NULL,
  lineage_sha256 TEXT NOT NULL,
  files TEXT NOT NULL,
  pushed_at TEXT NOT NULL,
  UNIQUE (version_id, hub_url, repo, commit_oid)
);
CREATE INDEX model_pushes_version ON model_pushes (version_id, seq);
${immutableTable('model_pushes')}
`,
  },
];
