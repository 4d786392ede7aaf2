import { createHash } from 'node:crypto';
import type { CanonicalRow } from '../datasets/types.js';
import { FinetuneError } from '../errors.js';
import type { Workspace } from '../workspace/workspace.js';
import type { CandidateRow, GenerationKind, ReviewQueueRecord, ReviewRow, ReviewStatus, RowFlag } from './types.js';

interface QueueRow {
  id: string;
  name: string | null;
  kind: string;
  task_type: string;
  source: string;
  generator: string;
  params: string;
  status: string;
  report: string;
  created_at: string;
}

interface StoredRow {
  id: string;
  queue_id: string;
  position: number;
  status: string;
  row: string;
  edited_row: string | null;
  provenance: string;
  flags: string;
  reviewer: string | null;
  decided_at: string | null;
}

/** sha256 of a row's JSON: how a review row is recognised in a dataset (docs/data-generation.md). */
export function rowSha256(row: CanonicalRow): string {
  return createHash('sha256').update(JSON.stringify(row)).digest('hex');
}

/**
 * Review queues in the workspace database. A queue is created with all its generated rows in one
 * transaction, so a crash leaves either the whole queue or none of it.
 */
export class ReviewQueueStore {
  constructor(private readonly workspace: Workspace) {}

  create(queue: Omit<ReviewQueueRecord, 'id' | 'status' | 'counts' | 'created_at'>, rows: Array<CandidateRow & { flags: RowFlag[] }>): ReviewQueueRecord {
    const id = this.workspace.newId('review_queue');
    const now = new Date().toISOString();
    const db = this.workspace.db;
    const insertRow = db.prepare(
      `INSERT INTO review_rows (id, queue_id, position, row, row_sha256, provenance, flags) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    db.transaction(() => {
      db.prepare(`INSERT INTO review_queues (id, name, kind, task_type, source, generator, params, report, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        id,
        queue.name,
        queue.kind,
        queue.task_type,
        JSON.stringify(queue.source),
        JSON.stringify(queue.generator),
        JSON.stringify(queue.params),
        JSON.stringify(queue.report),
        now,
      );
      rows.forEach((r, i) => insertRow.run(`${id}:${i + 1}`, id, i + 1, JSON.stringify(r.row), rowSha256(r.row), JSON.stringify(r.provenance), JSON.stringify(r.flags)));
    })();
    return this.get(id);
  }

  get(id: string): ReviewQueueRecord {
    const row = this.workspace.db.prepare('SELECT * FROM review_queues WHERE id = ?').get(id) as QueueRow | undefined;
    if (!row) {
      throw new FinetuneError('NOT_FOUND', `No review queue '${id}'.`, {
        recovery: 'Call generate_dataset to make one; review queue ids look like rq_….',
        details: { field: 'queue_id' },
      });
    }
    const counts: Record<ReviewStatus, number> = { pending: 0, approved: 0, rejected: 0 };
    const byStatus = this.workspace.db.prepare('SELECT status, COUNT(*) AS n FROM review_rows WHERE queue_id = ? GROUP BY status').all(id) as Array<{ status: ReviewStatus; n: number }>;
    for (const { status, n } of byStatus) counts[status] = n;
    return {
      id: row.id,
      name: row.name,
      kind: row.kind as GenerationKind,
      task_type: row.task_type as ReviewQueueRecord['task_type'],
      source: JSON.parse(row.source) as ReviewQueueRecord['source'],
      generator: JSON.parse(row.generator) as ReviewQueueRecord['generator'],
      params: JSON.parse(row.params) as Record<string, unknown>,
      status: row.status as ReviewQueueRecord['status'],
      counts,
      report: JSON.parse(row.report) as Record<string, unknown>,
      created_at: row.created_at,
    };
  }

  /** Rows in generation order, optionally of one status. */
  rows(queueId: string, options: { status?: ReviewStatus; offset?: number; limit?: number } = {}): ReviewRow[] {
    const where = options.status ? 'AND status = ?' : '';
    const params: unknown[] = [queueId, ...(options.status ? [options.status] : []), options.limit ?? -1, options.offset ?? 0];
    const stored = this.workspace.db.prepare(`SELECT * FROM review_rows WHERE queue_id = ? ${where} ORDER BY position LIMIT ? OFFSET ?`).all(...params) as StoredRow[];
    return stored.map(readRow);
  }
}

function readRow(r: StoredRow): ReviewRow {
  const generated = JSON.parse(r.row) as CanonicalRow;
  return {
    id: r.id,
    queue_id: r.queue_id,
    position: r.position,
    status: r.status as ReviewStatus,
    row: r.edited_row ? (JSON.parse(r.edited_row) as CanonicalRow) : generated,
    ...(r.edited_row ? { generated_row: generated } : {}),
    provenance: JSON.parse(r.provenance) as ReviewRow['provenance'],
    flags: JSON.parse(r.flags) as RowFlag[],
    reviewer: r.reviewer,
    decided_at: r.decided_at,
  };
}
