import { z } from 'zod';
import { NAMED_RUBRICS } from '../src/evaluation/judges/rubrics.js';
import { defineTool } from '../src/server/tool.js';

const RESULTS_SHOWN = 50;
const LIST_SHOWN = 100;

const FailureSchema = z.object({ ref: z.string().describe('The row: "line 3" or a span id, e.g. "5f0c9a1e2b3d4c6a".'), reason: z.string().describe('Why, e.g. "score 1.7 is outside [0, 1]".') });

export const judgeOutputsTool = defineTool({
  name: 'judge_outputs',
  title: 'Score outputs with an LLM judge',
  description:
    'Scores single outputs (no reference, no second model) with an LLM judge and a rubric. Rows: a chat dataset (last assistant ' +
    'message judged), a JSONL of {input, output, context?}, or Phoenix spans (source "phoenix"). Verdicts are {reason, score 0–1}; ' +
    'invalid ones are retried, then reported per row, never guessed. Stores run_id "jrun_…" with scores, distribution, tokens, cost; ' +
    'write_back annotates the Phoenix spans. Next: extract_dataset with min_score.',
  input: {
    dataset_id: z.string().optional().describe('Chat dataset version, e.g. "ds_01j…".'),
    split: z.enum(['train', 'validation', 'test']).optional().describe('One split of it, e.g. "test".'),
    path: z.string().optional().describe('Or a JSONL of {"input": text or messages, "output", "context"?} or {"messages"} rows, e.g. "./outs.jsonl".'),
    source: z.string().optional().describe('Or a data source, e.g. "phoenix".'),
    query: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Its query as extract_dataset takes it, e.g. {"project": "support-bot", "start_time": "2026-12-01T00:00:00Z"}.'),
    rubric: z
      .string()
      .min(1)
      .describe(`${NAMED_RUBRICS.join(', ')} (against the row's context or system message), or your own text saying what 1 and 0 mean. E.g. "helpfulness".`),
    rubric_name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional().describe('Name of your own rubric (annotation name); default "custom".'),
    judge: z
      .string()
      .default('auto')
      .describe('"auto" (configured judge, else sampling), "endpoint", "sampling" or a model reference, e.g. "together:<model>"; a local "local:mdl_…" scores by its P(yes) to "does the answer meet the rubric?".'),
    limit: z.number().int().min(1).max(100_000).default(1000).describe('Most rows to judge, e.g. 200.'),
    write_back: z.boolean().default(false).describe('Phoenix only: scores back as LLM span annotations named after the rubric.'),
    concurrency: z.number().int().min(1).max(16).default(4).describe('Judge requests at once, e.g. 4.'),
  },
  output: {
    run_id: z.string().describe('The stored judge run, e.g. "jrun_01j…".'),
    source: z.string().describe('"dataset", "file" or the data source, e.g. "phoenix".'),
    source_ref: z.string().describe('Which dataset, file or project, e.g. "phoenix:support-bot".'),
    rubric: z.string().describe('Rubric name, e.g. "helpfulness".'),
    rubric_sha256: z.string().describe('SHA-256 of the rubric text, e.g. "9f2c…".'),
    judge: z.string().describe('Which judge, e.g. "endpoint gpt-4o-mini at http://127.0.0.1:8000/v1".'),
    rows: z.number().int().describe('Rows in the run, e.g. 200.'),
    scored: z.number().int().describe('Rows with a score, e.g. 197.'),
    failed: z.number().int().describe('Rows without one (see failures), e.g. 3.'),
    truncated: z.boolean().describe('True when the source had more rows than limit.'),
    distribution: z
      .object({
        mean: z.number().nullable().describe('Mean score, e.g. 0.74; null when nothing was scored.'),
        p10: z.number().nullable().describe('10th percentile (linear interpolation), e.g. 0.4.'),
        p50: z.number().nullable().describe('Median, e.g. 0.8.'),
        p90: z.number().nullable().describe('90th percentile, e.g. 1.'),
        histogram: z.array(z.number().int()).describe('Counts in ten buckets [0, 0.1), [0.1, 0.2) … [0.9, 1], e.g. [0, 0, 1, 0, 2, 3, 5, 9, 41, 36].'),
      })
      .describe('How the scores spread.'),
    tokens: z.object({ prompt: z.number().int().describe('e.g. 81234.'), completion: z.number().int().describe('e.g. 9120.') }).nullable().describe('Judge tokens; null when the judge does not report them (client sampling).'),
    cost_usd: z.number().nullable().describe('Judge cost, e.g. 0.0177; null when the price is unknown (see cost_note).'),
    cost_note: z.string().nullable().describe('Why there is no cost, e.g. "judge.usd_per_1m_input_tokens and … are not both set".'),
    results: z
      .array(
        z.object({
          position: z.number().int().describe('0-based row, e.g. 0.'),
          ref: z.string().describe('e.g. "line 1" or a span id.'),
          span_id: z.string().nullable().describe('Source span id, e.g. "5f0c9a1e2b3d4c6a"; null for files and datasets without one.'),
          score: z.number().nullable().describe('0–1, e.g. 0.9; null on failure.'),
          reason: z.string().nullable().describe('The judge\'s reason, e.g. "Answers fully and correctly."'),
          error: z.string().nullable().describe('Why there is no score, e.g. "no valid verdict after 3 attempts: answer is not JSON: …".'),
        }),
      )
      .describe(`The first ${RESULTS_SHOWN} rows; all are stored with the run.`),
    failures: z.array(FailureSchema).describe(`The first ${LIST_SHOWN} rows without a score, with the reason.`),
    source_skipped_count: z.number().int().describe('Source records that were not outputs (spans without messages…), e.g. 2.'),
    source_skipped_example: FailureSchema.nullable().describe('The first of them, with the reason.'),
    write_back: z
      .object({
        target: z.string().describe('e.g. "phoenix:support-bot".'),
        written: z.number().int().describe('Annotations written, e.g. 197.'),
        failed_count: z.number().int().describe('Annotations not written, e.g. 0.'),
        failed: z.array(FailureSchema).describe(`The first ${LIST_SHOWN}, with Phoenix's reason.`),
      })
      .nullable()
      .describe('Write-back outcome; null when not asked. A failed write-back leaves the run stored.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, ctx) {
    const { judgeOutputs } = await import('../src/evaluation/judge-outputs.js');
    const out = await judgeOutputs({ services: ctx.services, signal: ctx.signal, sample: ctx.sample, progress: (done, total, message) => ctx.progress(done, total, message) }, args);
    const { run } = out;
    return {
      run_id: run.id,
      source: run.source,
      source_ref: run.source_ref,
      rubric: run.rubric.name,
      rubric_sha256: run.rubric.sha256,
      judge: run.judge,
      rows: run.rows,
      scored: run.scored,
      failed: run.failed,
      truncated: out.truncated,
      distribution: { ...run.distribution, histogram: run.distribution.histogram.map((b) => b.count) },
      tokens: run.tokens,
      cost_usd: run.cost_usd,
      cost_note: run.cost_note,
      results: out.rows.slice(0, RESULTS_SHOWN).map((r) => ({ position: r.position, ref: r.ref, span_id: r.span_id, score: r.score, reason: r.reason, error: r.error })),
      failures: out.rows.filter((r) => r.error !== null).slice(0, LIST_SHOWN).map((r) => ({ ref: r.ref, reason: r.error! })),
      source_skipped_count: out.source_skipped.length,
      source_skipped_example: out.source_skipped[0] ?? null,
      write_back: out.write_back ? { target: out.write_back.target, written: out.write_back.written, failed_count: out.write_back.failed.length, failed: out.write_back.failed.slice(0, LIST_SHOWN) } : null,
    };
  },
  summarize: (o) =>
    `${o.run_id}: ${o.scored}/${o.rows} outputs scored on ${o.rubric} by ${o.judge}` +
    (o.distribution.mean !== null ? `, mean ${o.distribution.mean.toFixed(3)}, median ${o.distribution.p50!.toFixed(3)}` : '') +
    (o.failed ? `; ${o.failed} failed` : '') +
    (o.write_back ? `; wrote ${o.write_back.written} annotations back${o.write_back.failed_count ? ` (${o.write_back.failed_count} failed)` : ''}` : ''),
});
