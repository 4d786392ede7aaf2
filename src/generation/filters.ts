/**
 * Quality filters over generated rows (docs/data-generation.md, "Quality filters"). Each filter marks
 * a row with a RowFlag for the reviewer; no row is dropped. One pass over the batch, one pass over the
 * existing rows and one over the evaluation rows (both streamed, never held), so 10k candidates against
 * 100k existing rows take seconds (bench/generation.ts).
 */
import { FinetuneError } from '../errors.js';
import { nearHash, normalizeForMatch } from '../datasets/fingerprint.js';
import { PII_KINDS, piiPatterns, redact, type PiiKind } from '../datasets/pii.js';
import { exampleTokens, textFields, type TextField } from '../datasets/row-text.js';
import type { TokenCounter } from '../datasets/tokenizers.js';
import type { CanonicalRow, ChatMessage, TaskType } from '../datasets/types.js';
import type { CandidateRow, RowFlag } from './types.js';

interface FilterSettings {
  /** `unsupported` below this share of the answer's content words found in its context (lexical support). */
  min_support: number;
  /** `near_duplicate` at or above this Jaccard similarity of two rows' word shingles. */
  near_duplicate_jaccard: number;
  /** Words a shingle holds (near duplicates). */
  shingle_words: number;
  /** `too_short` under this many characters of answer. */
  min_answer_chars: number;
  /** `too_long` over this many tokens a row; default: the counter's context limit (no counter or limit: not checked). */
  max_row_tokens?: number;
  /** Words an n-gram holds for evaluation leakage. */
  eval_ngram: number;
  /** `eval_leakage` when at least this share of one text's n-grams occur in the evaluation set. */
  eval_leakage_fraction: number;
  /** PII kinds scanned for (clean_dataset's scanner). */
  pii_kinds: PiiKind[];
  /** Judge calls in flight at once. */
  judge_concurrency: number;
}

/**
 * Defaults. 0.3 support: a faithful answer restates its passage, and in the tests here a right answer
 * shared 60–100% of its content words with its chunk, an invented one under 20%. 0.8 Jaccard on 5-word
 * shingles: a reworded sentence or two in a paragraph stays above it, a different answer to the same
 * question falls far below. 8-grams at 20%: one 8-word phrase in common is often a stock phrase, a
 * fifth of a text is a copy.
 */
export const DEFAULT_FILTER_SETTINGS: FilterSettings = {
  min_support: 0.3,
  near_duplicate_jaccard: 0.8,
  shingle_words: 5,
  min_answer_chars: 20,
  eval_ngram: 8,
  eval_leakage_fraction: 0.2,
  pii_kinds: [...PII_KINDS],
  judge_concurrency: 4,
};

export interface ReferencedRow {
  /** How a flag names the row: a review row id or `<dataset_id>:<line>`. */
  ref: string;
  row: CanonicalRow;
}

type Rows = AsyncIterable<ReferencedRow> | Iterable<ReferencedRow>;

export interface FilterContext {
  /** The target model's tokenizer: `too_long` needs it. */
  counter?: TokenCounter;
  /** Rows the batch must not repeat: the queue's other rows, the seed or parent dataset version. */
  existing?: Rows;
  /** The named evaluation set: rows that must not leak into training. */
  evaluation?: Rows;
  /** A faithfulness judge (`unfaithful`); its errors are not caught here: the caller reports them. */
  judge?: (q: { context: string; row: CanonicalRow }) => Promise<{ supported: boolean; reason: string }>;
  settings?: Partial<FilterSettings>;
}

/** The task type of a canonical row, read from its fields. */
export function taskOfRow(row: CanonicalRow): TaskType {
  if ('messages' in row) return 'chat';
  if ('anchor' in row) return 'negative' in row ? 'triplet' : 'pair';
  if ('sentence1' in row) return 'scored_pair';
  if ('chosen' in row) return 'preference';
  if ('completion' in row) return Array.isArray(row.completion) ? 'binary_feedback' : 'completion';
  if ('label' in row) return 'classification';
  return 'text';
}

function lastAssistant(messages: ChatMessage[], prefix: string): TextField[] {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'assistant') return [{ field: `${prefix}[${i}].content`, role: 'assistant', text: messages[i].content }];
  return [];
}

/** The texts that are the row's answer (checked for length); the first is the one its context must support. */
function answers(task: TaskType, row: CanonicalRow): TextField[] {
  switch (task) {
    case 'chat':
      return 'messages' in row ? lastAssistant(row.messages, 'messages') : [];
    case 'preference':
      return 'chosen' in row ? [...lastAssistant(row.chosen, 'chosen'), ...lastAssistant(row.rejected, 'rejected')] : [];
    case 'binary_feedback':
      return 'completion' in row && Array.isArray(row.completion) ? lastAssistant(row.completion, 'completion') : [];
    case 'triplet':
    case 'pair':
      return textFields(task, row).filter((f) => f.field !== 'anchor');
    default:
      return textFields(task, row).filter((f) => f.role !== 'user' || task === 'classification');
  }
}

/** Common English function words: they carry no support either way. */
const STOPWORDS = new Set(
  (
    'a an and are as at be been being but by can could did do does doing for from had has have having he her here hers him his how i if in into is it its ' +
    'just may me might more most must my no nor not of off on once only or other our ours out over own same she should so some such than that the their ' +
    'theirs them then there these they this those through to too under until up very was we were what when where which while who whom why will with would ' +
    'you your yours yes also any all each both few again further about above after before below between during against because am let get got'
  ).split(' '),
);

/** Words of a text as matching reads them: folded case, punctuation and width (normalizeForMatch). */
function wordsOf(text: string): string[] {
  const folded = normalizeForMatch(text);
  return folded ? folded.split(' ') : [];
}

/** A crude suffix fold so that "refunds"/"refunded"/"refund" meet; the same on both sides. */
function stem(word: string): string {
  const m = /^(.{3,}?)(?:ing|ed|es|s)$/.exec(word);
  return m ? m[1] : word;
}

function contentWords(text: string): Set<string> {
  const out = new Set<string>();
  for (const w of wordsOf(text)) if (!STOPWORDS.has(w) && (w.length > 2 || /\d/.test(w))) out.add(stem(w));
  return out;
}

/** Share of the answer's content words found in the context; undefined when the answer has none. */
export function lexicalSupport(answer: string, context: string): number | undefined {
  const a = contentWords(answer);
  if (!a.size) return undefined;
  const c = contentWords(context);
  let found = 0;
  for (const w of a) if (c.has(w)) found++;
  return found / a.size;
}

// FNV-1a over a word's UTF-16 units, then a murmur-style finaliser: a 32-bit hash a word.
function wordHash(word: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

function mix(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Hashes of a word sequence's n-grams (a text shorter than n is one gram of all its words), 32-bit. */
function gramHashes32(words: string[], n: number): Uint32Array {
  const hashes = words.map((w) => wordHash(w, 0));
  const count = words.length === 0 ? 0 : Math.max(1, words.length - n + 1);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    let h = Math.min(n, words.length);
    for (let j = i; j < Math.min(i + n, words.length); j++) h = mix(h, hashes[j]);
    out[i] = h;
  }
  return out;
}

/** The same with 53 bits (two independent 32-bit hashes), for set membership against a large evaluation set. */
function gramHashes53(words: string[], n: number): number[] {
  const a = gramHashes32(words, n);
  const second = words.map((w) => wordHash(w, 0x5bd1e995));
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) {
    let h = 7;
    for (let j = i; j < Math.min(i + n, words.length); j++) h = mix(h, second[j]);
    out.push(a[i] * 2 ** 21 + (h >>> 11));
  }
  return out;
}

/**
 * The texts compared for near duplicates and leakage: all but system messages, which one prompt
 * repeats on every row (and the evaluation set often shares).
 */
function matchFields(task: TaskType, row: CanonicalRow): TextField[] {
  return textFields(task, row).filter((f) => f.role !== 'system');
}

/** A row's shingles: 32-bit hashes of its words' n-grams (its texts, in order), unsorted, with repeats. */
function shingles(task: TaskType, row: CanonicalRow, n: number): Uint32Array {
  return gramHashes32(matchFields(task, row).flatMap((f) => wordsOf(f.text)), n);
}

/** Sorted, without repeats (in place). */
function shingleSet(raw: Uint32Array): Uint32Array {
  const set = raw.sort();
  let k = 0;
  for (let i = 0; i < set.length; i++) if (i === 0 || set[i] !== set[i - 1]) set[k++] = set[i];
  return set.subarray(0, k);
}

function jaccard(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let both = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      both++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  const union = a.length + b.length - both;
  return union ? both / union : 0;
}

/**
 * Near-duplicate search by prefix filtering (Chaudhuri et al. 2006; Bayardo et al. 2007): with shingles in
 * one global order (their hash), two sets of Jaccard ≥ t share at least one shingle among the first
 * |s| − ⌈t·|s|⌉ + 1 of each. Only batch rows are indexed, by their prefixes. A batch row probes with its
 * own prefix; an existing row probes with all its shingles (a superset of its prefix: no sort is needed
 * for the 100k rows that match nothing). Every candidate is verified exactly: nothing is missed, nothing estimated.
 */
class ShingleIndex {
  private readonly postings = new Map<number, number[]>();
  constructor(
    private readonly sets: Uint32Array[],
    private readonly t: number,
  ) {}

  private prefix(size: number): number {
    return Math.min(size, size - Math.ceil(this.t * size - 1e-9) + 1);
  }

  add(i: number): void {
    const s = this.sets[i];
    for (let k = 0; k < this.prefix(s.length); k++) {
      const list = this.postings.get(s[k]);
      if (list) list.push(i);
      else this.postings.set(s[k], [i]);
    }
  }

  /** Indexed rows with Jaccard ≥ t to a row: `set` sorted and unique (a batch row), or `raw` shingles (sorted only when something matches). */
  query(shingles: { set: Uint32Array } | { raw: Uint32Array }): Array<{ i: number; score: number }> {
    const sorted = 'set' in shingles ? shingles.set : shingleSet(shingles.raw);
    const probe = sorted.subarray(0, this.prefix(sorted.length));
    let candidates: Set<number> | undefined;
    for (const h of probe) {
      const list = this.postings.get(h);
      if (list) for (const i of list) (candidates ??= new Set()).add(i);
    }
    if (!candidates) return [];
    const s = sorted;
    const found: Array<{ i: number; score: number }> = [];
    for (const i of candidates) {
      const other = this.sets[i];
      // Length filter: |b| ≥ t·|a| both ways, or the Jaccard cannot reach t.
      if (other.length < this.t * s.length || s.length < this.t * other.length) continue;
      const score = jaccard(s, other);
      if (score >= this.t) found.push({ i, score });
    }
    return found;
  }
}

function hashKey(task: TaskType, row: CanonicalRow): string {
  const h = nearHash(textFields(task, row));
  return `${h.hi}:${h.lo}`;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

async function* rowsOf(rows: Rows): AsyncIterable<ReferencedRow> {
  yield* rows;
}

function checkSettings(s: FilterSettings): void {
  const bad = (field: keyof FilterSettings, why: string) => new FinetuneError('INVALID_INPUT', `Filter setting ${field} ${why}.`, { details: { field } });
  for (const f of ['min_support', 'near_duplicate_jaccard', 'eval_leakage_fraction'] as const) if (!(s[f] >= 0 && s[f] <= 1)) throw bad(f, `must be between 0 and 1, got ${s[f]}`);
  if (!(s.near_duplicate_jaccard > 0)) throw bad('near_duplicate_jaccard', 'must be above 0');
  for (const f of ['shingle_words', 'eval_ngram', 'judge_concurrency'] as const) if (!Number.isInteger(s[f]) || s[f] < 1) throw bad(f, `must be a whole number ≥ 1, got ${s[f]}`);
}

/**
 * Flags for each row, in the rows' order: a list (maybe empty) a row. Duplicates within the batch flag
 * the later row, naming the first as `#<index>`; against existing or evaluation rows, `other` is their ref.
 * One flag a code a row; an exact duplicate is not also reported as a near one.
 */
export async function flagRows(rows: CandidateRow[], ctx: FilterContext = {}): Promise<RowFlag[][]> {
  const s: FilterSettings = { ...DEFAULT_FILTER_SETTINGS, ...ctx.settings };
  checkSettings(s);
  const flags: RowFlag[][] = rows.map(() => []);
  const tasks = rows.map((r) => taskOfRow(r.row));
  const pii = piiPatterns(s.pii_kinds, []);
  const maxTokens = s.max_row_tokens ?? ctx.counter?.context_limit;

  rows.forEach((candidate, i) => {
    const task = tasks[i];
    const answer = answers(task, candidate.row);
    for (const a of answer) {
      const length = a.text.trim().length;
      if (length < s.min_answer_chars) {
        flags[i].push({ code: 'too_short', message: `${a.field} has ${length} characters (min ${s.min_answer_chars}).`, score: length });
        break;
      }
    }
    if (answer.length && candidate.context.trim()) {
      const support = lexicalSupport(answer[0].text, candidate.context);
      if (support !== undefined && support < s.min_support) {
        flags[i].push({ code: 'unsupported', message: `${answer[0].field} shares ${pct(support)} of its content words with its context (min ${pct(s.min_support)}).`, score: support });
      }
    }
    if (ctx.counter && maxTokens) {
      const tokens = exampleTokens(ctx.counter, task, candidate.row).total;
      if (tokens > maxTokens) flags[i].push({ code: 'too_long', message: `The row has ${tokens} tokens by ${ctx.counter.name} (max ${maxTokens}).`, score: tokens });
    }
    const found: string[] = [];
    let findings = 0;
    for (const f of textFields(task, candidate.row)) {
      const kinds = [...new Set(redact(f.text, pii).findings.map((x) => x.kind))];
      findings += kinds.length;
      if (kinds.length) found.push(`${kinds.join(', ')} in ${f.field}`);
    }
    if (found.length) flags[i].push({ code: 'pii', message: `Personal data found: ${found.join('; ')}.`, score: findings });
  });

  await duplicateFlags(rows, tasks, ctx, s, flags);
  if (ctx.evaluation) await leakageFlags(rows, tasks, ctx.evaluation, s, flags);
  if (ctx.judge) await judgeFlags(rows, ctx.judge, s.judge_concurrency, flags);
  return flags;
}

async function duplicateFlags(rows: CandidateRow[], tasks: TaskType[], ctx: FilterContext, s: FilterSettings, flags: RowFlag[][]): Promise<void> {
  const keys = rows.map((r, i) => hashKey(tasks[i], r.row));
  const sets = rows.map((r, i) => shingleSet(shingles(tasks[i], r.row, s.shingle_words)));
  const exact: Array<string | undefined> = rows.map(() => undefined);
  const near: Array<{ other: string; score: number } | undefined> = rows.map(() => undefined);
  const byKey = new Map<string, number[]>();
  keys.forEach((k, i) => byKey.set(k, [...(byKey.get(k) ?? []), i]));
  const index = new ShingleIndex(sets, s.near_duplicate_jaccard);
  // Existing rows first: a reviewer would rather know a row is already in the data than that it repeats a sibling.
  if (ctx.existing) {
    for (const i of sets.keys()) index.add(i);
    for await (const { ref, row } of rowsOf(ctx.existing)) {
      const task = taskOfRow(row);
      for (const i of byKey.get(hashKey(task, row)) ?? []) exact[i] ??= ref;
      for (const { i, score } of index.query({ raw: shingles(task, row, s.shingle_words) })) if (!near[i] || score > near[i]!.score) near[i] = { other: ref, score };
    }
  }
  const batch = new ShingleIndex(sets, s.near_duplicate_jaccard);
  rows.forEach((_, i) => {
    const first = byKey.get(keys[i])![0];
    if (first < i) exact[i] ??= `#${first}`;
    if (exact[i]) return;
    for (const { i: j, score } of batch.query({ set: sets[i] })) if (!near[i] || score > near[i]!.score) near[i] = { other: `#${j}`, score };
    batch.add(i);
  });
  rows.forEach((_, i) => {
    if (exact[i]) flags[i].push({ code: 'duplicate', message: `The same row (up to case, punctuation and spacing) as ${exact[i]}.`, other: exact[i], score: 1 });
    else if (near[i]) flags[i].push({ code: 'near_duplicate', message: `${pct(near[i]!.score)} of its ${s.shingle_words}-word shingles are shared with ${near[i]!.other} (Jaccard; flagged from ${pct(s.near_duplicate_jaccard)}).`, other: near[i]!.other, score: near[i]!.score });
  });
}

async function leakageFlags(rows: CandidateRow[], tasks: TaskType[], evaluation: Rows, s: FilterSettings, flags: RowFlag[][]): Promise<void> {
  // Every n-gram of the evaluation set, with the first row that has it.
  const refs: string[] = [];
  const grams = new Map<number, number>();
  for await (const { ref, row } of rowsOf(evaluation)) {
    const at = refs.push(ref) - 1;
    for (const f of matchFields(taskOfRow(row), row)) for (const g of gramHashes53(wordsOf(f.text), s.eval_ngram)) if (!grams.has(g)) grams.set(g, at);
  }
  if (!grams.size) return;
  rows.forEach((candidate, i) => {
    let worst: { field: string; share: number; shared: number; total: number; other: number } | undefined;
    for (const f of matchFields(tasks[i], candidate.row)) {
      const own = [...new Set(gramHashes53(wordsOf(f.text), s.eval_ngram))];
      if (!own.length) continue;
      const hits = new Map<number, number>();
      let shared = 0;
      for (const g of own) {
        const at = grams.get(g);
        if (at === undefined) continue;
        shared++;
        hits.set(at, (hits.get(at) ?? 0) + 1);
      }
      const share = shared / own.length;
      if (shared && share >= s.eval_leakage_fraction && (!worst || share > worst.share)) {
        const other = [...hits].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
        worst = { field: f.field, share, shared, total: own.length, other };
      }
    }
    if (worst) {
      flags[i].push({
        code: 'eval_leakage',
        message: `${worst.field} shares ${worst.shared} of its ${worst.total} ${s.eval_ngram}-word n-grams (${pct(worst.share)}) with the evaluation set, most with ${refs[worst.other]} (flagged from ${pct(s.eval_leakage_fraction)}).`,
        score: worst.share,
        other: refs[worst.other],
      });
    }
  });
}

async function judgeFlags(rows: CandidateRow[], judge: NonNullable<FilterContext['judge']>, concurrency: number, flags: RowFlag[][]): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < rows.length && !failed) {
      const i = next++;
      const { row, context } = rows[i];
      if (!context.trim()) continue;
      let verdict;
      try {
        verdict = await judge({ context, row });
      } catch (error) {
        // The first failure ends the pass: the other workers take no new row.
        failed = true;
        throw error;
      }
      if (!verdict.supported) flags[i].push({ code: 'unfaithful', message: `The judge finds the row not supported by its context: ${verdict.reason}` });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
}
