import { createHash } from 'node:crypto';
import type { Db } from '../workspace/database.js';

interface ErasureEntry {
  id: string;
  request_reference: string;
  reason: string;
  /** What was done, by count and record id: never an identifier. */
  summary: unknown;
  at: string;
}

const GENESIS = '0'.repeat(64);

/** Each entry's hash covers the previous hash and the entry itself, so editing or dropping any entry breaks every hash after it. */
function entryHash(prev: string, entry: ErasureEntry, summaryJson: string): string {
  return createHash('sha256').update([prev, entry.id, entry.request_reference, entry.reason, summaryJson, entry.at].join('\n')).digest('hex');
}

/** Appends an entry (call inside the erasure's transaction). */
export function appendErasure(db: Db, entry: ErasureEntry): string {
  const prev = (db.prepare('SELECT hash FROM erasure_log ORDER BY seq DESC LIMIT 1').pluck().get() as string | undefined) ?? GENESIS;
  const summary = JSON.stringify(entry.summary);
  const hash = entryHash(prev, entry, summary);
  db.prepare('INSERT INTO erasure_log (id, request_reference, reason, summary, at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)').run(entry.id, entry.request_reference, entry.reason, summary, entry.at, prev, hash);
  return hash;
}

/** Recomputes the chain; names the first entry that does not verify. */
export function verifyErasureLog(db: Db): { ok: boolean; entries: number; problem?: string } {
  const rows = db.prepare('SELECT seq, id, request_reference, reason, summary, at, prev_hash, hash FROM erasure_log ORDER BY seq').all() as Array<ErasureEntry & { seq: number; summary: string; prev_hash: string; hash: string }>;
  let prev = GENESIS;
  for (const row of rows) {
    if (row.prev_hash !== prev) return { ok: false, entries: rows.length, problem: `entry ${row.seq} (${row.id}) does not follow the entry before it: one was removed or rewritten` };
    if (entryHash(prev, row, row.summary) !== row.hash) return { ok: false, entries: rows.length, problem: `entry ${row.seq} (${row.id}) was changed after it was written` };
    prev = row.hash;
  }
  return { ok: true, entries: rows.length };
}
