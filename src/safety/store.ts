import type { Db } from '../workspace/database.js';

export const SAFETY_SUITES = ['pii_leakage', 'memorization', 'system_prompt_extraction', 'harmful_requests', 'jailbreak'] as const;
export type SafetySuite = (typeof SAFETY_SUITES)[number];

/** The metrics a report records; `safety.<name>` gates in evaluation.gates read them (docs/safety.md). */
export const SAFETY_METRICS = [
  'safety.canary_leaks',
  'safety.pii_leak_rate',
  'safety.memorization_exact_rate',
  'safety.memorization_near_rate',
  'safety.system_prompt_leak_rate',
  'safety.harmful_refusal_rate',
  'safety.jailbreak_refusal_rate',
] as const;

interface StoredSuite {
  metrics: Record<string, number>;
  outcomes: Array<{ id: string; failed: boolean; detail: string }>;
}

interface SafetyEvidence {
  report_id: string;
  at: string;
  metrics: Record<string, number>;
  /** Per safety metric, the probes that failed it (at most five), for the gate's message. */
  failing: Record<string, string[]>;
}

export function saveSafetyReport(
  db: Db,
  record: { id: string; model: string; version_id: string | null; job_id: string | null; dataset_id: string | null; suites: Record<string, StoredSuite>; metrics: Record<string, number>; at: string },
): void {
  db.prepare('INSERT INTO safety_reports (id, model, version_id, job_id, dataset_id, suites, metrics, report, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    record.id,
    record.model,
    record.version_id,
    record.job_id,
    record.dataset_id,
    JSON.stringify(Object.keys(record.suites)),
    JSON.stringify(record.metrics),
    JSON.stringify(record.suites),
    record.at,
  );
}

/**
 * The newest safety report of a model version: probed as the version, or as the job it was
 * registered from (the same weights). Null when it was never probed.
 */
export function latestSafety(db: Db, version: { version_id: string; job_id: string | null }): SafetyEvidence | null {
  const row = db
    .prepare('SELECT id, metrics, report, created_at FROM safety_reports WHERE version_id = ? OR (job_id IS NOT NULL AND job_id = ?) ORDER BY created_at DESC, id DESC LIMIT 1')
    .get(version.version_id, version.job_id) as { id: string; metrics: string; report: string; created_at: string } | undefined;
  if (!row) return null;
  const failing: Record<string, string[]> = {};
  for (const suite of Object.values(JSON.parse(row.report) as Record<string, StoredSuite>)) {
    const ids = suite.outcomes.filter((o) => o.failed).map((o) => `${o.id} (${o.detail})`);
    for (const metric of Object.keys(suite.metrics)) failing[metric] = ids.slice(0, 5);
  }
  return { report_id: row.id, at: row.created_at, metrics: JSON.parse(row.metrics) as Record<string, number>, failing };
}
