/**
 * judge_outputs: scores outputs one by one with an LLM judge and a rubric, stores the run (`jrun_…`)
 * with every row's score or the reason it has none, and can write the scores back to the source
 * (Phoenix span annotations). A row whose judge never gave a valid verdict is a failure with its
 * reason; no score is ever made up for it.
 */
import { FinetuneError } from '../errors.js';
import type { SamplingRequest } from '../server/tool.js';
import type { Services } from '../services.js';
import { loadJudgeRows, type JudgeRow, type LoadedRows, type RowsRequest } from './judge-outputs-rows.js';
import { insertJudgeRun, insertWriteback, scoreDistribution, type JudgeRunRecord, type JudgeRunRow } from './judge-run-store.js';
import type { OutputScorer, OutputVerdict } from './judges/output-scorer.js';
import { resolveRubric, type Rubric } from './judges/rubrics.js';
import { selectOutputScorer, type SelectedOutputScorer } from './judges/select.js';

/** Where the rows come from (dataset_id, split, path, source, query, limit), and how to judge them. */
interface JudgeOutputsArgs extends Omit<RowsRequest, 'signal'> {
  rubric: string;
  rubric_name?: string;
  judge: string;
  write_back: boolean;
  /** Requests to the judge at once (client sampling: always 1). */
  concurrency: number;
  /** The improvement policy judging (its name labels the metrics); an ad-hoc call is "none", so labels stay few. */
  policy?: string;
}

interface JudgeOutputsContext {
  services: Services;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => void | Promise<void>;
  sample?: (request: SamplingRequest) => Promise<string>;
}

interface WriteBackOutcome {
  target: string;
  written: number;
  failed: Array<{ ref: string; reason: string }>;
}

interface JudgeOutputsResult {
  run: JudgeRunRecord;
  rows: JudgeRunRow[];
  truncated: boolean;
  source_skipped: Array<{ ref: string; reason: string }>;
  write_back: WriteBackOutcome | null;
}

export async function judgeOutputs(ctx: JudgeOutputsContext, args: JudgeOutputsArgs): Promise<JudgeOutputsResult> {
  const { services } = ctx;
  if (args.write_back && !args.source) {
    throw new FinetuneError('INVALID_INPUT', 'write_back needs a data source (source "phoenix"): scores go back onto the spans they came from.', {
      recovery: 'Leave write_back out for dataset_id and path, or judge {"source": "phoenix", "query": {...}}.',
      details: { field: 'write_back' },
    });
  }
  const rubric = resolveRubric(args.rubric, args.rubric_name);
  // The judge is picked before any row is read: a missing judge or credential fails at once.
  const selected = await selectOutputScorer(services, args.judge, ctx.sample);
  const loaded = await loadJudgeRows(services, { ...args, signal: ctx.signal });
  if (!loaded.rows.length) {
    const skipped = loaded.source_skipped[0];
    throw new FinetuneError('DATASET_INVALID', `${loaded.source_ref} holds no rows to judge${skipped ? ` (${loaded.source_skipped.length} skipped, e.g. ${skipped.ref}: ${skipped.reason})` : ''}.`, {
      recovery: 'Widen the query, or pass a dataset or file with rows whose last assistant message is the output to judge.',
      details: { field: args.dataset_id ? 'dataset_id' : args.path ? 'path' : 'query' },
    });
  }
  const concurrency = selected.scorer.model === null ? 1 : args.concurrency;
  const verdicts = await judgeAll(loaded.rows, selected.scorer, rubric, concurrency, ctx);
  const rows = loaded.rows.map((r, i) => runRow(r, verdicts[i]));
  const run = summarize(services, loaded, rows, rubric, selected);
  insertJudgeRun(services.workspace, run, rows);
  recordMetrics(services, run, rows, args.policy ?? 'none');
  const write_back = args.write_back ? await writeScoresBack(services, loaded, run, rows) : null;
  return { run, rows, truncated: loaded.truncated, source_skipped: loaded.source_skipped, write_back };
}

/** Judges every judgeable row, `concurrency` requests at a time; results keep the rows' order. */
async function judgeAll(rows: JudgeRow[], scorer: OutputScorer, rubric: Rubric, concurrency: number, ctx: JudgeOutputsContext): Promise<Array<OutputVerdict | null>> {
  const out: Array<OutputVerdict | null> = new Array(rows.length).fill(null);
  let next = 0;
  let done = 0;
  let stopped = false;
  const worker = async () => {
    try {
      while (!stopped && next < rows.length) {
        const row = rows[next++];
        ctx.signal?.throwIfAborted();
        if (row.item && !(rubric.needs_context && row.item.context === undefined)) out[row.position] = await scorer.score(row.item, rubric, ctx.signal);
        done++;
        await ctx.progress?.(done, rows.length, `judged ${done}/${rows.length} outputs`);
      }
    } catch (error) {
      // The other workers stop at their next row instead of sending requests for a run that already failed.
      stopped = true;
      throw error;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, rows.length)) }, worker));
  } catch (error) {
    if (ctx.signal?.aborted) throw new FinetuneError('CANCELLED', `judge_outputs was cancelled after ${done} of ${rows.length} rows; nothing was stored.`);
    throw error;
  }
  return out;
}

function runRow(row: JudgeRow, verdict: OutputVerdict | null): JudgeRunRow {
  const common = { position: row.position, ref: row.ref, span_id: row.span_id, trace_id: row.trace_id, row: row.row };
  if (!verdict) {
    const error = row.unjudgeable ?? 'no context to judge faithfulness against (no context field and no system message)';
    return { ...common, score: null, reason: null, error: `not judged: ${error}`, attempts: 0, prompt_tokens: null, completion_tokens: null };
  }
  const tokens = { prompt_tokens: verdict.usage?.prompt_tokens ?? null, completion_tokens: verdict.usage?.completion_tokens ?? null };
  if (verdict.ok) return { ...common, score: verdict.score, reason: verdict.reason, error: null, attempts: verdict.attempts, ...tokens };
  return { ...common, score: null, reason: null, error: verdict.error, attempts: verdict.attempts, ...tokens };
}

function summarize(services: Services, loaded: LoadedRows, rows: JudgeRunRow[], rubric: Rubric, selected: SelectedOutputScorer): JudgeRunRecord {
  const scores = rows.flatMap((r) => (r.score === null ? [] : [r.score]));
  const asked = rows.filter((r) => r.attempts > 0);
  // Tokens are known only when every request reported them (providers without usage, client sampling: null).
  const known = selected.scorer.model !== null && asked.every((r) => r.prompt_tokens !== null);
  const tokens = known ? { prompt: sum(asked.map((r) => r.prompt_tokens!)), completion: sum(asked.map((r) => r.completion_tokens!)) } : null;
  let cost_usd: number | null = null;
  let cost_note: string | null = null;
  if ('missing' in selected.price) cost_note = selected.price.missing;
  else if (!tokens) cost_note = 'the judge did not report token usage';
  else cost_usd = (tokens.prompt * selected.price.usd_per_1m_input + tokens.completion * selected.price.usd_per_1m_output) / 1e6;
  return {
    id: services.workspace.newId('judge_run'),
    source: loaded.source,
    source_ref: loaded.source_ref,
    rubric: { name: rubric.name, text: rubric.text, sha256: rubric.sha256 },
    judge: selected.scorer.used,
    rows: rows.length,
    scored: scores.length,
    failed: rows.length - scores.length,
    distribution: scoreDistribution(scores),
    tokens,
    cost_usd,
    cost_note,
    created_at: new Date().toISOString(),
  };
}

function recordMetrics(services: Services, run: JudgeRunRecord, rows: JudgeRunRow[], policy: string): void {
  const m = services.metrics;
  const labels = { rubric: run.rubric.name, source: run.source, policy };
  for (const r of rows) if (r.score !== null) m.judge_scores.observe(labels, r.score);
  if (run.scored) m.judged_outputs.inc({ ...labels, outcome: 'scored' }, run.scored);
  if (run.failed) m.judged_outputs.inc({ ...labels, outcome: 'failed' }, run.failed);
  if (run.tokens) {
    m.judge_tokens.inc({ judge: run.judge, kind: 'prompt' }, run.tokens.prompt);
    m.judge_tokens.inc({ judge: run.judge, kind: 'completion' }, run.tokens.completion);
  }
  if (run.cost_usd !== null) m.judge_cost_usd.inc({ judge: run.judge }, run.cost_usd);
}

/**
 * Scored rows go back to the source as LLM annotations named after the rubric; a failure is reported, the
 * run stays stored. Also an improvement cycle's, whose rows came from the source through a batch file.
 */
export async function writeScoresBack(services: Services, loaded: Pick<LoadedRows, 'source' | 'source_ref' | 'data_source'>, run: JudgeRunRecord, rows: JudgeRunRow[]): Promise<WriteBackOutcome> {
  const target = loaded.source_ref;
  const scored = rows.filter((r) => r.score !== null);
  const failed = scored.filter((r) => !r.span_id).map((r) => ({ ref: r.ref, reason: 'the source gave no span id for this row' }));
  const feedback = scored
    .filter((r) => r.span_id)
    .map((r) => ({
      ref: r.span_id!,
      name: run.rubric.name,
      annotator_kind: 'LLM' as const,
      score: r.score!,
      explanation: r.reason ?? undefined,
      // One annotation per span and rubric from this server: judging again updates it rather than piling up.
      identifier: 'finetune-mcp',
      metadata: { judge_run_id: run.id, judge: run.judge, rubric_sha256: run.rubric.sha256 },
    }));
  let outcome: WriteBackOutcome;
  if (!loaded.data_source?.annotate) {
    outcome = { target, written: 0, failed: [...failed, ...feedback.map((f) => ({ ref: f.ref, reason: `the ${loaded.source} plugin cannot write annotations back` }))] };
  } else {
    try {
      const result = await loaded.data_source.annotate(feedback);
      outcome = { target, written: result.written, failed: [...failed, ...result.failed] };
    } catch (error) {
      outcome = { target, written: 0, failed: [...failed, ...feedback.map((f) => ({ ref: f.ref, reason: (error as Error).message }))] };
    }
  }
  insertWriteback(services.workspace, run.id, target, outcome);
  if (outcome.failed.length) services.logger.warn({ run_id: run.id, failed: outcome.failed.length, first: outcome.failed[0] }, 'judge_outputs: some scores were not written back to the source');
  return outcome;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
