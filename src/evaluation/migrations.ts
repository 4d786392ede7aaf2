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
];
