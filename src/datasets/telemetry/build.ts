/**
 * Spans with feedback → candidate rows of all three kinds at once (SFT chats, DPO pairs, retrieval
 * triplets), so kind "auto" can count what each would give before choosing. Spans are reduced to
 * what the rows need as they stream in; their attributes are not kept.
 */
import type { TelemetrySpan } from '../../plugins/providers.js';
import { documentVerdicts, spanVerdict, type SpanVerdict } from './feedback.js';
import type { Feedback } from './options.js';
import { spanToRetrieval } from './retrieval.js';
import { spanToExchange, type ChatMessage } from './span-to-chat.js';

/** One span a row came from: its ids, the annotations that decided, and the part it plays in the row. */
interface RowSource {
  trace_id: string;
  span_id: string;
  annotation_ids: string[];
  role: 'example' | 'correction' | 'chosen' | 'rejected' | 'query';
  document_positions?: number[];
}

export interface BuiltRow {
  row: Record<string, unknown>;
  sources: RowSource[];
}

export interface Skip {
  ref: string;
  reason: string;
}

export type BuiltKind = 'sft' | 'dpo' | 'triplets';

interface TelemetryCollection {
  rows: Record<BuiltKind, BuiltRow[]>;
  /** Skips of every kind (unreadable spans), then those of one kind (an answer no annotation approved, for SFT). */
  skipped: { common: Skip[] } & Record<BuiltKind, Skip[]>;
  stats: {
    spans: number;
    llm_spans: number;
    retrieval_spans: number;
    /** Spans of other kinds (CHAIN, TOOL, AGENT…), which no kind of row is made from. */
    ignored_spans: Record<string, number>;
    verdicts: Record<SpanVerdict['verdict'] | 'corrected', number>;
  };
}

interface BuildOptions {
  feedback: Feedback;
  include_errors: boolean;
  max_pairs_per_input: number;
}

const LLM_OPERATIONS = new Set(['chat', 'text_completion', 'generate_content', 'completion']);

/** The OpenInference kind of a span: its own, `openinference.span.kind`, else read from OTel GenAI attributes. */
export function spanKind(span: TelemetrySpan): string {
  const own = String(span.attributes['openinference.span.kind'] ?? span.span_kind ?? '').toUpperCase();
  if (['LLM', 'RETRIEVER', 'RERANKER', 'CHAIN', 'TOOL', 'AGENT', 'EMBEDDING', 'GUARDRAIL', 'EVALUATOR'].includes(own)) return own;
  const op = span.attributes['gen_ai.operation.name'];
  if (typeof op === 'string' && LLM_OPERATIONS.has(op)) return 'LLM';
  if (op === 'execute_tool') return 'TOOL';
  if (op === 'embeddings') return 'EMBEDDING';
  if (op === 'invoke_agent' || op === 'create_agent') return 'AGENT';
  if (Object.keys(span.attributes).some((k) => k.startsWith('gen_ai.input.messages') || k.startsWith('gen_ai.prompt'))) return 'LLM';
  return own || 'UNKNOWN';
}

interface LlmCandidate {
  key: string;
  prompt: ChatMessage[];
  answer: ChatMessage[];
  verdict: SpanVerdict;
  span: { trace_id: string; span_id: string };
}

/** The input a DPO pair shares: roles, texts (trimmed), tool calls. */
function promptKey(prompt: ChatMessage[]): string {
  return JSON.stringify(prompt.map((m) => [m.role, m.content.trim(), m.name ?? null, m.tool_call_id ?? null, m.tool_calls?.map((c) => [c.function.name, c.function.arguments]) ?? null]));
}

const answerKey = (answer: ChatMessage[]) => JSON.stringify(answer.map((m) => [m.content.trim(), m.tool_calls?.map((c) => [c.function.name, c.function.arguments]) ?? null]));

/** Pairs i-th with i-th, cycling the shorter list, so every item is used once before any twice; at most `max` pairs. */
function zipPairs<A, B>(a: A[], b: B[], max: number): Array<[A, B]> {
  if (!a.length || !b.length) return [];
  const n = Math.min(Math.max(a.length, b.length), max);
  return Array.from({ length: n }, (_, i) => [a[i % a.length], b[i % b.length]]);
}

export class TelemetryCollector {
  private readonly llm: LlmCandidate[] = [];
  private readonly triplets: BuiltRow[] = [];
  private readonly skipped: TelemetryCollection['skipped'] = { common: [], sft: [], dpo: [], triplets: [] };
  private readonly stats: TelemetryCollection['stats'] = { spans: 0, llm_spans: 0, retrieval_spans: 0, ignored_spans: {}, verdicts: { approved: 0, rejected: 0, corrected: 0, unjudged: 0, conflicting: 0 } };

  constructor(private readonly options: BuildOptions) {}

  add(span: TelemetrySpan): void {
    this.stats.spans++;
    const kind = spanKind(span);
    if (kind !== 'LLM' && kind !== 'RETRIEVER' && kind !== 'RERANKER') {
      this.stats.ignored_spans[kind] = (this.stats.ignored_spans[kind] ?? 0) + 1;
      return;
    }
    const ref = span.span_id;
    if (kind === 'LLM') this.stats.llm_spans++;
    else this.stats.retrieval_spans++;
    if (span.status_code === 'ERROR' && !this.options.include_errors) {
      this.skipped.common.push({ ref, reason: `span status ERROR${span.status_message ? `: ${span.status_message}` : ''}` });
      return;
    }
    if (kind === 'LLM') this.addLlm(span);
    else this.addRetrieval(span, kind);
  }

  private addLlm(span: TelemetrySpan): void {
    const exchange = spanToExchange(span.attributes);
    if (!exchange.ok) {
      this.skipped.common.push({ ref: span.span_id, reason: exchange.reason });
      return;
    }
    const verdict = spanVerdict(span.annotations, this.options.feedback);
    this.stats.verdicts[verdict.correction ? 'corrected' : verdict.verdict]++;
    this.llm.push({ key: promptKey(exchange.input), prompt: exchange.input, answer: exchange.output, verdict, span: { trace_id: span.trace_id, span_id: span.span_id } });
  }

  private addRetrieval(span: TelemetrySpan, kind: string): void {
    const read = spanToRetrieval(span.attributes, kind);
    if (!read.ok) {
      this.skipped.common.push({ ref: span.span_id, reason: read.reason });
      return;
    }
    const positions = new Set(read.documents.map((d) => d.position));
    for (const a of span.annotations) {
      if (a.document_position !== undefined && !positions.has(a.document_position)) {
        this.skipped.common.push({ ref: a.id, reason: `annotation '${a.name}' names document ${a.document_position} of span ${span.span_id}, which has documents ${[...positions].join(', ')} (${read.prefix}N)` });
      }
    }
    const fb = this.options.feedback;
    const verdicts = documentVerdicts(span.annotations, fb);
    const positive: Array<{ text: string; position: number; ids: string[] }> = [];
    const negative: Array<{ text: string; position: number; ids: string[] }> = [];
    for (const doc of read.documents) {
      if (!doc.content.trim()) continue;
      const judged = verdicts.get(doc.position);
      let verdict = judged?.verdict;
      if (!judged && doc.score !== null) {
        if (fb.positive_min_score !== undefined && doc.score >= fb.positive_min_score) verdict = 'approved';
        else if (fb.negative_max_score !== undefined && doc.score <= fb.negative_max_score) verdict = 'rejected';
      }
      const item = { text: doc.content, position: doc.position, ids: judged?.annotation_ids ?? [] };
      if (verdict === 'approved') positive.push(item);
      else if (verdict === 'rejected') negative.push(item);
    }
    if (!positive.length || !negative.length) {
      this.skipped.triplets.push({ ref: span.span_id, reason: `${kind.toLowerCase()} span has ${positive.length} relevant and ${negative.length} irrelevant document(s); a triplet needs one of each (document annotations or positive_min_score / negative_max_score)` });
      return;
    }
    for (const [p, n] of zipPairs(positive, negative, this.options.max_pairs_per_input)) {
      this.triplets.push({
        row: { anchor: read.query, positive: p.text, negative: n.text },
        sources: [{ trace_id: span.trace_id, span_id: span.span_id, annotation_ids: [...p.ids, ...n.ids], role: 'query', document_positions: [p.position, n.position] }],
      });
    }
  }

  finish(): TelemetryCollection {
    return { rows: { sft: this.sft(), dpo: this.dpo(), triplets: this.triplets }, skipped: this.skipped, stats: this.stats };
  }

  private source(c: LlmCandidate, role: RowSource['role'], ids = c.verdict.annotation_ids): RowSource {
    return { ...c.span, annotation_ids: ids, role };
  }

  private sft(): BuiltRow[] {
    const fb = this.options.feedback;
    const includeUnjudged = fb.include_unjudged ?? (fb.annotation_name === undefined && fb.labels === undefined && fb.min_score === undefined);
    const rows: BuiltRow[] = [];
    for (const c of this.llm) {
      const { verdict, correction } = c.verdict;
      if (correction) rows.push({ row: { messages: [...c.prompt, { role: 'assistant', content: correction.text }] }, sources: [this.source(c, 'correction')] });
      else if (verdict === 'approved' || (verdict === 'unjudged' && includeUnjudged)) rows.push({ row: { messages: [...c.prompt, ...c.answer] }, sources: [this.source(c, 'example')] });
      else this.skipped.sft.push({ ref: c.span.span_id, reason: verdict === 'unjudged' ? `not approved: ${c.verdict.why}` : c.verdict.why });
    }
    return rows;
  }

  private dpo(): BuiltRow[] {
    const groups = new Map<string, LlmCandidate[]>();
    for (const c of this.llm) groups.set(c.key, [...(groups.get(c.key) ?? []), c]);
    const rows: BuiltRow[] = [];
    const max = this.options.max_pairs_per_input;
    for (const group of groups.values()) {
      const approved = group.filter((c) => c.verdict.verdict === 'approved');
      const rejected = group.filter((c) => c.verdict.verdict === 'rejected');
      const pairs: BuiltRow[] = [];
      // A correction first pairs with the answer it corrects: the most direct preference there is.
      for (const c of rejected.filter((r) => r.verdict.correction)) {
        const chosen = [{ role: 'assistant', content: c.verdict.correction!.text }];
        if (answerKey(chosen) === answerKey(c.answer)) continue;
        pairs.push({ row: { prompt: c.prompt, chosen, rejected: c.answer }, sources: [this.source(c, 'chosen'), this.source(c, 'rejected', [])] });
      }
      for (const [good, bad] of zipPairs(approved, rejected, max)) {
        if (pairs.length >= max) break;
        if (answerKey(good.answer) === answerKey(bad.answer)) continue;
        pairs.push({ row: { prompt: good.prompt, chosen: good.answer, rejected: bad.answer }, sources: [this.source(good, 'chosen'), this.source(bad, 'rejected')] });
      }
      rows.push(...pairs.slice(0, max));
      if (pairs.length) continue;
      for (const c of group) {
        const { verdict, why } = c.verdict;
        const reason =
          verdict === 'approved' ? 'approved, but no rejected answer to the same input' : verdict === 'rejected' ? 'rejected, but no approved answer (or correction) to the same input' : verdict === 'unjudged' ? `not judged: ${why}` : why;
        this.skipped.dpo.push({ ref: c.span.span_id, reason });
      }
    }
    return rows;
  }
}

/** Identical rows become one, with every source kept and the count of how many there were (counts of rows folded before add up). */
export function foldDuplicates(rows: Array<BuiltRow & { count?: number }>): { rows: Array<BuiltRow & { count: number }>; folded: number } {
  const byText = new Map<string, BuiltRow & { count: number }>();
  let total = 0;
  for (const r of rows) {
    const key = JSON.stringify(r.row);
    const count = r.count ?? 1;
    total += count;
    const seen = byText.get(key);
    if (seen) {
      seen.count += count;
      seen.sources.push(...r.sources);
    } else byText.set(key, { row: r.row, sources: [...r.sources], count });
  }
  const folded = [...byText.values()];
  return { rows: folded, folded: total - folded.length };
}

interface Thresholds {
  min_dpo_pairs: number;
  min_sft_examples: number;
  min_triplets: number;
}

/** Kind "auto": DPO when enough pairs, else SFT when enough approved examples, else triplets; undefined when none reaches its threshold. */
export function chooseKind(counts: Record<BuiltKind, number>, t: Thresholds): { kind: BuiltKind; reason: string } | { kind: undefined; reason: string } {
  const tally = `${counts.dpo} preference pair(s), ${counts.sft} SFT example(s), ${counts.triplets} triplet(s)`;
  if (counts.dpo >= t.min_dpo_pairs) return { kind: 'dpo', reason: `DPO: ${counts.dpo} preference pairs ≥ ${t.min_dpo_pairs} (datasets.extraction.min_dpo_pairs); found ${tally}.` };
  if (counts.sft >= t.min_sft_examples) {
    return { kind: 'sft', reason: `SFT: ${counts.sft} approved examples ≥ ${t.min_sft_examples} (datasets.extraction.min_sft_examples), and ${counts.dpo} pairs < ${t.min_dpo_pairs} for DPO; found ${tally}.` };
  }
  if (counts.triplets >= t.min_triplets) {
    return { kind: 'triplets', reason: `Embedding triplets: ${counts.triplets} ≥ ${t.min_triplets} (datasets.extraction.min_triplets); too few for DPO (${counts.dpo} < ${t.min_dpo_pairs} pairs) or SFT (${counts.sft} < ${t.min_sft_examples}).` };
  }
  return { kind: undefined, reason: `No kind has enough data: ${tally}; "auto" needs ${t.min_dpo_pairs} pairs, ${t.min_sft_examples} SFT examples or ${t.min_triplets} triplets (datasets.extraction).` };
}
