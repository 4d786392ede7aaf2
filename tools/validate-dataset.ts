import { z } from 'zod';
import { DatasetIdSchema, FormatSchema, IssueSchema, ModelSpecSchema, SplitSchema, ValidationSummarySchema } from '../src/datasets/schemas.js';
import { FinetuneError } from '../src/errors.js';
import { defineTool } from '../src/server/tool.js';

export const validateDatasetTool = defineTool({
  name: 'validate_dataset',
  title: 'Validate a dataset',
  description:
    'Checks a dataset file (`path`, in its own layout) or a prepared version (`dataset_id`) and lists every problem, not just the first: ' +
    'invalid JSON or UTF-8, the seven checks of OpenAI\'s chat data-prep notebook, empty content, exact and near duplicates (naming the first line), ' +
    'chosen identical to rejected, rare or unknown labels and class imbalance, examples over the target\'s token limit (real tokenizer), special tokens ' +
    'and {{placeholders}} in content, too few examples. Each issue has line, severity, code, field, message and fix. The summary has counts by code, ' +
    'tokens per role and estimated billable tokens. Streams, so files of any size work. Next: fix the file and prepare_dataset, or clean_dataset.',
  input: {
    path: z.string().min(1).optional().describe('File or folder to check, e.g. "data/train.jsonl". Give this or dataset_id.'),
    dataset_id: DatasetIdSchema.optional(),
    split: SplitSchema.optional(),
    format: FormatSchema.optional(),
    model: ModelSpecSchema.optional(),
    method: z.enum(['sft', 'dpo']).optional().describe('Training method, for the minimum-size advice (SFT ≥ 50, DPO ≥ 20). Default from the task type.'),
    labels: z.array(z.string()).optional().describe('Allowed labels (classification); others are errors, e.g. ["anger", "joy"].'),
    epochs: z.number().int().min(1).max(100).optional().describe('Epochs for the billable-token estimate; default OpenAI\'s rule for the size.'),
    count_tokens: z.boolean().default(true).describe('Count tokens (default encoding when no model is given). false skips it for speed.'),
    scan_pii: z.boolean().default(false).describe('Also report personal data (e-mail, phone, card, IBAN, IP, configured patterns) as pii_detected warnings, by field, never the values.'),
  },
  output: {
    valid: z.boolean().describe('True when no issue is an error.'),
    issues: z.array(IssueSchema).describe('Every problem found (up to datasets.max_issues), in line order per check.'),
    summary: ValidationSummarySchema,
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services, signal, progress }) {
    if ((args.path === undefined) === (args.dataset_id === undefined)) {
      throw new FinetuneError('INVALID_INPUT', 'Give exactly one of path or dataset_id.', { details: { field: 'path' } });
    }
    const target = args.path !== undefined ? { path: services.workspace.resolveUserPath(args.path) } : { dataset_id: args.dataset_id!, split: args.split };
    const result = await services.datasets.validate(
      target,
      { format: args.format, model: args.model, method: args.method, labels: args.labels, epochs: args.epochs, count_tokens: args.count_tokens, scan_pii: args.scan_pii },
      { signal, progress: (done, total, message) => void progress(done, total, message) },
    );
    return { valid: result.summary.errors === 0, issues: result.issues, summary: result.summary };
  },
  summarize: (o) => {
    const codes = Object.entries(o.summary.by_code).map(([c, n]) => `${c} ${n}`).join(', ');
    const tokens = o.summary.tokens ? `; tokens/example mean ${o.summary.tokens.per_example.mean}, max ${o.summary.tokens.per_example.max} (${o.summary.tokens.tokenizer})` : '';
    return `${o.valid ? 'Valid' : 'Invalid'}: ${o.summary.records} records, ${o.summary.errors} errors, ${o.summary.warnings} warnings${codes ? ` (${codes})` : ''}${tokens}.`;
  },
});
