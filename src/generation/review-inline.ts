import { FinetuneError } from '../errors.js';
import type { ElicitationAnswer, ElicitationRequest } from '../server/tool.js';
import type { Workspace } from '../workspace/workspace.js';
import { ReviewQueueStore, type DecisionOutcome } from './queue-store.js';
import { SHEET_LAYOUTS } from './sheet-layout.js';
import type { ReviewRow } from './types.js';

/** A form holds a few rows: enough to read each one, few enough to answer at once. */
const INLINE_BATCH = 5;
const SHOWN_CHARS = 1200;

interface InlineReview {
  /** Rows put to the user. */
  asked: string[];
  /** accept, decline or cancel; 'none' when no row was pending. */
  user_action: ElicitationAnswer['action'] | 'none';
  /** Rows the user left for later. */
  skipped: string[];
  outcome?: DecisionOutcome;
}

/**
 * Puts up to five pending rows to the user through MCP elicitation (a choice per row: approve, reject
 * or decide later) and records the answers as decisions via 'elicitation'. The queue stays the source
 * of truth: a declined or cancelled form records nothing.
 */
export async function reviewInline(workspace: Workspace, elicit: ((request: ElicitationRequest) => Promise<ElicitationAnswer>) | undefined, options: { queue_id: string; reviewer: string }): Promise<InlineReview> {
  if (!elicit) {
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', 'This client cannot show a form (it does not declare MCP elicitation), so rows cannot be approved inline.', {
      recovery: 'Pass approve / reject ids to review_examples (review_queue lists the rows), or review in a spreadsheet with export_review and import_review.',
      details: { field: 'interactive' },
    });
  }
  const store = new ReviewQueueStore(workspace);
  const queue = store.get(options.queue_id);
  const rows = store.rows(queue.id, { status: 'pending', limit: INLINE_BATCH });
  if (!rows.length) return { asked: [], user_action: 'none', skipped: [] };
  const field = (r: ReviewRow) => `row_${r.position}`;
  const answer = await elicit({
    message: `Review ${rows.length} generated ${queue.task_type} row(s) of ${queue.id} (${queue.counts.pending} pending). Approve only rows that are correct and supported by their source; approved rows can enter training data.`,
    fields: Object.fromEntries(
      rows.map((r) => [field(r), { title: `${r.id}${r.flags.length ? ` (flagged: ${r.flags.map((f) => f.code).join(', ')})` : ''}`, description: readable(queue.task_type, r), options: ['approve', 'reject', 'skip'], labels: ['Approve', 'Reject', 'Decide later'] }]),
    ),
  });
  const asked = rows.map((r) => r.id);
  if (answer.action !== 'accept') return { asked, user_action: answer.action, skipped: asked };
  const choice = (r: ReviewRow) => answer.values[field(r)];
  const approve = rows.filter((r) => choice(r) === 'approve').map((r) => r.id);
  const reject = rows.filter((r) => choice(r) === 'reject').map((r) => r.id);
  const skipped = asked.filter((id) => !approve.includes(id) && !reject.includes(id));
  if (!approve.length && !reject.length) return { asked, user_action: 'accept', skipped };
  const outcome = await store.decide(queue.id, { approve, reject, reviewer: options.reviewer, via: 'elicitation' });
  return { asked, user_action: 'accept', skipped, outcome };
}

/** The row as "question: …\nanswer: …" text, cut to what a form can show, with its flags. */
function readable(task: keyof typeof SHEET_LAYOUTS, r: ReviewRow): string {
  const cells = SHEET_LAYOUTS[task].flatten(r.row);
  const text = cells ? Object.entries(cells).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join('\n') : JSON.stringify(r.row);
  const flags = r.flags.map((f) => `⚑ ${f.code}: ${f.message}`).join('\n');
  const cut = text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}… (${text.length} characters; review_queue shows all)` : text;
  return flags ? `${cut}\n${flags}` : cut;
}
