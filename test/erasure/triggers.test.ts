import { describe, expect, it } from 'vitest';
import { connectTestClient } from '../helpers/mcp.js';

/** The immutability triggers open only inside an erasure's transaction (src/erasure/migrations.ts). */
describe('immutable tables and the erasure unlock', () => {
  it('every immutable or append-only trigger yields to erasure_unlock, and to nothing else', async () => {
    const t = await connectTestClient();
    try {
      const db = t.services.workspace.db;
      const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND (name LIKE '%_immutable' OR name LIKE '%_append_only')").all() as Array<{ name: string; sql: string }>;
      expect(triggers.length).toBeGreaterThanOrEqual(20);
      const missing = triggers.filter((tr) => !tr.sql.includes('WHEN NOT EXISTS (SELECT 1 FROM erasure_unlock)')).map((tr) => tr.name);
      // A new immutable table must be listed in IMMUTABLE_TABLES of src/erasure/migrations.ts (a new migration re-creates its trigger).
      expect(missing).toEqual([]);

      db.prepare("INSERT INTO experiment_runs (id, experiment, run_name, params, metrics, artifacts, created_at) VALUES ('exp_1', 'e', 'r', '{}', '{}', '{}', 'now')").run();
      expect(() => db.prepare("UPDATE experiment_runs SET run_name = 'x' WHERE id = 'exp_1'").run()).toThrow(/IMMUTABLE_RECORD/);
      db.transaction(() => {
        db.prepare('INSERT INTO erasure_unlock (held) VALUES (1)').run();
        db.prepare("UPDATE experiment_runs SET run_name = 'x' WHERE id = 'exp_1'").run();
        db.prepare('DELETE FROM erasure_unlock').run();
      })();
      expect(db.prepare("SELECT run_name FROM experiment_runs WHERE id = 'exp_1'").pluck().get()).toBe('x');
      expect(() => db.prepare("UPDATE experiment_runs SET run_name = 'y' WHERE id = 'exp_1'").run()).toThrow(/IMMUTABLE_RECORD/);
    } finally {
      await t.close();
    }
  });
});
