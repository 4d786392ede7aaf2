import { z } from 'zod';
import { QueueIdSchema, ReviewStatusSchema } from '../src/generation/schemas.js';
import { defineTool } from '../src/server/tool.js';
import { checkExportTarget } from '../src/workspace/export-target.js';

const SheetFormatSchema = z.enum(['csv', 'jsonl']).describe('csv (for a spreadsheet) or jsonl.');

export const exportReviewTool = defineTool({
  name: 'export_review',
  title: 'Export a review queue for a spreadsheet',
  description:
    'Writes the rows of a review queue (pending by default) to a file for people to review outside the chat. CSV: one row a line with id, a blank decision column ' +
    '(fill with approve or reject), status, flags, the row as readable text columns (question/answer for chat; prompt/chosen/rejected; anchor/positive/negative; …; ' +
    'edit them in place to change a row), row_json for rows the columns cannot hold, and provenance columns (source, location, heading_path, generator, prompt_template). ' +
    'JSONL: {id, decision, status, flags, row, provenance} a line. Text that a spreadsheet would run as a formula is written behind a \' (import_review takes it off). ' +
    'The file appears whole or not at all. Next: import_review with the filled file.',
  input: {
    queue_id: QueueIdSchema,
    path: z.string().min(1).describe('File to write, under the allowed roots, e.g. "review/rq_batch1.csv".'),
    format: SheetFormatSchema,
    status: z.union([ReviewStatusSchema, z.literal('all')]).default('pending').describe('Rows of this status, or "all". Default "pending".'),
    overwrite: z.boolean().default(false).describe('Replace an existing file. Default false.'),
  },
  output: {
    path: z.string().describe('Absolute path written, e.g. "/home/me/review/rq_batch1.csv".'),
    format: SheetFormatSchema,
    rows: z.number().describe('Rows written, e.g. 40.'),
    columns: z.array(z.string()).describe('Columns (CSV) or keys (JSONL), e.g. ["id", "decision", "status", "flags", "system", "question", "answer", …].'),
    bytes: z.number().describe('File size in bytes.'),
    sha256: z.string().describe('sha256 of the file.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const path = services.workspace.resolveUserPath(args.path);
    checkExportTarget(args.path, path, args.overwrite, `${args.queue_id}.${args.format}`);
    const { exportReview } = await import('../src/generation/review-sheet.js');
    return exportReview(services.workspace, { queue_id: args.queue_id, path, format: args.format, status: args.status });
  },
  summarize: (o) => `Wrote ${o.rows} row(s) for review as ${o.format} to ${o.path}. Fill the decision column with approve or reject, then call import_review.`,
});
