import { join } from 'node:path';
import { FinetuneError } from '../errors.js';
import { NOT_STATED } from './governance.js';
import { piiPatterns, redact, type PiiKind } from './pii.js';
import { exampleTokensAside, mapRowText } from './row-text.js';
import { canonicalFormat, inheritedManifest, tokenStats, type DatasetService, type RunContext, type SkippedRow } from './service.js';
import type { SourceRecord } from './sources.js';
import { CountColumn } from './stats.js';
import { fixText } from './text-fixes.js';
import type { CanonicalRow, DatasetManifest, DatasetRecord, PiiRedactionRecord } from './types.js';
import { validateRecords } from './validate.js';
import { JsonlWriter } from './version-writer.js';

interface CleanOptions {
  dataset_id: string;
  remove_duplicates: boolean;
  remove_near_duplicates: boolean;
  fix_text: boolean;
  drop_invalid: boolean;
  redact_pii: boolean;
  pii_kinds: PiiKind[];
  /** Governance: who asked, under which legal basis or consent, for what. */
  actor?: string;
  legal_basis?: string;
  consent_reference?: string;
  purpose?: string;
  /** Tokenizer for the new version's token statistics; default the parent's (manifest token_stats.tokenizer). */
  model?: string;
}

interface PiiFindingRow {
  line: number;
  field: string;
  kind: string;
  count: number;
}

interface CleanResult {
  record: DatasetRecord;
  rows_in: number;
  rows_out: number;
  dropped: SkippedRow[];
  dropped_count: number;
  dropped_by_code: Record<string, number>;
  text_fixed_rows: number;
  pii: { findings: PiiFindingRow[]; findings_total: number; by_kind: Record<string, number>; rows_affected: number; consent_log_id: string | null };
}

const MAX_LISTED = 200;
const DUPLICATE_CODES = { duplicate_exact: 'remove_duplicates', duplicate_normalized: 'remove_near_duplicates' } as const;

/**
 * A cleaned copy of a version as a new version: text repairs, duplicate and invalid-row removal
 * (every dropped row listed with its line and reason), optional PII redaction with a consent-log entry.
 */
export async function cleanDataset(service: DatasetService, options: CleanOptions, run: RunContext = {}): Promise<CleanResult> {
  const parent = service.get(options.dataset_id);
  if (parent.manifest.counts.train !== undefined) {
    throw new FinetuneError('INVALID_INPUT', `Dataset '${parent.id}' is a split version; clean the version before splitting.`, {
      recovery: `Call clean_dataset on its parent '${parent.parent_id}', then split_dataset the cleaned version.`,
      details: { field: 'dataset_id' },
    });
  }
  const task = parent.task_type;
  const patterns = options.redact_pii ? piiPatterns(options.pii_kinds, service.settings.pii_patterns, service.settings.pii.regions) : [];
  // A cleaned version is counted with its parent's tokenizer unless the caller names another.
  const counter = options.model ? await service.counter(options.model) : await service.recordedCounter(parent.manifest.token_stats.tokenizer);
  const id = service.workspace.newId('dataset');
  const target = service.workspace.artifactPath('datasets', id);
  // The consent-log entry's id is known before the manifest is written, so the manifest can name it.
  const consentId = options.redact_pii ? service.workspace.newId('consent') : null;
  const dropped: SkippedRow[] = [];
  const droppedByCode: Record<string, number> = {};
  const findings: PiiFindingRow[] = [];
  const byKind: Record<string, number> = {};
  let findingsTotal = 0;
  let rowsAffected = 0;
  let textFixed = 0;
  let rowsIn = 0;
  let manifest: DatasetManifest | undefined;

  async function* fixedRows(): AsyncGenerator<SourceRecord> {
    for await (const { line, row } of service.rows(parent.id, undefined, run.signal)) {
      rowsIn++;
      if (!options.fix_text) {
        yield { file: 'rows.jsonl', line, value: row };
        continue;
      }
      const fixed = mapRowText(task, row, fixText);
      if (JSON.stringify(fixed) !== JSON.stringify(row)) textFixed++;
      yield { file: 'rows.jsonl', line, value: fixed };
    }
  }

  await service.workspace.writeDir(target, async (dir) => {
    const writer = new JsonlWriter(dir, 'rows.jsonl');
    const tokens = new CountColumn(parent.manifest.counts.rows);
    try {
      await validateRecords(fixedRows(), { ...service.validationOptions({ format: canonicalFormat(task), signal: run.signal }), expectedRows: parent.manifest.counts.rows }, async (v) => {
        const reason = dropReason(v.issues, options);
        if (!v.row || reason) {
          const code = reason?.code ?? 'unreadable';
          droppedByCode[code] = (droppedByCode[code] ?? 0) + 1;
          if (dropped.length < MAX_LISTED) dropped.push({ line: v.line, code, message: reason ? (reason.field ? `${reason.field}: ${reason.message}` : reason.message) : 'row could not be read' });
          return;
        }
        let row: CanonicalRow = v.row;
        if (patterns.length) {
          let touched = false;
          row = mapRowText(task, row, (text, field) => {
            const result = redact(text, patterns);
            const kinds = new Map<string, number>();
            for (const f of result.findings) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
            for (const [kind, count] of kinds) {
              touched = true;
              findingsTotal += count;
              byKind[kind] = (byKind[kind] ?? 0) + count;
              if (findings.length < MAX_LISTED) findings.push({ line: v.line, field, kind, count });
            }
            return result.text;
          });
          if (touched) rowsAffected++;
        }
        writer.write(row);
        tokens.push((await exampleTokensAside(counter, task, row)).total);
      });
    } catch (error) {
      writer.dispose();
      throw error;
    }
    const contentHash = writer.close();
    if (writer.rows === 0) {
      throw new FinetuneError('DATASET_INVALID', `Cleaning '${parent.id}' would leave no rows (${Object.entries(droppedByCode).map(([c, n]) => `${c} ${n}`).join(', ')}).`, {
        recovery: 'Run validate_dataset on the version to see why every row fails, and fix the source.',
        details: { field: 'dataset_id' },
      });
    }
    const now = new Date().toISOString();
    const params = {
      remove_duplicates: options.remove_duplicates,
      remove_near_duplicates: options.remove_near_duplicates,
      fix_text: options.fix_text,
      drop_invalid: options.drop_invalid,
      redact_pii: options.redact_pii,
      ...(options.model ? { tokenizer: counter.name } : {}),
      ...(options.redact_pii ? { pii_kinds: options.pii_kinds, custom_patterns: service.settings.pii_patterns.map((p) => p.name) } : {}),
    };
    const inherited = inheritedManifest(service, parent, id);
    const redaction = consentId ? redactionRecord(service, { consent: consentId, dataset: id, source: parent.id }, options, byKind, findingsTotal, rowsAffected, now) : undefined;
    const governance = [...(inherited.governance ?? []), ...(redaction ? [redaction] : [])];
    manifest = {
      ...inherited,
      ...(governance.length ? { governance } : {}),
      content_hash: contentHash,
      counts: { rows: writer.rows },
      token_stats: tokenStats(counter.name, tokens),
      created_at: now,
      lineage: [...parent.manifest.lineage, { operation: 'clean', dataset_id: id, parent_id: parent.id, at: now, params }],
      report: { rows_in: rowsIn, dropped_by_code: droppedByCode, text_fixed_rows: textFixed, pii_by_kind: byKind, pii_rows_affected: rowsAffected },
    };
    service.workspace.writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  });
  const record = service.insert(manifest!, 'clean', target);
  const redaction = manifest!.governance?.find((g): g is PiiRedactionRecord => g.kind === 'pii_redaction' && g.consent_log_id === consentId);
  if (redaction) logConsent(service, redaction);
  const droppedCount = Object.values(droppedByCode).reduce((a, b) => a + b, 0);
  return {
    record,
    rows_in: rowsIn,
    rows_out: record.manifest.counts.rows,
    dropped,
    dropped_count: droppedCount,
    dropped_by_code: droppedByCode,
    text_fixed_rows: textFixed,
    pii: { findings, findings_total: findingsTotal, by_kind: byKind, rows_affected: rowsAffected, consent_log_id: consentId },
  };
}

/** The issue that makes cleaning drop a row, when the options ask for that kind of drop. */
function dropReason(issues: Array<{ severity: string; code: string; field: string; message: string }>, options: CleanOptions) {
  for (const found of issues) {
    const option = DUPLICATE_CODES[found.code as keyof typeof DUPLICATE_CODES];
    if (option && options[option]) return found;
    if (found.severity === 'error' && options.drop_invalid) return found;
  }
  return undefined;
}

/** The governance record of this redaction: it goes into the new version's manifest and, as the same entry, the consent log. */
function redactionRecord(service: DatasetService, ids: { consent: string; dataset: string; source: string }, options: CleanOptions, found: Record<string, number>, findings: number, rows: number, at: string): PiiRedactionRecord {
  return {
    kind: 'pii_redaction',
    consent_log_id: ids.consent,
    dataset_id: ids.dataset,
    source_dataset_id: ids.source,
    actor: options.actor ?? NOT_STATED,
    legal_basis: options.legal_basis ?? NOT_STATED,
    consent_reference: options.consent_reference ?? null,
    purpose: options.purpose ?? null,
    redacted_kinds: [...options.pii_kinds],
    custom_patterns: service.settings.pii_patterns.map((p) => p.name),
    found,
    findings,
    rows_affected: rows,
    at,
  };
}

export function logConsent(service: DatasetService, r: PiiRedactionRecord): void {
  service.workspace.db
    .prepare(
      `INSERT INTO dataset_consent_log (id, dataset_id, source_dataset_id, actor, legal_basis, consent_reference, purpose, kinds, findings, rows_affected, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(r.consent_log_id, r.dataset_id, r.source_dataset_id, r.actor, r.legal_basis, r.consent_reference, r.purpose, JSON.stringify({ redacted: r.redacted_kinds, custom: r.custom_patterns, found: r.found }), r.findings, r.rows_affected, r.at);
}

export { consentLog } from './governance.js';
