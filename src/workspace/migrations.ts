/**
 * Versioned schema migrations, applied once each, in list order, inside a transaction.
 * Append only: a shipped migration is never edited; a change is a new entry.
 * Each area of the code owns its entries (ids prefixed by area) and adds them to MIGRATIONS.
 */
import { TRAINING_MIGRATIONS } from '../training/migrations.js';
import { REGISTRY_MIGRATIONS } from '../registry/migrations.js';
import { EVALUATION_RUN_MIGRATIONS } from '../evaluation/migrations.js';
import { DATASET_MIGRATIONS } from '../datasets/migrations.js';
import { MODELS_MIGRATIONS } from '../models/migrations.js';

export interface Migration {
  id: string;
  sql: string;
}

/** Makes a table's rows immutable: SQLite refuses every UPDATE on it. */
export function immutableTable(table: string): string {
  return `CREATE TRIGGER ${table}_immutable BEFORE UPDATE ON ${table}
  BEGIN SELECT RAISE(ABORT, 'IMMUTABLE_RECORD: ${table} rows never change; create a new version'); END;`;
}

export const CORE_MIGRATIONS: Migration[] = [
  {
    id: 'core_0001_meta',
    sql: `CREATE TABLE workspace_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  },
];

export const MIGRATIONS: Migration[] = [...CORE_MIGRATIONS, ...TRAINING_MIGRATIONS, ...EVALUATION_RUN_MIGRATIONS, ...REGISTRY_MIGRATIONS, ...DATASET_MIGRATIONS, ...MODELS_MIGRATIONS];
