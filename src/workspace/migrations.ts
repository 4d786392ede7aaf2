/**
 * What a schema migration is, and the workspace's own steps. Every area's migrations module imports
 * this one, so it imports none of them: the ordered list lives in ./migration-list.ts, which nothing
 * here imports back (importing any area's steps first must not meet a half-initialised module).
 */

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
