import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../errors.js';
import { exportDataset, type ExportOptions, type ExportResult } from './export.js';
import { governanceOf } from './governance.js';
import type { Logger } from '../observability/logger.js';
import { readUserJson } from '../workspace/confine.js';
import type { Workspace } from '../workspace/workspace.js';
import type { DatasetIssue } from './issues.js';
import { readLines } from './line-reader.js';
import { PII_KINDS, piiPatterns } from './pii.js';
import type { DatasetSettings } from './settings.js';
import { estimateRows, readSourceBatches, sourceFiles, sourceKind, type SourceRecord } from './sources.js';
import { CountColumn, distribution, histogram } from './stats.js';
import { chatToCompletion, loadChatTemplate } from './templates.js';
import { localCounter, openAiCounter, openAiModel, type TokenCounter } from './tokenizers.js';
import { type CanonicalRow, type DatasetManifest, type DatasetRecord, type GovernanceRecord, type LineageStep, type SourceFormat, type SplitName, type TaskType, type TokenStats } from './types.js';
import { documentSeparatorIn, validateRecords, type ValidationResult } from './validate.js';
import { validateSource } from './parallel-validate.js';
import { JsonlWriter } from './version-writer.js';

/** What long operations receive from the tool layer: cancellation and progress. */
export interface RunContext {
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => void;
}

interface PrepareOptions {
  /** Already resolved against the allowed roots. */
  path: string;
  format?: SourceFormat;
  name?: string;
  /** Tokenizer for token statistics: an OpenAI model or encoding, a model id, or a folder with tokenizer.json. */
  model?: string;
  /** `fail` (default) refuses a source with unreadable rows; `skip` leaves them out and lists them. */
  on_invalid?: 'fail' | 'skip';
  /** A Jinja chat template, or a model (id or folder) whose template renders chat rows into prompt/completion. */
  chat_template?: string;
  /** For .txt sources: the literal that ends a document (default from the config: blank lines). */
  text_separator?: string;
  /**
   * What the caller adds to the new version, given its id: files beside rows.jsonl (an extraction's
   * lineage.jsonl), facts merged into the manifest's report, governance records. Written inside the
   * same atomic folder write, so the version appears with them or not at all.
   */
  attach?: (datasetId: string) => { files?: Record<string, string>; report?: Record<string, unknown>; governance?: GovernanceRecord[] };
}

export interface SkippedRow {
  line: number;
  file?: string;
  code: string;
  message: string;
}

export interface PrepareResult {
  record: DatasetRecord;
  skipped: SkippedRow[];
  skipped_count: number;
  validation: ValidationResult['summary'];
}

interface ListOptions {
  task_type?: TaskType;
  parent_id?: string;
  limit: number;
  offset: number;
}

/** What the dataset service needs of the model service (src/models): a model's folder and context length. */
interface ModelLookup {
  get(id: string): { dir: string; context_length?: number | null };
}

interface DatasetRow {
  id: string;
  parent_id: string | null;
  task_type: TaskType;
  manifest: string;
}

const MAX_LISTED_SKIPS = 100;

/**
 * Dataset versions: immutable, content-hashed folders `<home>/datasets/<ds_id>/` with canonical rows
 * and a manifest, plus one row each in the `datasets` table. Every operation makes a new version.
 */
/** The two characters `\n`, as a shell or a CLI passes what was meant as a newline, are one: one text a line. */
function lineSeparator(separator: string): string {
  return separator === '\\n' ? '\n' : separator;
}

/** Lines without a blank one between them above which a lone .txt document is taken for one text a line. */
const ONE_TEXT_A_LINE = 20;

export class DatasetService {
  constructor(
    readonly workspace: Workspace,
    readonly settings: DatasetSettings,
    readonly logger: Logger,
    /** The model service, when the server has one: resolves `mdl_…` ids to their folder and context length. */
    private readonly models: () => ModelLookup | undefined = () => undefined,
  ) {}

  get(id: string): DatasetRecord {
    const row = this.workspace.db.prepare('SELECT id, parent_id, task_type, manifest FROM datasets WHERE id = ?').get(id) as DatasetRow | undefined;
    if (!row) {
      // A version folder laid out as docs/CONVENTIONS.md describes, written without a record (fixtures,
      // another tool): readable, never listed.
      const folder = /^ds_[A-Za-z0-9_-]+$/.test(id) ? this.workspace.artifactPath('datasets', id) : undefined;
      if (folder && existsSync(join(folder, 'manifest.json'))) {
        const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as DatasetManifest;
        return { id, parent_id: manifest.parent_id ?? null, task_type: manifest.task_type, manifest, dir: folder };
      }
      throw new FinetuneError('NOT_FOUND', `No dataset version '${id}'.`, { recovery: 'Call list_datasets for existing ids, or prepare_dataset to import a file.', details: { field: 'dataset_id' } });
    }
    return { id: row.id, parent_id: row.parent_id, task_type: row.task_type, manifest: JSON.parse(row.manifest) as DatasetManifest, dir: this.workspace.artifactPath('datasets', row.id) };
  }

  /** The JSONL file of a version's rows, or of one of its splits. */
  rowsPath(id: string, split?: SplitName): string {
    const record = this.get(id);
    if (!split) return join(record.dir, 'rows.jsonl');
    if (record.manifest.counts[split] === undefined) {
      throw new FinetuneError('NOT_FOUND', `Dataset '${id}' has no ${split} split.`, { recovery: 'Call split_dataset first and use the dataset_id it returns.', details: { field: 'split' } });
    }
    return join(record.dir, `${split}.jsonl`);
  }

  list(options: ListOptions): { datasets: DatasetRecord[]; total: number } {
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.task_type) {
      where.push('task_type = ?');
      params.push(options.task_type);
    }
    if (options.parent_id) {
      where.push('parent_id = ?');
      params.push(options.parent_id);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.workspace.db.prepare(`SELECT COUNT(*) AS n FROM datasets ${clause}`).get(...params) as { n: number }).n;
    const rows = this.workspace.db
      .prepare(`SELECT id, parent_id, task_type, manifest FROM datasets ${clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...params, options.limit, options.offset) as DatasetRow[];
    return {
      total,
      datasets: rows.map((r) => ({ id: r.id, parent_id: r.parent_id, task_type: r.task_type, manifest: JSON.parse(r.manifest) as DatasetManifest, dir: this.workspace.artifactPath('datasets', r.id) })),
    };
  }

  /** Streams a version's rows (or a split's) with their 1-based line numbers. */
  async *rows(id: string, split?: SplitName, signal?: AbortSignal): AsyncGenerator<{ line: number; row: CanonicalRow }> {
    for await (const raw of readLines(this.rowsPath(id, split), { maxLineBytes: this.settings.max_line_bytes, signal })) {
      if (raw.too_long || raw.bytes.length === 0) continue;
      yield { line: raw.line, row: JSON.parse(raw.bytes.toString('utf8')) as CanonicalRow };
    }
  }

  /** One page of rows with their line numbers, and the offset of the next page (null at the end). */
  async page(id: string, split: SplitName | undefined, offset: number, limit: number, signal?: AbortSignal): Promise<{ rows: Array<{ line: number; row: Record<string, unknown> }>; next_offset: number | null }> {
    const rows: Array<{ line: number; row: Record<string, unknown> }> = [];
    let index = 0;
    for await (const { line, row } of this.rows(id, split, signal)) {
      if (index >= offset + limit) return { rows, next_offset: index };
      if (index >= offset) rows.push({ line, row: row as unknown as Record<string, unknown> });
      index++;
    }
    return { rows, next_offset: null };
  }

  /** Canonical rows as source records, so the validator reads prepared versions like files. */
  async *asRecords(id: string, split?: SplitName, signal?: AbortSignal): AsyncGenerator<SourceRecord> {
    const file = this.rowsPath(id, split);
    for await (const { line, row } of this.rows(id, split, signal)) yield { file, line, value: row };
  }

  /**
   * The tokenizer of a target: an OpenAI model or encoding name, a model id (`mdl_…`, its folder in
   * the workspace), or a folder holding tokenizer.json. Undefined `model` gives the default encoding.
   */
  async counter(model: string | undefined, resolvePath: (p: string) => string = (p) => this.workspace.resolveUserPath(p, 'model')): Promise<TokenCounter> {
    const spec = model ?? this.settings.default_tokenizer;
    if (spec === 'o200k_base' || spec === 'cl100k_base' || openAiModel(spec)) return openAiCounter(spec);
    if (/^mdl_[0-9a-z]+$/.test(spec)) {
      const model = this.models()?.get(spec);
      if (model) return localCounter(model.dir, model.context_length ?? contextLength(model.dir));
      const dir = this.workspace.artifactPath('models', spec);
      if (!existsSync(dir)) throw new FinetuneError('NOT_FOUND', `No model '${spec}' in the workspace.`, { recovery: 'Call list_models, or pass an OpenAI model name or a folder with tokenizer.json.', details: { field: 'model' } });
      return localCounter(dir, contextLength(dir));
    }
    if (spec.includes('/') || spec.includes('\\') || spec.startsWith('.')) {
      const dir = resolvePath(spec);
      return localCounter(dir, contextLength(dir));
    }
    throw new FinetuneError('INVALID_INPUT', `'${spec}' is neither a known OpenAI model (gpt-4o-mini, gpt-4.1, …), a model id (mdl_…) nor a folder with tokenizer.json.`, {
      details: { field: 'model' },
    });
  }

  /**
   * The tokenizer a version's token statistics were counted with (`token_stats.tokenizer`), so that a
   * derived version counts with its parent's tokenizer: an encoding name, or `tokenizer.json:<folder>`
   * (the folder was resolved when the parent was made, so it is opened as recorded).
   */
  async recordedCounter(tokenizer: string): Promise<TokenCounter> {
    if (!tokenizer.startsWith('tokenizer.json:')) return this.counter(tokenizer);
    const dir = tokenizer.slice('tokenizer.json:'.length);
    if (!existsSync(join(dir, 'tokenizer.json'))) {
      throw new FinetuneError('FILE_ERROR', `The tokenizer this version was counted with is gone: no tokenizer.json in '${dir}'.`, {
        recovery: 'Pass `model` (a model id, an OpenAI model or encoding, or a folder with tokenizer.json) to count the new version with that tokenizer.',
        details: { file: dir, field: 'model' },
      });
    }
    return localCounter(dir, contextLength(dir));
  }

  /** A model folder: a workspace model id (`mdl_…`) or a user path under the allowed roots. */
  modelDir(spec: string, field: string): string {
    if (/^mdl_[0-9a-z]+$/.test(spec)) return this.models()?.get(spec).dir ?? this.workspace.artifactPath('models', spec);
    return this.workspace.resolveUserPath(spec, field);
  }

  validationOptions(extra: { format?: SourceFormat; counter?: TokenCounter; method?: 'sft' | 'dpo'; labels?: string[]; epochs?: number; openai?: boolean; signal?: AbortSignal }) {
    return { ...extra, maxIssues: this.settings.max_issues, thresholds: this.settings };
  }

  sourceOptions(run: RunContext) {
    return {
      maxLineBytes: this.settings.max_line_bytes,
      maxJsonBytes: this.settings.max_json_bytes,
      maxJsonValues: this.settings.max_json_values,
      maxCsvColumns: this.settings.max_csv_columns,
      textSeparator: lineSeparator(this.settings.text_separator),
      signal: run.signal,
      onProgress: throttledProgress(run),
    };
  }

  /** Imports a file or folder as a new version of canonical rows. */
  async prepare(options: PrepareOptions, run: RunContext = {}): Promise<PrepareResult> {
    const counter = await this.counter(options.model);
    const sourceSha = await sha256OfSource(options.path);
    const template = options.chat_template ? loadChatTemplate(options.chat_template, (p) => this.modelDir(p, 'chat_template')) : undefined;
    const toCompletion = template ? await chatToCompletion(template) : undefined;
    const id = this.workspace.newId('dataset');
    const target = this.workspace.artifactPath('datasets', id);
    const skipped: SkippedRow[] = [];
    let skippedCount = 0;
    // A .txt source read without a separator whose documents hold an end-of-document token: the token and the rows it joined.
    const guessSeparator = sourceKind(options.path) === 'txt' && options.text_separator === undefined && this.settings.text_separator === '';
    let separator: { token: string; rows: number } | undefined;
    let firstRowLines = 0;
    let result: ValidationResult | undefined;
    let manifest: DatasetManifest | undefined;
    await this.workspace.writeDir(target, async (dir) => {
      const writer = new JsonlWriter(dir, 'rows.jsonl');
      const expectedRows = estimateRows(options.path);
      const tokens = new CountColumn(expectedRows);
      try {
        const sourceOptions = { ...this.sourceOptions(run), ...(options.text_separator !== undefined ? { textSeparator: lineSeparator(options.text_separator) } : {}) };
        const validation = { ...this.validationOptions({ format: options.format, counter, signal: run.signal }), expectedRows };
        result = await validateRecords(readSourceBatches(options.path, sourceOptions), validation, (v) => {
          if (v.row && toCompletion && 'messages' in v.row) {
            const rendered = toCompletion(v.row);
            if (rendered) {
              writer.write(rendered);
              tokens.push(counter.count(rendered.prompt) + counter.count(rendered.completion));
              return;
            }
            v.issues.unshift({ line: v.line, severity: 'error', code: 'template_needs_assistant_last', field: 'messages', message: 'The last message is not from the assistant, so there is no completion to render.', fix: 'End each conversation with the assistant reply.' });
          } else if (v.row) {
            const token = guessSeparator && 'text' in v.row ? documentSeparatorIn(v.row.text) : undefined;
            if (token) separator = { token, rows: (separator?.rows ?? 0) + 1 };
            // only a lone row is suspect (see ONE_TEXT_A_LINE): its lines are counted, no other's
            if (guessSeparator && writer.rows === 0 && 'text' in v.row) firstRowLines = v.row.text.split('\n').length;
            writer.write(v.row);
            tokens.push(v.tokens ?? 0);
            return;
          }
          skippedCount++;
          const first = v.issues.find((i) => i.severity === 'error') ?? v.issues[0];
          if (skipped.length < MAX_LISTED_SKIPS && first) skipped.push(skippedRow(first, v.line));
        });
      } catch (error) {
        writer.dispose();
        throw error;
      }
      const contentHash = writer.close();
      const summary = result.summary;
      if (!summary.task_type || !summary.format) {
        if (skipped.length) throw unreadableRows(options.path, skipped, skippedCount);
        throw new FinetuneError('DATASET_INVALID', `No record of '${options.path}' matches a known dataset layout.`, { details: { file: options.path } });
      }
      if (skippedCount && (options.on_invalid ?? 'fail') === 'fail') throw unreadableRows(options.path, skipped, skippedCount);
      if (separator) {
        throw new FinetuneError('DATASET_INVALID', `'${options.path}' separates its documents with ${separator.token}, but was read on blank lines: ${separator.rows} of ${writer.rows} row(s) hold several documents.`, {
          recovery: `Call prepare_dataset again with text_separator ${JSON.stringify(separator.token)} (or set datasets.text_separator), so each document is one row; pass text_separator "" to import it as it is.`,
          details: { file: options.path, field: 'text_separator' },
        });
      }
      // the whole file as one document of many unbroken lines: most likely one text a line (tweets, sentences)
      if (guessSeparator && writer.rows === 1 && firstRowLines >= ONE_TEXT_A_LINE) {
        throw new FinetuneError('DATASET_INVALID', `'${options.path}' has no blank line between its ${firstRowLines.toLocaleString('en-US')} lines, so it was read as one document (one row).`, {
          recovery: 'If each line is one text, call prepare_dataset again with text_separator "\\n" (one row a line); pass text_separator "" to import it as one document.',
          details: { file: options.path, field: 'text_separator' },
        });
      }
      if (writer.rows === 0) throw unreadableRows(options.path, skipped, skippedCount);
      if (template && summary.task_type !== 'chat') {
        throw new FinetuneError('INVALID_INPUT', `chat_template applies to chat data; '${options.path}' holds ${summary.task_type} rows.`, { details: { field: 'chat_template' } });
      }
      const attached = options.attach?.(id) ?? {};
      for (const [name, content] of Object.entries(attached.files ?? {})) this.workspace.writeFile(join(dir, name), content);
      manifest = {
        dataset_id: id,
        parent_id: null,
        task_type: template ? 'completion' : summary.task_type,
        ...(options.name ? { name: options.name } : {}),
        source: { path: options.path, format: summary.format, sha256: sourceSha },
        content_hash: contentHash,
        counts: { rows: writer.rows },
        token_stats: tokenStats(counter.name, tokens),
        created_at: new Date().toISOString(),
        lineage: [{ operation: 'prepare', dataset_id: id, parent_id: null, at: new Date().toISOString(), params: { path: options.path, format: summary.format, on_invalid: options.on_invalid ?? 'fail', ...(template ? { chat_template: template.origin, chat_template_sha256: createHash('sha256').update(template.template).digest('hex') } : {}) } }],
        report: { skipped_rows: skippedCount, issues_by_code: summary.by_code, ...attached.report },
        ...(attached.governance?.length ? { governance: attached.governance } : {}),
      };
      this.workspace.writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    });
    const record = this.insert(manifest!, 'prepare', target);
    this.logger.info({ dataset_id: id, rows: manifest!.counts.rows, task_type: manifest!.task_type }, 'dataset prepared');
    return { record, skipped, skipped_count: skippedCount, validation: result!.summary };
  }

  /** Records a version whose folder is complete; removes the folder if the record cannot be written. */
  insert(manifest: DatasetManifest, operation: LineageStep['operation'], dir: string): DatasetRecord {
    try {
      this.workspace.db
        .prepare(
          `INSERT INTO datasets (id, parent_id, name, task_type, operation, source_format, source_path, source_sha256, content_hash, rows, split, manifest, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          manifest.dataset_id,
          manifest.parent_id,
          manifest.name ?? null,
          manifest.task_type,
          operation,
          manifest.source.format,
          manifest.source.path,
          manifest.source.sha256,
          manifest.content_hash,
          manifest.counts.rows,
          manifest.counts.train === undefined ? 0 : 1,
          JSON.stringify(manifest),
          manifest.created_at,
        );
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return { id: manifest.dataset_id, parent_id: manifest.parent_id, task_type: manifest.task_type, manifest, dir };
  }

  /**
   * Writes a version, or one split, to `options.path` in a chosen format (openai_chat, openai_dpo,
   * jsonl, alpaca, sharegpt, trl_preference, csv). The path is taken as given: tools resolve user paths.
   */
  exportDataset(id: string, options: ExportOptions, signal?: AbortSignal): Promise<ExportResult> {
    return exportDataset(this, id, options, signal);
  }

  /** Validates a source file (in its own layout) or a prepared version, reporting every problem. */
  async validate(
    target: { path: string } | { dataset_id: string; split?: SplitName },
    options: { format?: SourceFormat; model?: string; method?: 'sft' | 'dpo'; labels?: string[]; epochs?: number; count_tokens?: boolean; scan_pii?: boolean },
    run: RunContext = {},
  ): Promise<ValidationResult> {
    const counter = options.model || options.count_tokens !== false ? await this.counter(options.model) : undefined;
    const openai = options.model !== undefined && openAiModel(options.model) !== undefined;
    const records = 'path' in target ? readSourceBatches(target.path, this.sourceOptions(run)) : this.asRecords(target.dataset_id, target.split, run.signal);
    const format = 'path' in target ? options.format : canonicalFormat(this.get(target.dataset_id).task_type);
    const withFile = 'path' in target && (await sourceFiles(target.path)).length > 1;
    const pii = options.scan_pii ? piiPatterns(PII_KINDS, this.settings.pii_patterns, this.settings.pii.regions) : undefined;
    const validation = { ...this.validationOptions({ format, counter, method: options.method, labels: options.labels, epochs: options.epochs, openai, signal: run.signal }), pii, withFile };
    return 'path' in target ? validateSource(target.path, this.sourceOptions(run), validation) : validateRecords(records, validation);
  }
}

/** The source layout whose normalisation leaves canonical rows of a task type unchanged. */
export function canonicalFormat(task: TaskType): SourceFormat {
  return task === 'binary_feedback' ? 'kto' : task;
}

function skippedRow(found: DatasetIssue, line: number): SkippedRow {
  return { line, code: found.code, message: found.field ? `${found.field}: ${found.message}` : found.message };
}

function unreadableRows(path: string, skipped: SkippedRow[], count: number): FinetuneError {
  const shown = skipped.slice(0, 5).map((s) => `line ${s.line} ${s.code}: ${s.message}`).join('; ');
  return new FinetuneError('DATASET_INVALID', count ? `${count} record(s) of '${path}' cannot be read as examples (${shown}${count > 5 ? '; …' : ''}).` : `'${path}' holds no examples.`, {
    recovery: 'Run validate_dataset on the path for every problem with its fix; or call prepare_dataset with on_invalid="skip" to import the readable rows and list the rest.',
    details: { file: path, line: skipped[0]?.line },
  });
}

/** The manifest fields a derived version (clean, split) takes from its parent, its governance records included. */
export function inheritedManifest(service: DatasetService, parent: DatasetRecord, id: string): Pick<DatasetManifest, 'dataset_id' | 'parent_id' | 'task_type' | 'name' | 'source' | 'governance'> {
  const governance = governanceOf(service, parent);
  return {
    dataset_id: id,
    parent_id: parent.id,
    task_type: parent.task_type,
    ...(parent.manifest.name ? { name: parent.manifest.name } : {}),
    source: parent.manifest.source,
    ...(governance.length ? { governance } : {}),
  };
}

export function tokenStats(tokenizer: string, tokens: CountColumn): TokenStats {
  const d = distribution(tokens.values());
  return { tokenizer, total: d.total, min: d.min, mean: d.mean, p50: d.p50, p90: d.p90, p95: d.p95, max: d.max, histogram: histogram(tokens.values()) };
}

function contextLength(dir: string): number | undefined {
  try {
    const config = readUserJson(join(dir, 'config.json'), 'model') as Record<string, unknown>;
    const n = config.max_position_embeddings ?? config.n_positions ?? config.max_seq_len;
    return typeof n === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
}

async function sha256OfSource(path: string): Promise<string> {
  const files = await sourceFiles(path);
  const hashes: string[] = [];
  for (const file of files) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    hashes.push(hash.digest('hex'));
  }
  return hashes.length === 1 ? hashes[0] : createHash('sha256').update(hashes.join('\n')).digest('hex');
}

/** Progress at most every 2% of the bytes, so a 1 GB file does not flood the client. */
function throttledProgress(run: RunContext): ((done: number, total: number) => void) | undefined {
  if (!run.progress) return undefined;
  let last = -1;
  return (done, total) => {
    const step = Math.floor((done / Math.max(total, 1)) * 50);
    if (step === last) return;
    last = step;
    run.progress!(done, total, `read ${Math.round(done / 1e6)} of ${Math.round(total / 1e6)} MB`);
  };
}

