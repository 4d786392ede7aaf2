import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { ReviewQueueStore } from './queue-store.js';
import { commitReview } from './review.js';
import { provenanceCells, SHEET_LAYOUTS } from './sheet-layout.js';
import { REVIEW_STATUSES, type ReviewQueueRecord, type ReviewStatus } from './types.js';

export const REVIEW_HELP = `finetune-mcp review: read and decide generated rows (review queues, rq_…) from a terminal

  finetune-mcp review list                                   the queues and their counts
  finetune-mcp review show <rq> [--status S] [--offset N] [--limit N]
                                                             rows with flags and source (default: pending, 10)
  finetune-mcp review approve <rq> <ids…> --reviewer NAME    approve rows: full ids (rq_…:7), numbers (7) or ranges (1-25)
  finetune-mcp review reject <rq> <ids…> --reviewer NAME     reject rows
  finetune-mcp review commit <rq> [--name N] [--parent ds_…] a dataset version of the approved rows

Decisions are recorded in the queue's review log with the reviewer and "via cli".`;

const SHOWN = 300;

/** Options of the review command that take a value. */
const VALUE_FLAGS = new Set(['--reviewer', '--name', '--parent', '--status', '--offset', '--limit']);

/**
 * `finetune-mcp review …`: a person's way to the review queue without an MCP client. Runs the same
 * store and commit as the tools (decisions via 'cli') and prints readable text. `args` are the words
 * after `review`, global flags removed. Returns the exit code: 0 done, 1 refused, 2 usage.
 */
export async function runReviewCommand(services: Pick<Services, 'workspace' | 'datasets'>, args: readonly string[], out: (text: string) => void): Promise<number> {
  const flags = new Map<string, string>();
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (VALUE_FLAGS.has(args[i])) flags.set(args[i], args[++i] ?? '');
    else words.push(args[i]);
  }
  const [action, queueId, ...rest] = words;
  const store = new ReviewQueueStore(services.workspace);
  const usage = (problem: string) => {
    out(`${problem}\n\n${REVIEW_HELP}`);
    return 2;
  };
  switch (action) {
    case 'list': {
      const queues = store.list();
      out(queues.length ? queues.map(describeQueue).join('\n') : 'No review queues. generate_dataset makes one.');
      return 0;
    }
    case 'show': {
      if (!queueId) return usage('review show needs a queue id.');
      const status = (flags.get('--status') ?? 'pending') as ReviewStatus | 'all';
      if (status !== 'all' && !REVIEW_STATUSES.includes(status)) return usage(`--status is pending, approved, rejected or all, not '${status}'.`);
      const queue = store.get(queueId);
      const offset = Number(flags.get('--offset') ?? 0);
      const rows = store.rows(queue.id, { status: status === 'all' ? undefined : status, offset, limit: Number(flags.get('--limit') ?? 10) });
      const lines = [describeQueue(queue), ''];
      for (const r of rows) {
        const cells = SHEET_LAYOUTS[queue.task_type].flatten(r.row) ?? { row_json: JSON.stringify(r.row) };
        const source = provenanceCells(r);
        lines.push(`${r.id} [${r.status}${r.generated_row ? ', edited' : ''}]${r.flags.map((f) => ` ⚑ ${f.code}: ${f.message}`).join('')}`);
        for (const [k, v] of Object.entries(cells)) if (v) lines.push(`  ${k}: ${cut(v)}`);
        lines.push(`  source: ${source.source}, ${source.location}${source.heading_path ? ` (${source.heading_path})` : ''}; ${source.generator}`, '');
      }
      if (!rows.length) lines.push(`No ${status === 'all' ? '' : `${status} `}rows at offset ${offset}.`);
      out(lines.join('\n').trimEnd());
      return 0;
    }
    case 'approve':
    case 'reject': {
      if (!queueId || !rest.length) return usage(`review ${action} needs a queue id and row ids.`);
      const reviewer = flags.get('--reviewer');
      if (!reviewer?.trim()) return usage(`review ${action} needs --reviewer NAME: every decision names who made it.`);
      const ids = rest.flatMap((w) => expandIds(queueId, w));
      const o = await store.decide(queueId, { [action]: ids, reviewer, via: 'cli' });
      const done = action === 'approve' ? o.approved : o.rejected;
      out(
        `${action === 'approve' ? 'Approved' : 'Rejected'} ${done} row(s) of ${queueId}${o.unchanged.length ? ` (${o.unchanged.length} already so)` : ''}; ` +
          `now ${o.counts.pending} pending, ${o.counts.approved} approved, ${o.counts.rejected} rejected.${o.counts.approved ? ` Next: finetune-mcp review commit ${queueId}` : ''}`,
      );
      return 0;
    }
    case 'commit': {
      if (!queueId) return usage('review commit needs a queue id.');
      const r = await commitReview(services.datasets, { queue_id: queueId, name: flags.get('--name'), parent_dataset_id: flags.get('--parent'), via: 'cli' });
      out(
        `Committed ${r.committed} approved row(s) of ${queueId} into ${r.record.id}${r.parent_rows ? ` after ${r.parent_rows} rows of ${r.record.parent_id}` : ''} ` +
          `(${r.record.manifest.counts.rows} rows; ${r.governance.rejected} rejected and ${r.pending} pending left out). Train on it: configure_training --dataset_id ${r.record.id}`,
      );
      return 0;
    }
    default:
      return usage(action ? `Unknown review action '${action}'.` : 'review needs an action.');
  }
}

function describeQueue(q: ReviewQueueRecord): string {
  const total = q.counts.pending + q.counts.approved + q.counts.rejected;
  return `${q.id}${q.name ? ` "${q.name}"` : ''} ${q.kind} (${q.task_type}), ${q.status}: ${total} rows, ${q.counts.pending} pending, ${q.counts.approved} approved, ${q.counts.rejected} rejected; by ${q.generator.provider}:${q.generator.model}, ${q.created_at}`;
}

/** "7" → rq:7, "1-3" → rq:1, rq:2, rq:3; full ids as they are. */
function expandIds(queueId: string, word: string): string[] {
  const range = /^(\d+)-(\d+)$/.exec(word);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from || to - from > 100_000) throw new FinetuneError('INVALID_INPUT', `'${word}' is not a range of row numbers (low-high).`, { details: { field: 'ids' } });
    return Array.from({ length: to - from + 1 }, (_, i) => `${queueId}:${from + i}`);
  }
  return [/^\d+$/.test(word) ? `${queueId}:${word}` : word];
}

function cut(text: string): string {
  const one = text.replace(/\s*\n\s*/g, ' ⏎ ');
  return one.length > SHOWN ? `${one.slice(0, SHOWN)}… (${one.length} characters)` : one;
}
