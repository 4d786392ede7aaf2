import { createHash } from 'node:crypto';
import type { CanonicalRow } from '../datasets/types.js';
import { FinetuneError } from '../errors.js';
import type { Workspace } from '../workspace/workspace.js';
import type { CandidateRow, GenerationKind, ReviewQueueRecord, ReviewRow, ReviewStatus, RowFlag } from './types.js';

/** Where a decision came from, as the governance log records it. */
type DecisionVia = 'tool' | 'import' | 'elicitation' | 'cli';

/** A batch of decisions on one queue: applied together or not at all. */
interface DecisionBatch {
  approve?: string[];
  reject?: string[];
  /** New rows for these ids, in the queue's task type; checked like prepare_dataset checks a row. */
  edits?: Array<{ id: string; row: unknown }>;
  reviewer: string;
  via: DecisionVia;
}

export interface DecisionOutcome {
  approved: number;
  rejected: number;
  edited: number;
  /** Ids asked for that already had that decision (and edits equal to the row): nothing recorded for them. */
  unchanged: string[];
  counts: Record<ReviewStatus, number>;
}

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
function rowSha256(row: CanonicalRow): string {
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

  /** Every queue, newest first, with its counts. */
  list(): ReviewQueueRecord[] {
    const ids = this.workspace.db.prepare('SELECT id FROM review_queues ORDER BY created_at DESC, id DESC').all() as Array<{ id: string }>;
    return ids.map(({ id }) => this.get(id));
  }

  /**
   * Records a batch of decisions in one transaction: every id is checked first (unknown ids, an id both
   * approved and rejected, rows already committed into a version), every edit is checked against the
   * row schema of the queue's task type, and only then is anything written; each change is appended to
   * review_decisions (edits with the row before and after).
   */
  async decide(queueId: string, batch: DecisionBatch): Promise<DecisionOutcome> {
    const queue = this.get(queueId);
    if (!batch.reviewer.trim()) throw new FinetuneError('INVALID_INPUT', 'reviewer is empty: every decision names who made it.', { details: { field: 'reviewer' } });
    this.checkIds(queueId, batch);
    const edits = batch.edits ?? [];
    // The dataset validator loads with the first decision, not with the store.
    const { checkRows, describeErrors } = await import('./row-check.js');
    const checked = await checkRows(queue.task_type, edits.map((e) => e.row));
    const bad = checked.findIndex((c) => c.errors.length > 0);
    if (bad >= 0) {
      throw new FinetuneError('INVALID_INPUT', `The edit of ${edits[bad].id} is not a valid ${queue.task_type} row: ${describeErrors(checked[bad].errors)}.`, {
        recovery: `Correct the row (the ${queue.task_type} layout: docs/CONVENTIONS.md "Canonical rows") and call again; nothing was recorded.`,
        details: { field: `edits[${bad}].row${checked[bad].errors[0].field ? `.${checked[bad].errors[0].field}` : ''}`, row_id: edits[bad].id },
      });
    }
    const db = this.workspace.db;
    const now = new Date().toISOString();
    const log = db.prepare('INSERT INTO review_decisions (queue_id, row_id, decision, reviewer, via, before, after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const outcome: DecisionOutcome = { approved: 0, rejected: 0, edited: 0, unchanged: [], counts: queue.counts };
    db.transaction(() => {
      // Checked again inside: another process may have committed or decided meanwhile.
      this.checkIds(queueId, batch);
      const read = db.prepare('SELECT * FROM review_rows WHERE id = ?');
      edits.forEach((edit, i) => {
        const current = readRow(read.get(edit.id) as StoredRow);
        const after = checked[i].row!;
        if (JSON.stringify(after) === JSON.stringify(current.row)) return void outcome.unchanged.push(edit.id);
        const generated = current.generated_row ?? current.row;
        // An edit back to the row as generated clears the edit.
        const stored = JSON.stringify(after) === JSON.stringify(generated) ? null : JSON.stringify(after);
        db.prepare('UPDATE review_rows SET edited_row = ?, reviewer = ?, decided_at = ? WHERE id = ?').run(stored, batch.reviewer, now, edit.id);
        log.run(queueId, edit.id, 'edit', batch.reviewer, batch.via, JSON.stringify(current.row), JSON.stringify(after), now);
        outcome.edited++;
      });
      for (const [ids, status, decision] of [[batch.approve ?? [], 'approved', 'approve'], [batch.reject ?? [], 'rejected', 'reject']] as const) {
        for (const id of new Set(ids)) {
          const changed = db.prepare('UPDATE review_rows SET status = ?, reviewer = ?, decided_at = ? WHERE id = ? AND status != ?').run(status, batch.reviewer, now, id, status).changes;
          if (!changed) {
            outcome.unchanged.push(id);
            continue;
          }
          log.run(queueId, id, decision, batch.reviewer, batch.via, null, null, now);
          outcome[status]++;
        }
      }
    })();
    outcome.counts = this.get(queueId).counts;
    return outcome;
  }

  /** Ids of rows of this queue that a version holds already (a commit decision names them). */
  committedIds(queueId: string): Set<string> {
    const rows = this.workspace.db.prepare("SELECT DISTINCT row_id FROM review_decisions WHERE queue_id = ? AND decision = 'commit'").all(queueId) as Array<{ row_id: string }>;
    return new Set(rows.map((r) => r.row_id));
  }

  /** Refuses unknown ids, an id both approved and rejected, an id edited twice, and changes to committed rows. */
  private checkIds(queueId: string, batch: DecisionBatch): void {
    const approve = batch.approve ?? [];
    const reject = batch.reject ?? [];
    const editIds = (batch.edits ?? []).map((e) => e.id);
    const all = [...new Set([...approve, ...reject, ...editIds])];
    if (!all.length) throw new FinetuneError('INVALID_INPUT', 'No decision given: approve, reject and edits are all empty.', { details: { field: 'approve' } });
    const known = new Set((this.workspace.db.prepare('SELECT id FROM review_rows WHERE queue_id = ?').all(queueId) as Array<{ id: string }>).map((r) => r.id));
    const unknown = all.filter((id) => !known.has(id));
    if (unknown.length) {
      const field = approve.includes(unknown[0]) ? 'approve' : reject.includes(unknown[0]) ? 'reject' : 'edits';
      throw new FinetuneError('INVALID_INPUT', `${unknown.length} id(s) are not rows of ${queueId}: ${listIds(unknown)}. Nothing was recorded.`, {
        recovery: `Call review_queue with queue_id "${queueId}" for its row ids (they look like ${queueId}:1).`,
        details: { field, unknown_ids: unknown.slice(0, 100) },
      });
    }
    const both = approve.filter((id) => reject.includes(id));
    if (both.length) throw new FinetuneError('INVALID_INPUT', `${listIds(both)} both approved and rejected. Nothing was recorded.`, { recovery: 'Name each id in approve or in reject, not both.', details: { field: 'reject', ids: both } });
    const twice = editIds.filter((id, i) => editIds.indexOf(id) !== i);
    if (twice.length) throw new FinetuneError('INVALID_INPUT', `${listIds(twice)} edited twice in one call. Nothing was recorded.`, { recovery: 'Give one edit per id.', details: { field: 'edits', ids: twice } });
    const committed = this.committedIds(queueId);
    const frozen = [...reject, ...editIds].filter((id) => committed.has(id));
    if (frozen.length) {
      throw new FinetuneError('IMMUTABLE_RECORD', `${listIds(frozen)} are in a dataset version already (commit_review), so their decision and text stay. Nothing was recorded.`, {
        recovery: 'Leave them out of this call; to drop them from training data, make a new version without them (clean_dataset, or prepare_dataset from an edited export).',
        details: { field: reject.some((id) => committed.has(id)) ? 'reject' : 'edits', ids: frozen },
      });
    }
  }

  /** Rows in generation order, optionally of one status. */
  rows(queueId: string, options: { status?: ReviewStatus; offset?: number; limit?: number } = {}): ReviewRow[] {
    const where = options.status ? 'AND status = ?' : '';
    const params: unknown[] = [queueId, ...(options.status ? [options.status] : []), options.limit ?? -1, options.offset ?? 0];
    const stored = this.workspace.db.prepare(`SELECT * FROM review_rows WHERE queue_id = ? ${where} ORDER BY position LIMIT ? OFFSET ?`).all(...params) as StoredRow[];
    return stored.map(readRow);
  }
}

function listIds(ids: string[]): string {
  return ids.length > 10 ? `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more` : ids.join(', ');
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
