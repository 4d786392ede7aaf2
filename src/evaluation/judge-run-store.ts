import type { Workspace } from '../workspace/workspace.js';

interface ScoreDistribution {
  /** Null when no row was scored. */
  mean: number | null;
  p10: number | null;
  p50: number | null;
  p90: number | null;
  /** Ten buckets of width 0.1; a bucket holds from ≤ score < to, the last one 0.9 ≤ score ≤ 1. */
  histogram: Array<{ from: number; to: number; count: number }>;
}

export interface JudgeRunRecord {
  id: string;
  source: string;
  source_ref: string;
  rubric: { name: string; text: string; sha256: string };
  judge: string;
  rows: number;
  scored: number;
  failed: number;
  distribution: ScoreDistribution;
  tokens: { prompt: number; completion: number } | null;
  cost_usd: number | null;
  cost_note: string | null;
  created_at: string;
}

export interface JudgeRunRow {
  position: number;
  ref: string;
  span_id: string | null;
  trace_id: string | null;
  score: number | null;
  reason: string | null;
  error: string | null;
  attempts: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  row: unknown;
}

/** The run and every row in one transaction: a run that exists is complete (a crash before the commit leaves none). */
export function insertJudgeRun(workspace: Workspace, run: JudgeRunRecord, rows: JudgeRunRow[]): void {
  const db = workspace.db;
  const insertRun = db.prepare(
    `INSERT INTO judge_runs (id, source, source_ref, rubric_name, rubric_text, rubric_sha256, judge, rows_total, scored, failed, distribution, tokens, cost_usd, cost_note, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertRow = db.prepare(
    `INSERT INTO judge_run_rows (run_id, position, ref, span_id, trace_id, score, reason, error, attempts, prompt_tokens, completion_tokens, row)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    insertRun.run(
      run.id, run.source, run.source_ref, run.rubric.name, run.rubric.text, run.rubric.sha256, run.judge, run.rows, run.scored, run.failed,
      JSON.stringify(run.distribution), JSON.stringify(run.tokens), run.cost_usd, run.cost_note, run.created_at,
    );
    for (const r of rows) {
      insertRow.run(run.id, r.position, r.ref, r.span_id, r.trace_id, r.score, r.reason, r.error, r.attempts, r.prompt_tokens, r.completion_tokens, JSON.stringify(r.row));
    }
  })();
}

export function insertWriteback(workspace: Workspace, runId: string, target: string, outcome: { written: number; failed: Array<{ ref: string; reason: string }> }): void {
  workspace.db
    .prepare('INSERT INTO judge_run_writebacks (run_id, target, written, failed, failures, created_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(runId, target, outcome.written, outcome.failed.length, JSON.stringify(outcome.failed), new Date().toISOString());
}

interface RunRow {
  id: string;
  source: string;
  source_ref: string;
  rubric_name: string;
  rubric_text: string;
  rubric_sha256: string;
  judge: string;
  rows_total: number;
  scored: number;
  failed: number;
  distribution: string;
  tokens: string;
  cost_usd: number | null;
  cost_note: string | null;
  created_at: string;
}

/** A stored run and its rows in position order (improvement policies read the scored rows from here); undefined when there is none. */
export function getJudgeRun(workspace: Workspace, id: string): { run: JudgeRunRecord; rows: JudgeRunRow[] } | undefined {
  const r = workspace.db.prepare('SELECT * FROM judge_runs WHERE id = ?').get(id) as RunRow | undefined;
  if (!r) return undefined;
  const rows = (workspace.db.prepare('SELECT * FROM judge_run_rows WHERE run_id = ? ORDER BY position').all(id) as Array<Omit<JudgeRunRow, 'row'> & { row: string }>).map(
    ({ row, ...rest }) => ({ ...rest, row: JSON.parse(row) as unknown }),
  );
  return {
    run: {
      id: r.id,
      source: r.source,
      source_ref: r.source_ref,
      rubric: { name: r.rubric_name, text: r.rubric_text, sha256: r.rubric_sha256 },
      judge: r.judge,
      rows: r.rows_total,
      scored: r.scored,
      failed: r.failed,
      distribution: JSON.parse(r.distribution) as ScoreDistribution,
      tokens: JSON.parse(r.tokens) as JudgeRunRecord['tokens'],
      cost_usd: r.cost_usd,
      cost_note: r.cost_note,
      created_at: r.created_at,
    },
    rows,
  };
}

/** Mean, percentiles by linear interpolation between closest ranks (numpy.percentile's default), and ten 0.1 buckets. */
export function scoreDistribution(scores: number[]): ScoreDistribution {
  const histogram = Array.from({ length: 10 }, (_, i) => ({ from: i / 10, to: (i + 1) / 10, count: 0 }));
  for (const s of scores) histogram[Math.min(9, Math.floor(s * 10 + 1e-9))].count++;
  if (!scores.length) return { mean: null, p10: null, p50: null, p90: null, histogram };
  const sorted = [...scores].sort((a, b) => a - b);
  const at = (q: number) => {
    const pos = (sorted.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  };
  return { mean: scores.reduce((a, b) => a + b, 0) / scores.length, p10: at(0.1), p50: at(0.5), p90: at(0.9), histogram };
}
