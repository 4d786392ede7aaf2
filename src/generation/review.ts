import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inheritedManifest, tokenStats, type DatasetService } from '../datasets/service.js';
import { exampleTokensAside } from '../datasets/row-text.js';
import { CountColumn } from '../datasets/stats.js';
import type { DatasetManifest, DatasetRecord, GeneratedReviewRecord } from '../datasets/types.js';
import { readLines } from '../datasets/line-reader.js';
import { JsonlWriter } from '../datasets/version-writer.js';
import { FinetuneError } from '../errors.js';
import { ReviewQueueStore } from './queue-store.js';
import { checkRows, describeErrors } from './row-check.js';
import type { ReviewRow } from './types.js';

interface CommitOptions {
  queue_id: string;
  name?: string;
  /** A version of the same task type whose rows come first in the new version. */
  parent_dataset_id?: string;
  via: 'tool' | 'cli';
}

interface CommitResult {
  record: DatasetRecord;
  /** Rows of this queue committed now. */
  committed: number;
  /** Rows taken from the parent version. */
  parent_rows: number;
  edited: number;
  /** Rows of the queue committed by earlier commits (not repeated here). */
  previously_committed: number;
  /** Rows of the queue still undecided, left out. */
  pending: number;
  governance: GeneratedReviewRecord;
}

/** One line of provenance.jsonl: where the version's row at `line` came from. */
interface ProvenanceLine {
  line: number;
  review_row_id: string;
  queue_id: string;
  reviewer: string | null;
  decided_at: string | null;
  edited: boolean;
  provenance: ReviewRow['provenance'];
}

/**
 * A dataset version of a queue's approved rows that no earlier commit took (after the parent's rows,
 * when a parent is named). Only approved rows are read, so rejected and pending text cannot reach the
 * version. The version folder holds rows.jsonl, provenance.jsonl (per line: review row, reviewer,
 * generation provenance) and a manifest whose lineage names the queue and whose governance carries
 * the review record. The version's record, the commit decisions and the queue's status are written in
 * one transaction; the folder is removed when that fails.
 */
export async function commitReview(datasets: DatasetService, options: CommitOptions): Promise<CommitResult> {
  const store = new ReviewQueueStore(datasets.workspace);
  const queue = store.get(options.queue_id);
  const committedBefore = store.committedIds(queue.id);
  const rows = store.rows(queue.id, { status: 'approved' }).filter((r) => !committedBefore.has(r.id));
  if (!rows.length) {
    const { pending, rejected } = queue.counts;
    throw new FinetuneError(
      'INVALID_INPUT',
      committedBefore.size
        ? `Queue ${queue.id} has no approved row that is not in a version yet (${committedBefore.size} committed before; ${pending} pending, ${rejected} rejected).`
        : `Queue ${queue.id} has no approved row (${pending} pending, ${rejected} rejected): nothing to commit.`,
      { recovery: `Approve rows first: review_queue to read them, review_examples (or export_review / import_review) to approve, then commit_review.`, details: { field: 'queue_id' } },
    );
  }
  const parent = options.parent_dataset_id ? parentVersion(datasets, options.parent_dataset_id, queue.task_type) : undefined;
  const checked = await checkRows(queue.task_type, rows.map((r) => r.row));
  const invalid = checked.flatMap((c, i) => (c.errors.length ? [`${rows[i].id}: ${describeErrors(c.errors)}`] : []));
  if (invalid.length) {
    throw new FinetuneError('DATASET_INVALID', `${invalid.length} approved row(s) are not valid ${queue.task_type} rows: ${invalid.slice(0, 5).join('; ')}${invalid.length > 5 ? '; …' : ''}.`, {
      recovery: 'Edit those rows (review_examples edits) or reject them, then call commit_review again.',
      details: { field: 'queue_id' },
    });
  }
  const counter = parent ? await datasets.recordedCounter(parent.manifest.token_stats.tokenizer) : await datasets.counter(undefined);
  const id = datasets.workspace.newId('dataset');
  const target = datasets.workspace.artifactPath('datasets', id);
  const now = new Date().toISOString();
  const reviewers = [...new Set(rows.map((r) => r.reviewer).filter((r): r is string => !!r))].sort();
  const edited = rows.filter((r) => r.generated_row).length;
  const governance: GeneratedReviewRecord = {
    kind: 'generated_review',
    dataset_id: id,
    queue_id: queue.id,
    approved: rows.length,
    rejected: queue.counts.rejected,
    reviewers,
    at: now,
  };
  let parentRows = 0;
  let manifest: DatasetManifest | undefined;
  await datasets.workspace.writeDir(target, async (dir) => {
    const writer = new JsonlWriter(dir, 'rows.jsonl');
    const tokens = new CountColumn(rows.length + (parent?.manifest.counts.rows ?? 0));
    try {
      if (parent) {
        for await (const { row } of datasets.rows(parent.id)) {
          writer.write(row);
          tokens.push((await exampleTokensAside(counter, queue.task_type, row)).total);
          parentRows++;
        }
      }
      for (const c of checked) {
        writer.write(c.row);
        tokens.push((await exampleTokensAside(counter, queue.task_type, c.row!)).total);
      }
    } catch (error) {
      writer.dispose();
      throw error;
    }
    const contentHash = writer.close();
    await writeProvenance(dir, parent, rows, parentRows);
    const inherited = parent ? inheritedManifest(datasets, parent, id) : undefined;
    const params = { queue_id: queue.id, kind: queue.kind, generator: queue.generator, approved: rows.length, edited, parent_dataset_id: parent?.id ?? null, reviewers };
    manifest = {
      dataset_id: id,
      parent_id: parent?.id ?? null,
      task_type: queue.task_type,
      ...(options.name ? { name: options.name } : inherited?.name ? { name: inherited.name } : queue.name ? { name: queue.name } : {}),
      source: inherited?.source ?? { path: `review_queue:${queue.id}`, format: 'canonical', sha256: contentHash },
      content_hash: contentHash,
      counts: { rows: writer.rows },
      token_stats: tokenStats(counter.name, tokens),
      created_at: now,
      lineage: [...(parent?.manifest.lineage ?? []), { operation: 'generate', dataset_id: id, parent_id: parent?.id ?? null, at: now, params }],
      report: {
        queue_id: queue.id,
        generated_rows: rows.length,
        parent_rows: parentRows,
        decisions: { approved: queue.counts.approved, rejected: queue.counts.rejected, pending: queue.counts.pending, edited_in_version: edited, committed_before: committedBefore.size },
        reviewers,
        provenance_file: 'provenance.jsonl',
      },
      governance: [...(inherited?.governance ?? []), governance],
    };
    datasets.workspace.writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  });
  const record = recordCommit(datasets, store, manifest!, rows, options.via, target);
  datasets.logger.info({ dataset_id: id, queue_id: queue.id, rows: rows.length, parent_rows: parentRows }, 'review queue committed');
  return { record, committed: rows.length, parent_rows: parentRows, edited, previously_committed: committedBefore.size, pending: queue.counts.pending, governance };
}

/** The parent a commit appends to: same task type, and not a split version (its rows would lose their split). */
function parentVersion(datasets: DatasetService, id: string, task: string): DatasetRecord {
  const parent = datasets.get(id);
  if (parent.task_type !== task) {
    throw new FinetuneError('INVALID_INPUT', `parent_dataset_id ${id} holds ${parent.task_type} rows; the queue's rows are ${task}.`, {
      recovery: `Name a ${task} version as parent (list_datasets with task_type "${task}"), or leave parent_dataset_id out.`,
      details: { field: 'parent_dataset_id' },
    });
  }
  if (parent.manifest.counts.train !== undefined) {
    throw new FinetuneError('INVALID_INPUT', `parent_dataset_id ${id} is a split version; append to the version it was split from (${parent.parent_id}) and split the result.`, {
      details: { field: 'parent_dataset_id' },
    });
  }
  return parent;
}

/** provenance.jsonl: the parent's own lines first (when it was a commit too), then one line per committed row. */
async function writeProvenance(dir: string, parent: DatasetRecord | undefined, rows: ReviewRow[], parentRows: number): Promise<void> {
  const writer = new JsonlWriter(dir, 'provenance.jsonl');
  try {
    const inherited = parent ? join(parent.dir, 'provenance.jsonl') : undefined;
    if (inherited && existsSync(inherited)) {
      for await (const raw of readLines(inherited, { maxLineBytes: 64 * 1024 * 1024 })) if (raw.bytes.length) writer.write(JSON.parse(raw.bytes.toString('utf8')));
    }
    rows.forEach((r, i) => {
      const line: ProvenanceLine = { line: parentRows + i + 1, review_row_id: r.id, queue_id: r.queue_id, reviewer: r.reviewer, decided_at: r.decided_at, edited: !!r.generated_row, provenance: r.provenance };
      writer.write(line);
    });
  } finally {
    writer.close();
  }
}

/**
 * The version's record, a commit decision per row (naming the version) and the queue's status in one
 * transaction, after checking again that every row is still approved and in no version: a decision
 * or commit made meanwhile by another process wins, and this version's folder goes.
 */
function recordCommit(datasets: DatasetService, store: ReviewQueueStore, manifest: DatasetManifest, rows: ReviewRow[], via: 'tool' | 'cli', dir: string): DatasetRecord {
  const db = datasets.workspace.db;
  try {
    return db.transaction(() => {
      const committed = store.committedIds(rows[0].queue_id);
      const status = db.prepare('SELECT status FROM review_rows WHERE id = ?');
      const changed = rows.filter((r) => committed.has(r.id) || (status.get(r.id) as { status: string }).status !== 'approved');
      if (changed.length) {
        throw new FinetuneError('STATE_CONFLICT', `${changed.length} row(s) changed while the version was written (${changed.slice(0, 5).map((r) => r.id).join(', ')}): decided again or committed by another call.`, {
          recovery: 'Call commit_review again; it reads the decisions as they are now.',
          retryable: true,
          details: { field: 'queue_id' },
        });
      }
      const record = datasets.insert(manifest, 'generate', dir);
      const log = db.prepare("INSERT INTO review_decisions (queue_id, row_id, decision, reviewer, via, dataset_id, created_at) VALUES (?, ?, 'commit', ?, ?, ?, ?)");
      for (const r of rows) log.run(r.queue_id, r.id, r.reviewer ?? 'unknown', via, manifest.dataset_id, manifest.created_at);
      db.prepare("UPDATE review_queues SET status = 'committed' WHERE id = ?").run(rows[0].queue_id);
      return record;
    })();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
