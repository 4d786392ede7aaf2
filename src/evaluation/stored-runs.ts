import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Workspace } from '../workspace/workspace.js';

const SAMPLE_BYTES = 64 * 1024;

/** The first `count` JSON lines of a file, reading at most 64 KB (per-example files can be large). */
function firstJsonLines(path: string, count: number): Array<Record<string, unknown>> {
  if (!existsSync(path)) return [];
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(SAMPLE_BYTES);
    const read = readSync(fd, buffer, 0, SAMPLE_BYTES, 0);
    const lines = buffer.subarray(0, read).toString('utf8').split('\n');
    if (read === SAMPLE_BYTES) lines.pop(); // cut mid-line
    return lines.filter((l) => l.trim()).slice(0, count).map((l) => JSON.parse(l) as Record<string, unknown>);
  } finally {
    closeSync(fd);
  }
}

/**
 * The latest stored evaluations (evaluate_model) and comparisons (compare_models), newest first,
 * each with its first few per-case samples, for the dashboard's side-by-side view.
 */
export function recentEvaluationRuns(workspace: Workspace, options: { limit: number; samples: number }) {
  const evaluations = (
    workspace.db.prepare('SELECT id, model, dataset, metrics, ci, examples, dir, created_at FROM evaluations ORDER BY created_at DESC, id DESC LIMIT ?').all(options.limit) as Array<Record<string, string | number>>
  ).map((r) => ({
    evaluation_id: String(r.id),
    model: (JSON.parse(String(r.model)) as { label?: string }).label ?? String(r.id),
    dataset: String(r.dataset),
    metrics: JSON.parse(String(r.metrics)) as Record<string, number>,
    ci: JSON.parse(String(r.ci)) as Record<string, { low: number; high: number }>,
    examples: Number(r.examples),
    created_at: String(r.created_at),
    samples: firstJsonLines(join(String(r.dir), 'per_example.jsonl'), options.samples).map((s) => ({ line: s.line, prediction: s.prediction, reference: s.reference })),
  }));
  const comparisons = (workspace.db.prepare('SELECT id, dataset, result, dir, created_at FROM comparisons ORDER BY created_at DESC, id DESC LIMIT ?').all(options.limit) as Array<Record<string, string>>).map((r) => {
    const result = JSON.parse(r.result!) as { models?: Array<{ model: string; metrics: Record<string, number> }>; verdicts?: unknown[] };
    return {
      comparison_id: r.id!,
      dataset: r.dataset!,
      models: result.models ?? [],
      verdicts: result.verdicts ?? [],
      created_at: r.created_at!,
      samples: firstJsonLines(join(r.dir!, 'cases.jsonl'), options.samples),
    };
  });
  return { evaluations, comparisons };
}
