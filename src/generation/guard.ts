import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readLines } from '../datasets/line-reader.js';
import { FinetuneError } from '../errors.js';
import type { Workspace } from '../workspace/workspace.js';

/**
 * Refusals that keep generated rows out of training until people approved them
 * (docs/data-generation.md "Refusals").
 */

/** A review queue id where a dataset version is expected. */
export function refuseReviewQueue(id: string, field = 'dataset_id'): void {
  if (!/^rq_/.test(id)) return;
  throw new FinetuneError('INVALID_INPUT', `${id} is a review queue, not a dataset; call commit_review to make a dataset version of its approved rows.`, {
    recovery: `Approve rows with review_examples (review_queue lists them), then call commit_review with queue_id "${id}" and pass the dataset_id it returns.`,
    details: { field },
  });
}

interface Matches {
  /** What review_rows held when the version was hashed: rows and edits since then may match other lines. */
  mark: string;
  /** sha256 of the version's lines that equal a review row (as generated or as edited) → how many lines. */
  lines: Map<string, number>;
}

/** Per version folder: versions never change, so their lines are hashed once per process. */
const cache = new Map<string, Matches>();
const CACHE_LIMIT = 64;

/**
 * Refuses a version holding generated rows that were not approved as they stand: a line whose sha256
 * (rowSha256: the row's JSON as prepared) equals a review row that is pending or rejected, or the row
 * as generated of a row approved only after an edit. Costs one query when no such review row exists;
 * otherwise one pass hashing the version's lines, cached per version.
 */
export async function refuseUnapprovedRows(workspace: Pick<Workspace, 'db'>, dataset: { dataset_id: string; dir: string; train_path: string }): Promise<void> {
  const db = workspace.db;
  const open = db.prepare("SELECT 1 FROM review_rows WHERE status != 'approved' OR edited_row IS NOT NULL LIMIT 1").get();
  if (!open) return;
  const mark = JSON.stringify(db.prepare("SELECT COUNT(*) AS n, MAX(rowid) AS last, (SELECT MAX(id) FROM review_decisions WHERE decision = 'edit') AS edits FROM review_rows").get());
  const rows = db.prepare('SELECT queue_id, status, row_sha256, edited_row FROM review_rows').all() as Array<{ queue_id: string; status: string; row_sha256: string; edited_row: string | null }>;
  // Each review row approves the hash of the row it would commit (its edit, if any); every other hash it has is not approved.
  const approved = new Set<string>();
  const unapproved = new Map<string, Set<string>>();
  const note = (hash: string, queue: string) => {
    if (!unapproved.has(hash)) unapproved.set(hash, new Set());
    unapproved.get(hash)!.add(queue);
  };
  for (const r of rows) {
    const edited = r.edited_row ? sha256(r.edited_row) : undefined;
    if (r.status === 'approved') approved.add(edited ?? r.row_sha256);
    else if (edited) note(edited, r.queue_id);
    if (r.status !== 'approved' || edited) note(r.row_sha256, r.queue_id);
  }
  const known = new Set([...approved, ...unapproved.keys()]);
  const matches = await versionMatches(dataset, known, mark);
  let count = 0;
  const queues = new Set<string>();
  for (const [hash, n] of matches) {
    if (approved.has(hash) || !unapproved.has(hash)) continue;
    count += n;
    for (const q of unapproved.get(hash)!) queues.add(q);
  }
  if (!count) return;
  const named = [...queues];
  throw new FinetuneError('INVALID_INPUT', `${dataset.dataset_id} holds ${count} generated row(s) that were not approved in review (queue ${named.join(', ')}): nothing generated is trained on before a person approves it.`, {
    recovery: `Approve or reject them with review_examples (review_queue with queue_id "${named[0]}" lists them), then call commit_review and train on the version it returns.`,
    details: { field: 'dataset_id', unapproved_rows: count, queue_ids: named },
  });
}

async function versionMatches(dataset: { dir: string; train_path: string }, known: Set<string>, mark: string): Promise<Map<string, number>> {
  const hit = cache.get(dataset.dir);
  if (hit?.mark === mark) return hit.lines;
  const all = join(dataset.dir, 'rows.jsonl');
  const files = existsSync(all) ? [all] : [dataset.train_path];
  const lines = new Map<string, number>();
  for (const file of files) {
    for await (const raw of readLines(file, { maxLineBytes: 256 * 1024 * 1024 })) {
      if (raw.too_long || !raw.bytes.length) continue;
      const hash = sha256(raw.bytes);
      if (known.has(hash)) lines.set(hash, (lines.get(hash) ?? 0) + 1);
    }
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(dataset.dir, { mark, lines });
  return lines;
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
