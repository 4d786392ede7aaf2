import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError, isFinetuneError } from '../errors.js';
import type { OnSkip } from '../plugins/providers.js';
import type { Services } from '../services.js';
import { logConsent } from './clean.js';
import { NOT_STATED } from './governance.js';
import { PII_KINDS, piiPatterns } from './pii.js';
import type { RunContext } from './service.js';
import { chooseKind, foldDuplicates, TelemetryCollector, type BuiltKind, type BuiltRow, type Skip } from './telemetry/build.js';
import { FeedbackSchema, type ExtractKind, type Feedback } from './telemetry/options.js';
import { scanRow, type PiiTally } from './telemetry/pii-scan.js';
import type { PiiRedactionRecord } from './types.js';

interface ExtractOptions {
  /** Name of an enabled data_source plugin, e.g. "phoenix" or "otel-files". */
  source: string;
  /** The plugin's own query (project, time range, a file path…). */
  query: Record<string, unknown>;
  name?: string;
  /** What to build: "auto" (default) chooses by what the data supports. */
  kind?: ExtractKind;
  /** Which annotations approve or reject (the query's annotation_name / labels / min_score are read too). */
  feedback?: Partial<Feedback>;
  /** Replace PII by placeholders in the extracted rows (default: scan and count only). */
  redact_pii?: boolean;
}

const TASK_OF: Record<BuiltKind | 'rows', string> = { sft: 'chat', dpo: 'preference', triplets: 'triplet', rows: 'as the source gave' };
/** Query fields that are user paths: confined here, since a plugin has no workspace (docs/CONVENTIONS.md). */
const PATH_FIELDS = ['path', 'annotations_path'];

export function confineQuery(services: Services, query: Record<string, unknown>): Record<string, unknown> {
  const out = { ...query };
  for (const key of PATH_FIELDS) if (typeof out[key] === 'string') out[key] = services.workspace.resolveUserPath(out[key], `query.${key}`);
  return out;
}

/** Feedback from the `feedback` argument, with the query's older filter fields (annotation_name, labels, min_score) as defaults. */
function feedbackOf(options: ExtractOptions): Feedback {
  const legacy = Object.fromEntries(['annotation_name', 'labels', 'min_score'].filter((k) => options.query[k] !== undefined).map((k) => [k, options.query[k]]));
  const parsed = FeedbackSchema.safeParse({ ...legacy, ...options.feedback });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new FinetuneError('INVALID_INPUT', `feedback.${issue.path.join('.')}: ${issue.message}.`, { details: { field: `feedback.${issue.path.join('.')}` } });
}

/**
 * Pulls telemetry from a data-source plugin and turns it into one dataset version: SFT chats, DPO
 * pairs or retrieval triplets (kind "auto" picks by what the feedback supports, thresholds in
 * `datasets.extraction`). Identical rows are folded with a count; every row's spans and annotations
 * go to `lineage.jsonl` in the version folder; PII is counted (or redacted). The rows are written
 * only once the whole source has been read, so a failure midway leaves nothing behind.
 */
export async function extractDataset(services: Services, options: ExtractOptions, run: RunContext = {}) {
  const source = await services.plugins.get('data_source', options.source);
  const query = confineQuery(services, options.query);
  const settings = services.datasets.settings;
  const common: Skip[] = [];
  const onSkip: OnSkip = (s) => common.push(s);
  const kind = options.kind ?? 'auto';
  let built: BuiltRow[];
  let chosen: BuiltKind | 'rows';
  let reason: string;
  let kindSkips: Skip[] = [];
  let stats: Record<string, unknown> = {};
  let counts: Record<BuiltKind, number> | undefined;

  if (source.spans) {
    const collector = new TelemetryCollector({ feedback: feedbackOf(options), include_errors: query.include_errors === true, max_pairs_per_input: settings.extraction.max_pairs_per_input });
    let n = 0;
    for await (const span of source.spans(query, onSkip)) {
      if (run.signal?.aborted) throw new FinetuneError('CANCELLED', 'Extraction cancelled.');
      collector.add(span);
      if (++n % 500 === 0) run.progress?.(n, 0, `${n} spans read`);
    }
    const collection = collector.finish();
    stats = collection.stats;
    counts = { sft: collection.rows.sft.length, dpo: collection.rows.dpo.length, triplets: collection.rows.triplets.length };
    const choice = kind === 'auto' ? chooseKind(counts, settings.extraction) : { kind, reason: `${kind} asked for; the source gave ${counts.dpo} preference pair(s), ${counts.sft} SFT example(s), ${counts.triplets} triplet(s).` };
    if (!choice.kind) {
      throw new FinetuneError('DATASET_INVALID', `${options.source}: ${choice.reason}`, {
        recovery: 'Gather more feedback, widen the query, pass kind "sft", "dpo" or "triplets" to extract what there is, or lower datasets.extraction thresholds.',
        details: { field: 'kind', counts },
      });
    }
    chosen = choice.kind;
    reason = choice.reason;
    built = collection.rows[chosen];
    kindSkips = collection.skipped[chosen];
    common.unshift(...collection.skipped.common);
  } else {
    // A generic data source gives finished rows; lineage comes from their metadata.
    if (kind !== 'auto' && kind !== 'sft') throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Data source '${options.source}' gives ready rows, not spans; kind '${kind}' needs spans.`, { details: { field: 'kind' } });
    built = [];
    for await (const row of source.extract(query, onSkip)) {
      if (run.signal?.aborted) throw new FinetuneError('CANCELLED', 'Extraction cancelled.');
      const { metadata, ...example } = row as { metadata?: Record<string, unknown> };
      built.push({ row: example, sources: [{ trace_id: String(metadata?.trace_id ?? ''), span_id: String(metadata?.span_id ?? ''), annotation_ids: [], role: 'example' }] });
    }
    chosen = 'rows';
    reason = `Data source '${options.source}' gives rows, not spans: kept as given.`;
  }
  const skipped = [...common, ...kindSkips];
  if (!built.length) {
    throw new FinetuneError('DATASET_INVALID', `${options.source} gave no ${chosen === 'rows' ? 'usable examples' : `${TASK_OF[chosen]} rows`} (${skipped.length} skipped${skipped[0] ? `, e.g. ${skipped[0].ref}: ${skipped[0].reason}` : ''}).`, {
      recovery: 'Widen the query (time range, project, feedback filters), or pick another kind, and extract again.',
      details: { field: 'query' },
    });
  }

  // PII: counted on every extraction; replaced by placeholders only when asked (then identical rows are folded again).
  const patterns = piiPatterns([...PII_KINDS], settings.pii_patterns, settings.pii.regions);
  const pii: PiiTally = { by_kind: {}, rows_affected: 0, findings: 0 };
  let { rows } = foldDuplicates(built);
  rows = rows.map((r) => ({ ...r, row: scanRow(r.row, patterns, options.redact_pii === true, pii) }));
  const final = foldDuplicates(rows);
  const folded = built.length - final.rows.length;

  const file = join(services.workspace.artifactDir('exports', 'extracted'), `${options.source}-${services.workspace.newId('dataset')}.jsonl`);
  services.workspace.writeFile(file, final.rows.map((r) => `${JSON.stringify(r.row)}\n`).join(''));
  const lineage = final.rows.map((r, i) => `${JSON.stringify({ line: i + 1, count: r.count, sources: r.sources })}\n`).join('');
  const consentId = options.redact_pii && pii.findings ? services.workspace.newId('consent') : undefined;
  const at = new Date().toISOString();
  const redaction = (datasetId: string): PiiRedactionRecord => ({
    kind: 'pii_redaction',
    consent_log_id: consentId!,
    dataset_id: datasetId,
    // An extraction has no version before it: the record names the version itself as its source.
    source_dataset_id: datasetId,
    actor: NOT_STATED,
    legal_basis: NOT_STATED,
    consent_reference: null,
    purpose: `redaction on extraction from ${options.source}`,
    redacted_kinds: [...PII_KINDS],
    custom_patterns: settings.pii_patterns.map((p) => p.name),
    found: pii.by_kind,
    findings: pii.findings,
    rows_affected: pii.rows_affected,
    at,
  });
  const report = {
    source: options.source,
    kind: chosen,
    reason,
    ...(counts ? { candidates: counts } : {}),
    rows_before_folding: built.length,
    folded_duplicates: folded,
    lineage_file: 'lineage.jsonl',
    pii: { by_kind: pii.by_kind, rows_affected: pii.rows_affected, redacted: options.redact_pii === true },
    skipped_count: skipped.length,
    ...stats,
  };
  let prepared;
  try {
    prepared = await services.datasets.prepare(
      { path: file, name: options.name ?? `${options.source}-extract`, attach: (id) => ({ files: { 'lineage.jsonl': lineage }, report: { extraction: report }, governance: consentId ? [redaction(id)] : [] }) },
      run,
    );
  } catch (error) {
    rmSync(file, { force: true });
    const line = isFinetuneError(error) ? error.details.line : undefined;
    if (isFinetuneError(error) && typeof line === 'number' && final.rows[line - 1]) {
      const spans = final.rows[line - 1].sources.map((s) => s.span_id).join(', ');
      throw new FinetuneError(error.code, `${error.message} (extracted row ${line} came from span ${spans})`, { recovery: error.recovery, details: { ...error.details, spans } });
    }
    throw error;
  }
  const redacted = prepared.record.manifest.governance?.find((g): g is PiiRedactionRecord => g.kind === 'pii_redaction' && g.consent_log_id === consentId);
  if (redacted) logConsent(services.datasets, redacted);
  return {
    prepared,
    rows: final.rows.length,
    skipped,
    file,
    choice: { kind: chosen, task_type: prepared.record.task_type, reason, counts },
    folded_duplicates: folded,
    pii: { by_kind: pii.by_kind, rows_affected: pii.rows_affected, redacted: options.redact_pii === true, consent_log_id: redacted?.consent_log_id ?? null },
  };
}
