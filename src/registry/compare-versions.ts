import { metricDirection } from './metric-direction.js';
import type { Lineage, ModelVersion } from './types.js';

interface MetricDelta {
  metric: string;
  a: number | null;
  b: number | null;
  /** b − a, null when either side lacks the metric. */
  delta: number | null;
  /** 'unknown' when a side lacks the metric or the metric has no better direction (context or unknown name). */
  better: 'a' | 'b' | 'same' | 'unknown';
}

interface VersionComparison {
  a: string;
  b: string;
  metrics: MetricDelta[];
  lineage_differences: Array<{ field: string; a: unknown; b: unknown }>;
  hyperparameter_differences: Array<{ field: string; a: unknown; b: unknown }>;
  same_weights: boolean;
}

/** Two versions side by side: metric deltas (with which is better), lineage and hyperparameter changes. */
export function compareVersions(a: ModelVersion, b: ModelVersion): VersionComparison {
  const names = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].sort();
  const metrics = names.map((metric): MetricDelta => {
    const va = a.metrics[metric] ?? null;
    const vb = b.metrics[metric] ?? null;
    if (va === null || vb === null) return { metric, a: va, b: vb, delta: null, better: 'unknown' };
    const delta = vb - va;
    const direction = metricDirection(metric);
    const better = delta === 0 ? 'same' : direction === 'lower' ? (delta < 0 ? 'b' : 'a') : direction === 'higher' ? (delta > 0 ? 'b' : 'a') : 'unknown';
    return { metric, a: va, b: vb, delta, better };
  });
  const lineageFields: Array<keyof Lineage> = ['base_model', 'dataset_id', 'dataset_hash', 'job_id', 'adapter'];
  const lineage_differences = lineageFields
    .filter((f) => JSON.stringify(a.lineage[f]) !== JSON.stringify(b.lineage[f]))
    .map((field) => ({ field, a: a.lineage[field], b: b.lineage[field] }));
  const hpA = hyperparameters(a.lineage);
  const hpB = hyperparameters(b.lineage);
  const hpNames = [...new Set([...Object.keys(hpA), ...Object.keys(hpB)])].sort();
  const hyperparameter_differences = hpNames
    .filter((k) => JSON.stringify(hpA[k]) !== JSON.stringify(hpB[k]))
    .map((field) => ({ field, a: hpA[field] ?? null, b: hpB[field] ?? null }));
  return {
    a: `${a.name}@${a.version}`,
    b: `${b.name}@${b.version}`,
    metrics,
    lineage_differences,
    hyperparameter_differences,
    same_weights: a.artifact_sha256 === b.artifact_sha256,
  };
}

function hyperparameters(lineage: Lineage): Record<string, unknown> {
  const hp = lineage.config?.hyperparameters;
  return hp && typeof hp === 'object' ? (hp as Record<string, unknown>) : {};
}
