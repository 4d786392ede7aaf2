import { immutableTable, type Migration } from '../workspace/migrations.js';

/**
 * Evaluation records (owned by the evaluation runs: evaluate_model, compare_models, human eval).
 * Results are immutable; per-example rows and samples live in `<home>/evaluations/<id>/`.
 */
export const EVALUATION_RUN_MIGRATIONS: Migration[] = [
  {
    id: 'evaluation_0001_runs',
    sql: `
CREATE TABLE evaluations (
  id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  dataset TEXT NOT NULL,
  metrics TEXT NOT NULL,
  ci TEXT NOT NULL,
  gates TEXT NOT NULL,
  examples INTEGER NOT NULL,
  dir TEXT NOT NULL,
  created_at TEXT NOT NULL
);
${immutableTable('evaluations')}
CREATE TABLE comparisons (
  id TEXT PRIMARY KEY,
  models TEXT NOT NULL,
  dataset TEXT NOT NULL,
  result TEXT NOT NULL,
  dir TEXT NOT NULL,
  created_at TEXT NOT NULL
);
${immutableTable('comparisons')}
CREATE TABLE human_evals (
  id TEXT PRIMARY KEY,
  comparison_id TEXT,
  models TEXT NOT NULL,
  criteria TEXT NOT NULL,
  items INTEGER NOT NULL,
  file TEXT NOT NULL,
  created_at TEXT NOT NULL
);
${immutableTable('human_evals')}
CREATE TABLE human_eval_verdicts (
  human_eval_id TEXT NOT NULL REFERENCES human_evals (id),
  item_id TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  criterion TEXT NOT NULL,
  winner TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  recorded_at TEXT NOT NULL,
  PRIMARY KEY (human_eval_id, item_id, reviewer, criterion)
);
${immutableTable('human_eval_verdicts')}
`,
  },
  {
    // judge_outputs: a run and its rows are written together, in one transaction, once every row is
    // judged, so a run that exists is complete. Write-backs to the source (Phoenix span annotations)
    // happen after and are appended to their own table.
    id: 'evaluation_0002_judge_runs',
    sql: `
CREATE TABLE judge_runs (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  source_ref TEXT NOT NULL,
  rubric_name TEXT NOT NULL,
  rubric_text TEXT NOT NULL,
  rubric_sha256 TEXT NOT NULL,
  judge TEXT NOT NULL,
  rows_total INTEGER NOT NULL,
  scored INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  distribution TEXT NOT NULL,
  tokens TEXT NOT NULL,
  cost_usd REAL,
  cost_note TEXT,
  created_at TEXT NOT NULL
);
${immutableTable('judge_runs')}
CREATE TABLE judge_run_rows (
  run_id TEXT NOT NULL REFERENCES judge_runs (id),
  position INTEGER NOT NULL,
  ref TEXT NOT NULL,
  span_id TEXT,
  trace_id TEXT,
  score REAL CHECK (score IS NULL OR (score >= 0 AND score <= 1)),
  reason TEXT,
  error TEXT,
  attempts INTEGER NOT NULL,
  prompt_tokens INTEGER,
  completion_tokens INTEGER,
  row TEXT NOT NULL,
  PRIMARY KEY (run_id, position),
  CHECK ((score IS NULL) <> (error IS NULL))
);
${immutableTable('judge_run_rows')}
CREATE INDEX judge_run_rows_span ON judge_run_rows (span_id);
CREATE TABLE judge_run_writebacks (
  run_id TEXT NOT NULL REFERENCES judge_runs (id),
  target TEXT NOT NULL,
  written INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  failures TEXT NOT NULL,
  created_at TEXT NOT NULL
);
${immutableTable('judge_run_writebacks')}
`,
  },
];
