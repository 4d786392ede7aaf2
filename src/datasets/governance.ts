import type { DatasetService } from './service.js';
import type { DatasetRecord } from './types.js';

/**
 * A governance record of a dataset version: a PII redaction with who asked, the legal basis and the
 * consent reference given. A version carries the records of every version it derives from (in its
 * manifest, `governance`), so a split of a redacted version, the registry lineage of a model trained
 * on it and that model's card all show them.
 */
export interface GovernanceRecord extends RedactionFacts {
  kind: 'pii_redaction';
  /** The consent-log entry (cns_…). */
  consent_log_id: string;
  /** Kinds asked for (built-in and configured patterns), and values found by kind. */
  redacted_kinds: string[];
  custom_patterns: string[];
  found: Record<string, number>;
  at: string;
}

/** What a redaction record and its consent-log row both say. */
interface RedactionFacts {
  /** The version the redaction produced, and the one it read. */
  dataset_id: string;
  source_dataset_id: string;
  actor: string;
  legal_basis: string;
  consent_reference: string | null;
  purpose: string | null;
  findings: number;
  rows_affected: number;
}

export const NOT_STATED = 'not stated by the caller';

/** One row of the append-only consent log, its kinds column read into fields. */
export interface ConsentEntry extends RedactionFacts {
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
export function consentLog(service: DatasetService, datasetId?: string): ConsentEntry[] {
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
export function governanceOf(service: DatasetService, record: DatasetRecord): GovernanceRecord[] {
  if (record.manifest.governance) return record.manifest.governance;
  const ids = new Set(lineageIds(service, record.id));
  return consentLog(service, record.id)
    .filter((e) => ids.has(e.dataset_id))
    .map(({ id, created_at, ...facts }) => ({ kind: 'pii_redaction', consent_log_id: id, ...facts, at: created_at }));
}

/** The version and every version it derives from (its manifest's lineage). */
function lineageIds(service: DatasetService, datasetId: string): string[] {
  let record: DatasetRecord | undefined;
  try {
    record = service.get(datasetId);
  } catch {
    return [datasetId];
  }
  return [...new Set([datasetId, ...record.manifest.lineage.map((step) => step.dataset_id)])];
}
