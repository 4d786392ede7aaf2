import { throwIfCancelled } from './cancel.js';
import { normalizeRecord, detectFormat } from './formats.js';
import { issue, type DatasetIssue } from './issues.js';
import { redact, type PiiPattern } from './pii.js';
import { exampleTokensAside, textFields, type TextField } from './row-text.js';
import type { SourceRecord } from './sources.js';
import { hashText, nearHash, nearHashOfMessages, type Hash64 } from './fingerprint.js';
import { CountColumn, distribution, HashTable, type Distribution } from './stats.js';
import type { TokenCounter } from './tokenizers.js';
import { FORMAT_TASK, type CanonicalRow, type ChatMessage, type ChatRow, type PreferenceRow, type SourceFormat, type TaskType } from './types.js';

export interface ValidateOptions {
  format?: SourceFormat;
  counter?: TokenCounter;
  /** Training method the data is for; sets the recommended minimum size. */
  method?: 'sft' | 'dpo';
  /** Whether the target is OpenAI's fine-tuning API (hard minimum of 10 examples). */
  openai?: boolean;
  /** Allowed labels for classification; others are `unknown_label` errors. */
  labels?: string[];
  epochs?: number;
  maxIssues: number;
  thresholds: ValidationThresholds;
  /** Report personal data found (kinds and fields, never values) as `pii_detected` warnings. */
  pii?: PiiPattern[];
  /** Name the file of each issue (the source is a folder). */
  withFile?: boolean;
  signal?: AbortSignal;
  /** About how many rows the source holds (estimateRows), to size the duplicate tables once. */
  expectedRows?: number;
  /** Where duplicates are looked up; parallel workers record the hashes instead (the main thread checks them in line order). */
  duplicates?: DuplicateCheck;
}

/** Finds a row's exact or near duplicate among earlier rows. */
export interface DuplicateCheck {
  check(line: number, exact: Hash64, near: Hash64): DatasetIssue | undefined;
}

/**
 * The duplicate checks of one pass in line order. Rows with the same bytes always share their near
 * hash, so one table keyed by the near hash finds both kinds: it gives the row's group, whose first
 * line and exact hash sit in columns written in order (a row costs one random probe). Rows that join
 * a group with other bytes are kept apart, so that a later copy of one of them is still reported as
 * an exact duplicate of it.
 */
export class LineOrderDuplicates implements DuplicateCheck {
  /** near hash → group number. */
  private readonly groups: HashTable;
  private readonly firstLine: CountColumn;
  private readonly firstExactHi: CountColumn;
  private readonly firstExactLo: CountColumn;
  /** exact hash → line, for the rows that joined a group with other bytes than its first. */
  private readonly members = new HashTable(3);

  /** `expectedRows`: an estimate of the rows to come, to size the tables once. */
  constructor(expectedRows = 0) {
    this.groups = new HashTable(3, expectedRows);
    this.firstLine = new CountColumn(expectedRows);
    this.firstExactHi = new CountColumn(expectedRows);
    this.firstExactLo = new CountColumn(expectedRows);
  }

  check(line: number, exact: Hash64, near: Hash64): DatasetIssue | undefined {
    return this.checkWords(line, exact.hi, exact.lo, near.hi, near.lo);
  }

  /** Loads the table slots of a batch of rows ahead of checkWords (see HashTable.warm); `hashes`: exact hi, lo, near hi, lo a row. */
  warm(hashes: Uint32Array, count: number): void {
    this.groups.warm(hashes, 3, 4, count);
  }

  /** check() for hashes as two 32-bit words each (parallel workers send them so). */
  checkWords(line: number, exactHi: number, exactLo: number, nearHi: number, nearLo: number): DatasetIssue | undefined {
    const groups = this.groups;
    const at = groups.slot(nearHi, nearLo);
    if (groups.added) {
      groups.words[at + 2] = this.firstLine.length;
      this.firstLine.push(line);
      this.firstExactHi.push(exactHi);
      this.firstExactLo.push(exactLo);
      return undefined;
    }
    const group = groups.words[at + 2];
    const first = this.firstLine.at(group);
    if (this.firstExactHi.at(group) === exactHi && this.firstExactLo.at(group) === exactLo) return exactDuplicate(line, first);
    const members = this.members;
    const memberAt = members.slot(exactHi, exactLo);
    if (!members.added) return exactDuplicate(line, members.words[memberAt + 2]);
    members.words[memberAt + 2] = line;
    return nearDuplicate(line, first);
  }
}

function exactDuplicate(line: number, first: number): DatasetIssue {
  return issue(line, 'warning', 'duplicate_exact', '', `Exact duplicate of line ${first}.`, 'Remove the repeat (clean_dataset removes duplicates).');
}

function nearDuplicate(line: number, first: number): DatasetIssue {
  return issue(line, 'warning', 'duplicate_normalized', '', `Same as line ${first} up to case, punctuation and whitespace.`, 'Remove the near-duplicate (clean_dataset removes them).');
}

export interface ValidationThresholds {
  /** A label with fewer examples than max(min_label_examples, rare_label_fraction × rows) is rare. */
  rare_label_fraction: number;
  min_label_examples: number;
  /** Most-common / least-common label count above which the classes are imbalanced. */
  imbalance_ratio: number;
  min_examples_openai: number;
  min_examples_sft: number;
  min_examples_dpo: number;
}

export interface ValidationSummary {
  format: SourceFormat | null;
  task_type: TaskType | null;
  records: number;
  valid_rows: number;
  rows_with_errors: number;
  errors: number;
  warnings: number;
  by_code: Record<string, number>;
  issues_truncated: boolean;
  labels?: Record<string, number>;
  tokens?: {
    tokenizer: string;
    context_limit: number | null;
    per_example: Distribution;
    by_role: Record<string, Distribution>;
    over_limit: number;
    billable_tokens_per_epoch: number;
    epochs: number;
    estimated_billable_tokens: number;
  };
}

export interface ValidationResult {
  issues: DatasetIssue[];
  summary: ValidationSummary;
}

/** Each row validated, in order, handed to `onRow` (prepare and clean build on the same pass). */
export interface ValidatedRow {
  line: number;
  row?: CanonicalRow;
  issues: DatasetIssue[];
  tokens?: number;
}

const PLACEHOLDER = /\{\{\s*[A-Za-z_][\w.]*\s*\}\}/;
/** Special tokens of common chat templates; a model's own list is added when its tokenizer is known. */
const COMMON_SPECIAL = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|begin_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>', '<|end_of_text|>'];

/**
 * Streams records through every check and returns every problem (capped at maxIssues in the list,
 * never in the counts) with a summary. Memory: two 64-bit hashes and a token count per row.
 */
export async function validateRecords(source: AsyncIterable<SourceRecord | SourceRecord[]>, options: ValidateOptions, onRow?: (v: ValidatedRow) => void | Promise<void>): Promise<ValidationResult> {
  const issues: DatasetIssue[] = [];
  const byCode: Record<string, number> = {};
  let errors = 0;
  let warnings = 0;
  let truncated = false;
  const add = (found: DatasetIssue) => {
    byCode[found.code] = (byCode[found.code] ?? 0) + 1;
    if (found.severity === 'error') errors++;
    else warnings++;
    if (issues.length < options.maxIssues) issues.push(found);
    else truncated = true;
  };

  let format = options.format;
  let records = 0;
  let validRows = 0;
  let rowsWithErrors = 0;
  const duplicates = options.duplicates ?? new LineOrderDuplicates(options.expectedRows);
  const labels = new Map<string, number>();
  const perExample = new CountColumn(options.expectedRows);
  const byRole = new Map<string, CountColumn>();
  const counter = options.counter;
  const special = specialScan([...new Set([...COMMON_SPECIAL, ...(counter?.special_tokens ?? [])])]);
  let overLimit = 0;

  for await (const item of source) {
    for (const record of Array.isArray(item) ? item : [item]) {
      throwIfCancelled(options.signal);
      records++;
      const rowIssues: DatasetIssue[] = [];
      let row: CanonicalRow | undefined;
      let tokens: number | undefined;
      if (record.issue) rowIssues.push(record.issue);
      else {
        format ??= detectFormat(record.value);
        if (!format) {
          rowIssues.push(issue(record.line, 'error', 'unknown_format', '', 'Record matches no known dataset layout (messages, conversations, instruction/output, prompt/completion, prompt/chosen/rejected, text/label, anchor/positive/negative, text).', 'Rename its fields to one of the layouts, or pass `format`.'));
        } else {
          const normalized = normalizeRecord(format, record.value, record.line);
          rowIssues.push(...normalized.issues);
          row = normalized.row;
        }
      }
      if (row && format) {
        const task = FORMAT_TASK[format];
        rowIssues.push(...rowChecks(task, row, record.line, special, duplicates, record.fingerprint));
        if (task === 'classification') {
          const label = (row as { label: string }).label;
          labels.set(label, (labels.get(label) ?? 0) + 1);
          if (options.labels && !options.labels.includes(label)) {
            rowIssues.push(issue(record.line, 'error', 'unknown_label', 'label', `Label '${label}' is not one of ${options.labels.join(', ')}.`, 'Fix the label or add it to `labels`.'));
          }
        } else if (task === 'binary_feedback') {
          const label = String((row as { label: boolean }).label);
          labels.set(label, (labels.get(label) ?? 0) + 1);
        }
        if (counter) {
          const counted = await exampleTokensAside(counter, task, row);
          tokens = counted.total;
          perExample.push(counted.total);
          for (const [role, n] of Object.entries(counted.by_role)) {
            let column = byRole.get(role);
            if (!column) byRole.set(role, (column = new CountColumn(options.expectedRows)));
            column.push(n);
          }
          if (counter.context_limit && counted.total > counter.context_limit) {
            overLimit++;
            rowIssues.push(issue(record.line, 'warning', 'over_token_limit', '', `Example is ${counted.total} tokens (${counter.name}), over the ${counter.context_limit}-token limit; it would be truncated.`, 'Shorten or split the example, or choose a model with a longer context.'));
          }
        }
      }
      if (row && format && options.pii?.length) rowIssues.push(...piiIssues(FORMAT_TASK[format], row, record.line, options.pii));
      if (options.withFile) for (const found of rowIssues) found.file = record.file;
      for (const found of rowIssues) add(found);
      const hasError = rowIssues.some((i) => i.severity === 'error');
      if (hasError) rowsWithErrors++;
      if (row && !hasError) validRows++;
      await onRow?.({ line: record.line, row, issues: rowIssues, tokens });
    }
  }

  const task = format ? FORMAT_TASK[format] : null;
  for (const found of datasetChecks(records, validRows, task, labels, options)) add(found);
  const summary: ValidationSummary = {
    format: format ?? null,
    task_type: task,
    records,
    valid_rows: validRows,
    rows_with_errors: rowsWithErrors,
    errors,
    warnings,
    by_code: byCode,
    issues_truncated: truncated,
  };
  if (labels.size) summary.labels = Object.fromEntries([...labels].sort((a, b) => b[1] - a[1]));
  if (counter) summary.tokens = tokenSummary(counter, perExample, byRole, overLimit, options.epochs);
  return { issues, summary };
}

function rowChecks(task: TaskType, row: CanonicalRow, line: number, special: SpecialScan, duplicates: DuplicateCheck, fingerprint?: Hash64): DatasetIssue[] {
  const found: DatasetIssue[] = [];
  // Chat rows (the common case) are scanned straight from their messages: no field list, and field
  // names are only built for an issue.
  const messages = task === 'chat' ? (row as ChatRow).messages : undefined;
  const fields = messages ? undefined : textFields(task, row);
  // Identical source lines are identical rows; other sources compare their canonical JSON.
  const duplicate = duplicates.check(line, fingerprint ?? hashText(JSON.stringify(row)), messages ? nearHashOfMessages(messages) : nearHash(fields!));
  if (duplicate) found.push(duplicate);
  if (task === 'preference') {
    const r = row as PreferenceRow;
    if (JSON.stringify(r.chosen) === JSON.stringify(r.rejected)) {
      found.push(issue(line, 'error', 'chosen_equals_rejected', 'rejected', 'chosen and rejected are identical, so the pair teaches nothing.', 'Give a worse rejected answer, or drop the pair.'));
    }
  }
  const count = messages ? messages.length : fields!.length;
  for (let i = 0; i < count; i++) {
    const text = messages ? messages[i].content : fields![i].text;
    const placeholder = text.includes('{{') ? PLACEHOLDER.exec(text) : null;
    if (placeholder) {
      found.push(issue(line, 'warning', 'unresolved_placeholder', fieldName(messages, fields, i), `Text holds the template placeholder ${placeholder[0]}.`, 'Fill in the placeholder before training (the model would learn it literally).'));
    }
    const token = special.lead === undefined || text.includes(special.lead) ? special.pattern.exec(text)?.[0] : undefined;
    const separator = token && task === 'text' ? documentSeparatorIn(text) : undefined;
    if (separator) found.push(separatorIssue(line, text, separator));
    else if (token) {
      found.push(issue(line, 'error', 'forbidden_special_token', fieldName(messages, fields, i), `Text holds the special token ${token}.`, 'Remove special tokens from content; the chat template adds them.'));
    }
  }
  return found;
}

/** Tokens that end a document in pre-training text (GPT-2/TinyStories, Llama 3, Llama 2, Gemma). */
const DOCUMENT_ENDS = ['<|endoftext|>', '<|end_of_text|>', '</s>', '<eos>'];

/** The end-of-document token a text holds, if any: several documents joined into one. */
export function documentSeparatorIn(text: string): string | undefined {
  return DOCUMENT_ENDS.find((t) => text.includes(t));
}

function separatorIssue(line: number, text: string, separator: string): DatasetIssue {
  const documents = text.split(separator).filter((part) => part.trim()).length;
  return issue(
    line,
    'error',
    'document_separator_in_text',
    'text',
    `Text holds ${separator} ${text.split(separator).length - 1} time(s): about ${documents} documents read as one row.`,
    `Import the file again with text_separator ${JSON.stringify(separator)} (prepare_dataset, or the datasets.text_separator setting), so that each document is one row.`,
  );
}

interface SpecialScan {
  /** One alternation of literals: a single scan of each text instead of one per token. */
  pattern: RegExp;
  /** The first character every token shares ("<" for the common ones), if any: texts without it need no regex. */
  lead?: string;
}

function specialScan(tokens: string[]): SpecialScan {
  const pattern = new RegExp(tokens.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));
  const leads = new Set(tokens.map((t) => t.charAt(0)));
  const [lead] = leads;
  return { pattern, lead: leads.size === 1 && lead ? lead : undefined };
}

/** The JSON path textFields gives the i-th text of a row. */
function fieldName(messages: ChatMessage[] | undefined, fields: TextField[] | undefined, i: number): string {
  return messages ? `messages[${i}].content` : fields![i].field;
}

function piiIssues(task: TaskType, row: CanonicalRow, line: number, patterns: PiiPattern[]): DatasetIssue[] {
  const found: DatasetIssue[] = [];
  for (const f of textFields(task, row)) {
    const kinds = [...new Set(redact(f.text, patterns).findings.map((x) => x.kind))];
    if (kinds.length) {
      found.push(issue(line, 'warning', 'pii_detected', f.field, `Text holds personal data: ${kinds.join(', ')}.`, 'Remove it, or call clean_dataset with redact_pii=true (it records the legal basis).'));
    }
  }
  return found;
}

export function datasetChecks(records: number, validRows: number, task: TaskType | null, labels: Map<string, number>, options: ValidateOptions): DatasetIssue[] {
  const t = options.thresholds;
  const found: DatasetIssue[] = [];
  if (records === 0) found.push(issue(1, 'error', 'empty_dataset', '', 'The source holds no examples.', 'Point at the file with the examples.'));
  else if (validRows === 0) return found;
  else if (options.openai && validRows < t.min_examples_openai) {
    found.push(issue(0, 'error', 'too_few_examples', '', `${validRows} valid examples; OpenAI fine-tuning needs at least ${t.min_examples_openai}.`, 'Add examples.'));
  } else {
    const method = task === 'binary_feedback' ? 'kto' : (options.method ?? (task === 'preference' ? 'dpo' : 'sft'));
    const minimum = method === 'sft' ? t.min_examples_sft : t.min_examples_dpo;
    if (validRows < minimum) found.push(issue(0, 'warning', 'too_few_examples', '', `${validRows} valid examples; at least ${minimum} are recommended for ${method.toUpperCase()}.`, 'Add examples for a reliable fine-tune.'));
  }
  if (task === 'binary_feedback' && labels.size === 1) {
    const [only] = labels.keys();
    found.push(issue(0, 'warning', 'feedback_one_sided', 'label', `Every answer is labelled ${only}; KTO learns from desirable and undesirable answers together.`, `Add answers labelled ${only === 'true' ? 'false' : 'true'}${only === 'true' ? ', or train the answers with SFT as chat rows' : ''}.`));
  }
  if (task === 'classification' && labels.size) {
    const total = [...labels.values()].reduce((a, b) => a + b, 0);
    const rareBelow = Math.max(t.min_label_examples, Math.ceil(t.rare_label_fraction * total));
    for (const [label, n] of labels) {
      if (n < rareBelow) found.push(issue(0, 'warning', 'rare_label', 'label', `Label '${label}' has only ${n} example(s) (under ${rareBelow}).`, 'Add examples of this label, merge it into another, or drop it.'));
    }
    const counts = [...labels.values()];
    const ratio = Math.max(...counts) / Math.min(...counts);
    if (labels.size > 1 && ratio > t.imbalance_ratio) {
      found.push(issue(0, 'warning', 'class_imbalance', 'label', `Classes are imbalanced: the largest has ${ratio.toFixed(1)}× the examples of the smallest.`, 'Collect more of the small classes or down-sample the large ones; split with stratify_by="label".'));
    }
  }
  return found;
}

/** OpenAI's default epochs for a dataset size (the data-prep notebook's rule). */
export function defaultEpochs(examples: number): number {
  if (examples === 0) return 0;
  if (examples * 3 < 100) return Math.min(25, Math.floor(100 / examples));
  if (examples * 3 > 25_000) return Math.max(1, Math.floor(25_000 / examples));
  return 3;
}

function tokenSummary(counter: TokenCounter, perExample: CountColumn, byRole: Map<string, CountColumn>, overLimit: number, epochs?: number): NonNullable<ValidationSummary['tokens']> {
  const values = perExample.values();
  const limit = counter.context_limit;
  let billable = 0;
  for (const v of values) billable += limit ? Math.min(limit, v) : v;
  const n = epochs ?? defaultEpochs(values.length);
  return {
    tokenizer: counter.name,
    context_limit: limit ?? null,
    // The columns are not used after this summary (billable is summed above), so they sort in place.
    per_example: distribution(values, true),
    by_role: Object.fromEntries([...byRole].map(([role, column]) => [role, distribution(column.values(), true)])),
    over_limit: overLimit,
    billable_tokens_per_epoch: billable,
    epochs: n,
    estimated_billable_tokens: billable * n,
  };
}
