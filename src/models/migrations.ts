import { immutableTable, type Migration } from '../workspace/migrations.js';

/** Base models: one immutable row per distinct imported model (content_hash is the dedupe key). */
export const MODELS_MIGRATIONS: Migration[] = [
  {
    id: 'models_0001_models',
    sql: `CREATE TABLE models (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  source TEXT NOT NULL,
  source_kind TEXT NOT NULL CHECK (source_kind IN ('folder', 'llama2c', 'hub')),
  revision TEXT,
  sha256 TEXT NOT NULL,
  content_hash TEXT NOT NULL UNIQUE,
  architecture TEXT NOT NULL,
  model_type TEXT NOT NULL,
  parameters INTEGER NOT NULL,
  context_length INTEGER NOT NULL,
  dir TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX models_created ON models (created_at);
${immutableTable('models')}`,
  },
];
