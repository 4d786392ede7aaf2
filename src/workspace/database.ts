import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { FinetuneError } from '../errors.js';
import type { Migration } from './migrations.js';

export type Db = Database.Database;

// The native module loads on the first open, not at import: a server's start-up never waits for it.
const require = createRequire(import.meta.url);

/** Opens the workspace database: WAL (readers never block the writer), foreign keys on, busy wait. */
export function openDatabase(file: string): Db {
  const Sqlite = require('better-sqlite3') as typeof Database;
  const db = new Sqlite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  return db;
}

/** Applies the migrations not yet recorded, each in its own transaction; returns the ids applied. */
export function migrate(db: Db, migrations: readonly Migration[]): string[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`);
  const seen = new Set<string>();
  for (const m of migrations) {
    if (seen.has(m.id)) throw new FinetuneError('INTERNAL', `Migration id ${m.id} appears twice in the list.`);
    seen.add(m.id);
  }
  const done = new Set(db.prepare('SELECT id FROM schema_migrations').pluck().all() as string[]);
  const applied: string[] = [];
  // IMMEDIATE takes the write lock first, so two processes opening one workspace apply each migration once.
  const apply = db.transaction((m: Migration) => {
    const already = db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?').get(m.id);
    if (already) return false;
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)').run(m.id, new Date().toISOString());
    return true;
  });
  for (const m of migrations) {
    if (done.has(m.id)) continue;
    if (apply.immediate(m)) applied.push(m.id);
  }
  return applied;
}
