import type { DatasetRecord, DatasetStore, GovernanceRecord, RedactionFacts } from './types.js';

export const NOT_STATED = 'not stated by the caller';

/** One row of the append-only consent log, its kinds column read into fields. */
interface ConsentEntry extends RedactionFacts {
  id: string;
  redacted_kinds: string[];
  custom_patterns: string[];
  found: Record<string, number>;
  created_at: string;
}

type ConsentRow = RedactionFacts & { id: string; created_at: string; /** JSON {redacted, custom, found}. */ kinds: string };

function readEntry({ kinds, ...row }: ConsentRow): ConsentEntry {
  const parsed = JSON.parse(kinds) as { redacted?: string[]; custom?: string[]; found?: Record<string, number> };
  return { ...row, redacted_kinds: parsed.redacted ?? [], custom_patterns: parsed.custom ?? [], found: parsed.found ?? {} };
}

/**
 * Consent-log entries that apply to a version: redactions that produced it or any version it derives
 * from (its lineage), and those that read it.
 */
export function consentLog(service: DatasetStore, datasetId?: string): ConsentEntry[] {
  if (!datasetId) return (service.workspace.db.prepare('SELECT * FROM dataset_consent_log ORDER BY created_at, id').all() as ConsentRow[]).map(readEntry);
  const ids = lineageIds(service, datasetId);
  const marks = ids.map(() => '?').join(', ');
  const rows = service.workspace.db
    .prepare(`SELECT * FROM dataset_consent_log WHERE dataset_id IN (${marks}) OR source_dataset_id = ? ORDER BY created_at, id`)
    .all(...ids, datasetId) as ConsentRow[];
  return rows.map(readEntry);
}

/**
 * The governance records of a version: its manifest's, or, for a version written before manifests
 * carried them, the consent-log entries of its lineage.
 */
export function governanceOf(service: DatasetStore, record: DatasetRecord): GovernanceRecord[] {
  if (record.manifest.governance) return record.manifest.governance;
  const ids = new Set(lineageIds(service, record.id));
  return consentLog(service, record.id)
    .filter((e) => ids.has(e.dataset_id))
    .map(({ id, created_at, ...facts }) => ({ kind: 'pii_redaction' as const, consent_log_id: id, ...facts, at: created_at }));
}

/** The version and every version it derives from (its manifest's lineage). */
function lineageIds(service: DatasetStore, datasetId: string): string[] {
  let record: DatasetRecord | undefined;
  try {
    record = service.get(datasetId);
  } catch {
    return [datasetId];
  }
  return [...new Set([datasetId, ...record.manifest.lineage.map((step) => step.dataset_id)])];
}
