/**
 * What the annotations on a span say about its answer (approved, rejected, corrected, unjudged),
 * and on each document of a retrieval (relevant or not). The rules, in docs/datasets.md:
 * a label approves or rejects by the label lists; a score counts only against `min_score`; one
 * annotation with both must pass both; where several annotator kinds judged, HUMAN wins over CODE
 * over LLM; disagreeing annotations of the winning kind make the span "conflicting" (left out).
 */
import type { TelemetryAnnotation } from '../../plugins/providers.js';
import type { Feedback } from './options.js';

const DEFAULT_APPROVE_LABELS = ['correct', 'good', 'approved', 'accepted', 'positive', 'thumbs_up', 'helpful', 'pass', 'yes', 'relevant', 'factual'];
const DEFAULT_REJECT_LABELS = ['incorrect', 'bad', 'rejected', 'negative', 'thumbs_down', 'unhelpful', 'fail', 'no', 'wrong', 'irrelevant', 'unrelated', 'hallucinated'];
const PRECEDENCE = ['HUMAN', 'CODE', 'LLM'];

type Judgement = 'approved' | 'rejected';

export interface SpanVerdict {
  verdict: 'approved' | 'rejected' | 'unjudged' | 'conflicting';
  /** The annotations the verdict rests on. */
  annotation_ids: string[];
  /** A human correction of a rejected answer: the corrected text and its annotation. */
  correction?: { text: string; annotation_id: string };
  /** Why, in words (for skip reasons). */
  why: string;
}

const norm = (label: string) => label.trim().toLowerCase().replace(/[\s-]+/g, '_');

/** One annotation's judgement, or undefined when it says nothing this feedback understands. */
function judge(a: TelemetryAnnotation, fb: Feedback, scoreThreshold = fb.min_score): Judgement | undefined {
  let byLabel: Judgement | undefined;
  if (a.label !== null && a.label !== '') {
    const label = norm(a.label);
    const approve = (fb.labels ?? DEFAULT_APPROVE_LABELS).map(norm);
    const reject = (fb.reject_labels ?? DEFAULT_REJECT_LABELS).map(norm);
    if (approve.includes(label)) byLabel = 'approved';
    else if (reject.includes(label) || (fb.labels && fb.annotation_name)) byLabel = 'rejected';
  }
  const byScore: Judgement | undefined = scoreThreshold !== undefined && typeof a.score === 'number' ? (a.score >= scoreThreshold ? 'approved' : 'rejected') : undefined;
  if (byLabel === 'rejected' || byScore === 'rejected') return 'rejected';
  return byLabel ?? byScore;
}

const describe = (a: TelemetryAnnotation) => `${a.name}=${a.label ?? a.score ?? '∅'} (${a.annotator_kind})`;

/** The corrected answer an annotation carries: its explanation, else metadata.correction / corrected_output / text. */
function correctionText(a: TelemetryAnnotation): string | undefined {
  for (const value of [a.explanation, a.metadata.correction, a.metadata.corrected_output, a.metadata.text]) if (typeof value === 'string' && value.trim()) return value;
  return undefined;
}

/** Groups judged annotations by annotator kind and returns the verdict of the most trusted kind. */
function decide<T extends TelemetryAnnotation>(judged: Array<{ a: T; j: Judgement }>): { verdict: Judgement | 'conflicting' | 'unjudged'; used: Array<{ a: T; j: Judgement }> } {
  const kinds = [...PRECEDENCE, ...new Set(judged.map((x) => x.a.annotator_kind).filter((k) => !PRECEDENCE.includes(k)))];
  for (const kind of kinds) {
    const mine = judged.filter((x) => x.a.annotator_kind === kind);
    if (!mine.length) continue;
    const set = new Set(mine.map((x) => x.j));
    return { verdict: set.size > 1 ? 'conflicting' : mine[0].j, used: mine };
  }
  return { verdict: 'unjudged', used: [] };
}

const byKind = (fb: Feedback) => (a: TelemetryAnnotation) => !fb.annotator_kinds || (fb.annotator_kinds as string[]).includes(a.annotator_kind);

export function spanVerdict(annotations: TelemetryAnnotation[], fb: Feedback): SpanVerdict {
  const considered = annotations.filter((a) => a.document_position === undefined).filter(byKind(fb));
  const correction = considered.find((a) => a.name === fb.correction_name && correctionText(a) !== undefined);
  if (correction) return { verdict: 'rejected', annotation_ids: [correction.id], correction: { text: correctionText(correction)!, annotation_id: correction.id }, why: `corrected by annotation ${correction.id}` };
  const named = considered.filter((a) => a.name !== fb.correction_name && (!fb.annotation_name || a.name === fb.annotation_name));
  const judged = named.flatMap((a) => {
    const j = judge(a, fb);
    return j ? [{ a, j }] : [];
  });
  const { verdict, used } = decide(judged);
  if (verdict === 'unjudged') {
    const why = fb.annotation_name ? (named.length ? `'${fb.annotation_name}' annotation does not judge it (${named.map(describe).join(', ')})` : `no '${fb.annotation_name}' annotation`) : named.length ? `no annotation approves or rejects it (${named.map(describe).join(', ')})` : 'no annotation';
    return { verdict, annotation_ids: [], why };
  }
  const why = `${verdict === 'conflicting' ? 'conflicting annotations' : `${verdict} by`} ${used.map((x) => describe(x.a)).join(', ')}`;
  return { verdict, annotation_ids: used.map((x) => x.a.id), why };
}

/** Relevance of each judged document position of a retrieval, from document-level annotations (default threshold 0.5 on scores). */
export function documentVerdicts(annotations: TelemetryAnnotation[], fb: Feedback): Map<number, { verdict: Judgement | 'conflicting'; annotation_ids: string[] }> {
  const byPosition = new Map<number, Array<{ a: TelemetryAnnotation; j: Judgement }>>();
  for (const a of annotations.filter(byKind(fb))) {
    if (a.document_position === undefined || (fb.relevance_name && a.name !== fb.relevance_name)) continue;
    const j = judge(a, { ...fb, annotation_name: undefined }, fb.min_score ?? 0.5);
    if (!j) continue;
    byPosition.set(a.document_position, [...(byPosition.get(a.document_position) ?? []), { a, j }]);
  }
  const out = new Map<number, { verdict: Judgement | 'conflicting'; annotation_ids: string[] }>();
  for (const [position, judged] of byPosition) {
    const { verdict, used } = decide(judged);
    if (verdict !== 'unjudged') out.set(position, { verdict, annotation_ids: used.map((x) => x.a.id) });
  }
  return out;
}
