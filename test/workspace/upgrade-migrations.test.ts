/**
 * Migrations that rebuild a table keep what an existing workspace holds: the alert outbox (job_id made
 * optional for improvement-policy alerts, its immutable deliveries kept) and the improvement cycles and
 * retrainings (their CHECK widened for 'held'). A workspace at the step before them is filled, then upgraded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type Db } from '../../src/workspace/database.js';
import { MIGRATIONS } from '../../src/workspace/migration-list.js';

const NEW = ['training_0008_policy_alerts', 'improvement_0002_held_and_writeback'];
let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A row with every NOT NULL column without a default filled, plus `values`. */
function insert(db: Db, table: string, values: Record<string, unknown>): void {
  const columns = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string; notnull: number; dflt_value: unknown; pk: number }>;
  const row: Record<string, unknown> = {};
  for (const c of columns) if (c.notnull && c.dflt_value === null && !c.pk) row[c.name] = 'x';
  Object.assign(row, values);
  const names = Object.keys(row);
  db.prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...names.map((n) => row[n]));
}

describe('upgrading a workspace across the table rebuilds', () => {
  it('keeps alerts, deliveries, cycles and retrainings, and takes the new values after', () => {
    dir = mkdtempSync(join(tmpdir(), 'ftm-upgrade-'));
    const db = openDatabase(join(dir, 'w.db'));
    migrate(db, MIGRATIONS.filter((m) => !NEW.includes(m.id)));
    // The rows an older server wrote (their parents are beside the point here: keys are not checked while seeding).
    db.pragma('foreign_keys = OFF');
    insert(db, 'jobs', { job_id: 'job_1', status: 'running' });
    insert(db, 'improvement_policies', { id: 'pol_1', name: 'p', spec: '{}', created_at: 't' });
    db.pragma('foreign_keys = ON');
    db.prepare("INSERT INTO alert_outbox (job_id, event_seq, event, url, payload, status, attempts, next_attempt_at, created_at) VALUES ('job_1', 3, 'job_ended', 'http://h', '{\"a\":1}', 'delivered', 1, 't', 't')").run();
    db.prepare("INSERT INTO alert_deliveries (alert_id, job_id, attempt, time, ok, http_status, error, duration_ms, pid) VALUES (1, 'job_1', 1, 't', 1, 204, NULL, 5, 9)").run();
    db.prepare("INSERT INTO improvement_cycles (id, policy_id, started_at, decision, reason, evaluation_ids) VALUES ('cyc_1', 'pol_1', 't', 'regression', 'worse', '[\"eval_1\"]')").run();
    db.prepare("INSERT INTO improvement_retrains (job_id, policy_id, cycle_id, dataset_id, status) VALUES ('job_1', 'pol_1', 'cyc_1', 'ds_1', 'regression')").run();

    expect(migrate(db, MIGRATIONS)).toEqual(NEW);
    expect(db.prepare('SELECT job_id, policy_id, event_seq, event, payload, status FROM alert_outbox').all()).toEqual([{ job_id: 'job_1', policy_id: null, event_seq: 3, event: 'job_ended', payload: '{"a":1}', status: 'delivered' }]);
    expect(db.prepare('SELECT alert_id, job_id, http_status FROM alert_deliveries').all()).toEqual([{ alert_id: 1, job_id: 'job_1', http_status: 204 }]);
    expect(() => db.prepare('UPDATE alert_deliveries SET ok = 0').run()).toThrow(/IMMUTABLE_RECORD/);
    expect(db.prepare('SELECT id, decision, reason, evaluation_ids, writeback FROM improvement_cycles').all()).toEqual([{ id: 'cyc_1', decision: 'regression', reason: 'worse', evaluation_ids: '["eval_1"]', writeback: null }]);
    expect(db.prepare('SELECT status FROM improvement_retrains').pluck().all()).toEqual(['regression']);

    // What the rebuilds are for: a policy's alert without a job, and 'held'; keys and CHECKs still hold.
    db.prepare("INSERT INTO alert_outbox (job_id, policy_id, event, url, payload, next_attempt_at, created_at) VALUES (NULL, 'pol_1', 'improvement_judge_failures', 'http://h', '{}', 't', 't')").run();
    expect(() => db.prepare("INSERT INTO alert_outbox (job_id, policy_id, event, url, payload, next_attempt_at, created_at) VALUES (NULL, NULL, 'e', 'u', '{}', 't', 't')").run()).toThrow(/CHECK/);
    expect(() => db.prepare("INSERT INTO alert_outbox (job_id, event, url, payload, next_attempt_at, created_at) VALUES ('job_gone', 'e', 'u', '{}', 't', 't')").run()).toThrow(/FOREIGN KEY/);
    db.prepare("UPDATE improvement_retrains SET status = 'held'").run();
    db.prepare("UPDATE improvement_cycles SET decision = 'held'").run();
    expect(() => db.prepare("UPDATE improvement_cycles SET decision = 'maybe'").run()).toThrow(/CHECK/);
    for (const table of ['alert_outbox', 'alert_deliveries', 'improvement_cycles', 'improvement_retrains']) expect(db.pragma(`foreign_key_check(${table})`)).toEqual([]);
    db.close();
  });
});
