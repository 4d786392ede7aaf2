import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { isRanked, metricDirection, type MetricDirection } from './metric-direction.js';
import { lookupJob } from './sources.js';

interface ExperimentRun {
  run_id: string;
  experiment: string;
  run_name: string;
  job_id: string | null;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  artifacts: Record<string, string>;
  created_at: string;
}

interface LogRunInput {
  experiment?: string;
  project?: string;
  run_name?: string;
  job_id?: string;
  params?: Record<string, unknown>;
  metrics?: Record<string, number>;
  artifacts?: Record<string, string>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/;

/** `<project>-finetune-<YYYY-MM-DD>`, the naming the issue asks for. */
export function defaultExperimentName(project: string, now = new Date()): string {
  return `${project}-finetune-${now.toISOString().slice(0, 10)}`;
}

/** Experiments group runs; a run is immutable (params, metrics, artifacts), typically one per job. */
export class Experiments {
  constructor(private readonly services: Services) {}

  log(input: LogRunInput): ExperimentRun {
    const experiment = input.experiment ?? defaultExperimentName(input.project ?? 'default');
    if (!NAME_RE.test(experiment)) {
      throw new FinetuneError('INVALID_INPUT', `experiment '${experiment}' must be letters, digits, '.', '_' or '-'.`, { details: { field: input.experiment ? 'experiment' : 'project' } });
    }
    const params: Record<string, unknown> = {};
    const metrics: Record<string, number> = {};
    const artifacts: Record<string, string> = {};
    if (input.job_id) {
      const fromJob = this.jobRun(input.job_id);
      Object.assign(params, fromJob.params);
      Object.assign(metrics, fromJob.metrics);
      Object.assign(artifacts, fromJob.artifacts);
    }
    Object.assign(params, input.params ?? {});
    for (const [k, v] of Object.entries(input.metrics ?? {})) {
      if (!Number.isFinite(v)) throw new FinetuneError('INVALID_INPUT', `metrics.${k} must be a finite number.`, { details: { field: `metrics.${k}` } });
      metrics[k] = v;
    }
    Object.assign(artifacts, input.artifacts ?? {});
    if (!input.job_id && !Object.keys(params).length && !Object.keys(metrics).length) {
      throw new FinetuneError('INVALID_INPUT', 'A run needs a job_id or some params or metrics to log.', { details: { field: 'job_id' } });
    }
    const db = this.services.workspace.db;
    const runName = input.run_name ?? input.job_id ?? `run-${(db.prepare('SELECT COUNT(*) FROM experiment_runs WHERE experiment = ?').pluck().get(experiment) as number) + 1}`;
    const taken = db.prepare('SELECT id FROM experiment_runs WHERE experiment = ? AND run_name = ?').pluck().get(experiment, runName) as string | undefined;
    if (taken) {
      throw new FinetuneError('STATE_CONFLICT', `Experiment '${experiment}' already has a run named '${runName}' (${taken}); runs never change.`, {
        recovery: 'Log it under another run_name, or read the existing run with compare_experiments.',
        details: { field: 'run_name' },
      });
    }
    const run: ExperimentRun = {
      run_id: this.services.workspace.newId('experiment'),
      experiment,
      run_name: runName,
      job_id: input.job_id ?? null,
      params,
      metrics,
      artifacts,
      created_at: new Date().toISOString(),
    };
    db.prepare('INSERT INTO experiment_runs (id, experiment, run_name, job_id, params, metrics, artifacts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      run.run_id, run.experiment, run.run_name, run.job_id, JSON.stringify(params), JSON.stringify(metrics), JSON.stringify(artifacts), run.created_at,
    );
    return run;
  }

  /**
   * A job seen as a run (not stored): its frozen config as params, last metric values, output
   * folders, and its evaluations (evaluate_model on the job or on a version registered from it):
   * their metrics (the newest evaluation wins a name both measured) and each record's folder as an
   * artifact named by its id.
   */
  jobRun(jobId: string): ExperimentRun {
    const job = lookupJob(this.services, jobId);
    const config = job.config;
    const params: Record<string, unknown> = config
      ? { base_model: config.base_model, dataset_id: config.dataset_id, method: config.method, approach: config.approach, backend: config.backend, ...config.hyperparameters }
      : {};
    const metrics: Record<string, number> = { ...job.final_metrics };
    const artifacts: Record<string, string> = {};
    if (job.adapter_dir) artifacts.adapter = job.adapter_dir;
    if (job.merged_dir) artifacts.merged = job.merged_dir;
    for (const evaluation of this.jobEvaluations(jobId)) {
      for (const [name, value] of Object.entries(evaluation.metrics)) if (typeof value === 'number' && Number.isFinite(value)) metrics[name] = value;
      artifacts[evaluation.id] = evaluation.dir;
    }
    return { run_id: jobId, experiment: '(job)', run_name: jobId, job_id: jobId, params, metrics, artifacts, created_at: '' };
  }

  /** The job's stored evaluations, oldest first. */
  private jobEvaluations(jobId: string): Array<{ id: string; dir: string; metrics: Record<string, unknown> }> {
    const rows = this.services.workspace.db
      .prepare("SELECT id, dir, metrics FROM evaluations WHERE json_extract(model, '$.job_id') = ? ORDER BY created_at, id")
      .all(jobId) as Array<{ id: string; dir: string; metrics: string }>;
    return rows.map((r) => ({ id: r.id, dir: r.dir, metrics: JSON.parse(r.metrics) as Record<string, unknown> }));
  }

  runs(filter: { experiment?: string; run_ids?: string[] }): ExperimentRun[] {
    const db = this.services.workspace.db;
    let rows: Array<Record<string, string | null>>;
    if (filter.run_ids?.length) {
      rows = filter.run_ids.map((id) => {
        const row = db.prepare('SELECT * FROM experiment_runs WHERE id = ?').get(id) as Record<string, string | null> | undefined;
        if (!row) throw new FinetuneError('NOT_FOUND', `No experiment run '${id}'.`, { recovery: 'Use run ids that log_experiment returned.', details: { field: 'run_ids' } });
        return row;
      });
    } else if (filter.experiment) {
      rows = db.prepare('SELECT * FROM experiment_runs WHERE experiment = ? ORDER BY created_at, id').all(filter.experiment) as Array<Record<string, string | null>>;
      if (!rows.length) throw new FinetuneError('NOT_FOUND', `No runs in experiment '${filter.experiment}'.`, { recovery: 'Call log_experiment first.', details: { field: 'experiment' } });
    } else throw new FinetuneError('INVALID_INPUT', 'Pass experiment or run_ids.', { details: { field: 'experiment' } });
    return rows.map((r) => ({
      run_id: r.id!,
      experiment: r.experiment!,
      run_name: r.run_name!,
      job_id: r.job_id,
      params: JSON.parse(r.params!) as Record<string, unknown>,
      metrics: JSON.parse(r.metrics!) as Record<string, number>,
      artifacts: JSON.parse(r.artifacts!) as Record<string, string>,
      created_at: r.created_at!,
    }));
  }
}

interface MetricRanking {
  metric: string;
  values: Array<number | null>;
  /** The best run, or null when the metric is not ranked (context or unknown direction). */
  best_run: string | null;
  direction: MetricDirection;
  /** Why a metric is not ranked, and how to rank it; absent when ranked. */
  note?: string;
}

interface RunsComparison {
  runs: Array<{ run_id: string; run_name: string; experiment: string }>;
  /** Params whose value differs between runs (the ones that explain the metric differences). */
  varying_params: Array<{ param: string; values: unknown[] }>;
  constant_params: Record<string, unknown>;
  metrics: MetricRanking[];
}

/**
 * Runs side by side: which params vary, each metric per run and the best run for it. A metric is
 * ranked only when its direction is declared (metric-direction.ts, or `directions` from the caller);
 * context values (learning_rate, epoch, grad_norm …) and unknown names are shown, not ranked.
 */
export function compareRuns(runs: ExperimentRun[], directions: Record<string, 'lower' | 'higher'> = {}): RunsComparison {
  const paramNames = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const varying_params: RunsComparison['varying_params'] = [];
  const constant_params: Record<string, unknown> = {};
  for (const p of paramNames) {
    const values = runs.map((r) => r.params[p] ?? null);
    if (new Set(values.map((v) => JSON.stringify(v))).size > 1) varying_params.push({ param: p, values });
    else constant_params[p] = values[0];
  }
  const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const metrics = metricNames.map((metric): MetricRanking => {
    const values = runs.map((r) => r.metrics[metric] ?? null);
    const direction = directions[metric] ?? metricDirection(metric);
    if (!isRanked(direction)) {
      const note =
        direction === 'context'
          ? `${metric} describes the run (no better direction); not ranked.`
          : `${metric} has no known direction; not ranked. Pass directions: {"${metric}": "higher"} (or "lower") to rank it.`;
      return { metric, values, best_run: null, direction, note };
    }
    let best: number | null = null;
    let bestRun: string | null = null;
    values.forEach((v, i) => {
      if (v === null) return;
      if (best === null || (direction === 'lower' ? v < best : v > best)) {
        best = v;
        bestRun = runs[i].run_id;
      }
    });
    return { metric, values, best_run: bestRun, direction };
  });
  return { runs: runs.map((r) => ({ run_id: r.run_id, run_name: r.run_name, experiment: r.experiment })), varying_params, constant_params, metrics };
}
