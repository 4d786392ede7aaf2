import { z } from 'zod';
import { DatasetIdSchema, ModelSpecSchema, TaskTypeSchema } from '../src/datasets/schemas.js';
import { GENERATION_KINDS } from '../src/generation/types.js';
import { defineTool } from '../src/server/tool.js';

const MAX_FAILURES_SHOWN = 20;

export const generateDatasetTool = defineTool({
  name: 'generate_dataset',
  title: 'Generate candidate rows for review',
  description:
    'A model writes candidate rows into a review queue (rq_…); no dataset version is made until a person approves rows. ' +
    'From documents (Markdown, text, HTML, PDF; files or folders): "qa", "instructions" (step-by-step), "triplets" (query, passage, negative). ' +
    'From a seed dataset: "paraphrase" (request reworded, answer kept), "preference_negatives" (seed answer vs a worse one). ' +
    'Rows keep their source span or seed line, and quality flags. Generator: config `generator` or the generator argument. ' +
    'Next: review_queue, review_examples, commit_review.',
  input: {
    source: z
      .union([
        z.object({
          documents: z.array(z.string().min(1)).min(1).max(100).describe('Files or folders, e.g. ["docs/handbook"].'),
          chunk_tokens: z.number().int().min(32).max(8192).optional().describe('Most tokens a chunk, by `model`\'s tokenizer; default 512.'),
        }),
        z.object({ seed_dataset_id: DatasetIdSchema }),
      ])
      .describe('{"documents": [...]} or {"seed_dataset_id": "ds_…"}.'),
    kind: z.enum(GENERATION_KINDS).describe('qa, instructions, triplets (documents); paraphrase, preference_negatives (seed).'),
    count: z.number().int().min(1).max(10_000).describe('Rows to generate, spread over chunks or seed rows, e.g. 40.'),
    generator: z.string().min(1).optional().describe('Overrides generator.model: a name at generator.base_url, "<plugin>:<model>", or "local:mdl_…".'),
    model: ModelSpecSchema.optional(),
    language: z.string().min(1).max(100).optional().describe('Language of the rows, e.g. "German".'),
    guidance: z.string().min(1).max(2000).optional().describe('Added to the prompt: style, audience, difficulty.'),
    eval_dataset_id: DatasetIdSchema.optional().describe('Evaluation set to flag leakage against, e.g. "ds_01jd…".'),
    name: z.string().min(1).max(200).optional().describe('Queue name, e.g. "handbook-qa".'),
    seed: z.number().int().min(0).optional().describe('Seed of requests and triplet negatives; default 0.'),
  },
  output: {
    queue_id: z.string().describe('e.g. "rq_01jq…".'),
    kind: z.enum(GENERATION_KINDS).describe('e.g. "qa".'),
    task_type: TaskTypeSchema,
    rows: z.number().int().describe('Rows pending review, e.g. 40.'),
    flagged: z.record(z.string(), z.number().int()).describe('Rows per flag code, e.g. {"near_duplicate": 3}; flags drop nothing.'),
    failed: z.number().int().describe('Rows asked for but not generated, e.g. 0.'),
    failures: z
      .array(
        z.object({
          ref: z.string().describe('Chunk ("<file> chunk 2 [120, 980)") or seed row ("ds_…:12").'),
          reason: z.string().describe('e.g. "the answer is not JSON (at byte 12)".'),
          missing: z.number().int().describe('Rows not generated, e.g. 5.'),
          attempts: z.number().int().describe('e.g. 3.'),
        }),
      )
      .describe(`First ${MAX_FAILURES_SHOWN} requests that fell short; the queue report has all.`),
    skipped_documents: z
      .array(z.object({ file: z.string().describe('e.g. "kb/logo.png".'), reason: z.string().describe('e.g. "hidden".') }))
      .describe(`First ${MAX_FAILURES_SHOWN} folder entries not read, with why.`),
    tokens: z.object({ prompt: z.number().int().describe('e.g. 52000.'), completion: z.number().int().describe('e.g. 9800.') }).describe('Generator tokens.'),
    cost_usd: z.number().nullable().describe('Cost where the provider reports it, else null.'),
    generator: z.object({ provider: z.string().describe('e.g. "openai-compatible".'), model: z.string().describe('e.g. "gpt-4o-mini".') }).describe('Who wrote the rows.'),
    next: z.string().describe('What to call next.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, { services, signal, progress }) {
    const { generateDataset } = await import('../src/generation/generate.js');
    const result = await generateDataset(services, args, { signal, progress: (done, total, message) => void progress(done, total, message) });
    const { queue, totals } = result;
    return {
      queue_id: queue.id,
      kind: queue.kind,
      task_type: queue.task_type,
      rows: queue.counts.pending,
      flagged: result.flagged,
      failed: result.failures.reduce((sum, f) => sum + f.missing, 0),
      failures: result.failures.slice(0, MAX_FAILURES_SHOWN),
      skipped_documents: result.skipped.slice(0, MAX_FAILURES_SHOWN),
      tokens: { prompt: totals.prompt_tokens, completion: totals.completion_tokens },
      cost_usd: totals.cost_usd,
      generator: queue.generator,
      next: `review_queue {queue_id: "${queue.id}"} to read the rows and their flags, then review_examples to approve or reject them, then commit_review to make a dataset version of the approved rows.`,
    };
  },
  summarize: (o) =>
    `Queue ${o.queue_id}: ${o.rows} ${o.kind} rows pending review (${o.failed} failed` +
    `${Object.keys(o.flagged).length ? `; flagged ${Object.entries(o.flagged).map(([code, n]) => `${code} ${n}`).join(', ')}` : ''}). No dataset yet: review first.`,
});
