import type { CanonicalRow, ChatMessage, ChatRow, CompletionRow, TaskType } from '../datasets/types.js';
import { FinetuneError } from '../errors.js';
import { mulberry32 } from '../random.js';
import type { Services } from '../services.js';
import { chunkDocument, readDocument } from './documents.js';
import type { GeneratedItem } from './parse-answer.js';
import type { PromptSubject } from './prompts.js';
import type { DocumentChunk, GenerationKind, RowProvenance } from './types.js';

/**
 * What generation works through: one unit a document chunk or a seed row, each asked for the number
 * of rows `spreadCount` gives it (docs/data-generation.md, "Spreading count").
 */
export interface GenerationUnit {
  /** For the report, e.g. "refunds.md chunk 2 [120, 980)" or "ds_…:12". */
  ref: string;
  subject: PromptSubject;
  source: RowProvenance['source'];
  /** The text a row must be supported by: the chunk, or the seed's turns. */
  context: string;
  /** The canonical row of the j-th item generated for this unit. */
  row(item: GeneratedItem, j: number): CanonicalRow;
}

/** A unit that cannot be used (a seed row without an answer): reported as a failure, never skipped silently. */
interface UnusableUnit {
  ref: string;
  problem: string;
}

export interface PlannedUnit {
  unit: GenerationUnit | UnusableUnit;
  /** Rows asked of it. */
  n: number;
}

export const DOCUMENT_KINDS: readonly GenerationKind[] = ['qa', 'instructions', 'triplets'];

/**
 * Rows per unit: round-robin over the units in order while count ≥ units (so they differ by at most
 * one, the first ones getting the extra); with fewer rows than units, every (units / count)-th unit,
 * so a small count still samples the whole source rather than its first document.
 */
export function spreadCount(count: number, units: number): number[] {
  const per = new Array<number>(units).fill(0);
  for (let k = 0; k < count; k++) per[count >= units ? k % units : Math.floor((k * units) / count)]++;
  return per;
}

/** Chunks every document (in the order given) and asks each chunk for its share of `count`. */
export async function documentUnits(
  files: string[],
  options: { kind: GenerationKind; count: number; chunk_tokens: number; counter: (text: string) => number; seed: number },
): Promise<PlannedUnit[]> {
  const chunks: Array<DocumentChunk & { sha256: string }> = [];
  for (const file of files) {
    const doc = await readDocument(file);
    for (const chunk of chunkDocument(doc, { chunk_tokens: options.chunk_tokens, count: options.counter })) chunks.push({ ...chunk, sha256: doc.sha256 });
  }
  if (!chunks.length) throw new FinetuneError('INVALID_INPUT', `The documents hold no text to generate from (${files.length} file${files.length === 1 ? '' : 's'}).`, { details: { field: 'source.documents' } });
  if (options.kind === 'triplets' && chunks.length < 2) {
    throw new FinetuneError('INVALID_INPUT', 'triplets need at least two chunks (a negative is a passage of another chunk); the documents gave one.', {
      recovery: 'Add documents, or lower source.chunk_tokens so the text is cut into more chunks.',
      details: { field: 'source.chunk_tokens' },
    });
  }
  const per = spreadCount(options.count, chunks.length);
  return chunks.map((chunk, index) => ({ unit: chunkUnit(options.kind, chunk, index, chunks, options.seed), n: per[index] }));
}

function chunkUnit(kind: GenerationKind, chunk: DocumentChunk & { sha256: string }, index: number, all: DocumentChunk[], seed: number): GenerationUnit {
  const ask = (item: GeneratedItem, field: string): ChatRow => ({
    messages: [
      { role: 'user', content: item[field] },
      { role: 'assistant', content: item.answer },
    ],
  });
  return {
    ref: `${chunk.file} chunk ${chunk.index} [${chunk.span[0]}, ${chunk.span[1]})`,
    subject: { type: 'passage', file: chunk.file, heading_path: chunk.heading_path, text: chunk.text },
    source: { type: 'document', file: chunk.file, chunk: chunk.index, heading_path: chunk.heading_path, span: chunk.span, sha256: chunk.sha256 },
    context: chunk.text,
    row(item, j) {
      if (kind === 'qa') return ask(item, 'question');
      if (kind === 'instructions') return ask(item, 'instruction');
      return { anchor: item.query, positive: chunk.text, negative: negativeFor(index, j, all, seed).text };
    },
  };
}

/**
 * The negative of a triplet: another chunk of the same document when it has one (a hard negative:
 * same subject, different passage), else a chunk of another document; drawn by the seed, the chunk
 * and the row's place, so the same call picks the same passages.
 */
export function negativeFor(index: number, j: number, all: DocumentChunk[], seed: number): DocumentChunk {
  const same = all.filter((c, i) => i !== index && c.file === all[index].file);
  const pool = same.length ? same : all.filter((_, i) => i !== index);
  const draw = mulberry32((seed ^ Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b)) >>> 0)();
  return pool[Math.floor(draw * pool.length)];
}

/**
 * The seed rows to work from, each asked for its share of `count`: only the rows that get one are
 * kept in memory. paraphrase takes chat or completion seeds, preference_negatives chat seeds.
 */
export async function seedUnits(services: Services, datasetId: string, options: { kind: GenerationKind; count: number; signal?: AbortSignal }): Promise<{ planned: PlannedUnit[]; task_type: TaskType }> {
  const record = services.datasets.get(datasetId);
  const accepted: TaskType[] = options.kind === 'paraphrase' ? ['chat', 'completion'] : ['chat'];
  if (!accepted.includes(record.task_type)) {
    throw new FinetuneError('INVALID_INPUT', `${options.kind} works from ${accepted.join(' or ')} rows; ${datasetId} holds ${record.task_type} rows.`, {
      recovery: 'Pass a seed dataset of chat rows (prepare_dataset on a chat JSONL), or pick a kind for this task type.',
      details: { field: 'source.seed_dataset_id' },
    });
  }
  const total = record.manifest.counts.rows;
  if (!total) throw new FinetuneError('INVALID_INPUT', `Seed dataset ${datasetId} has no rows.`, { details: { field: 'source.seed_dataset_id' } });
  const per = spreadCount(options.count, total);
  const planned: PlannedUnit[] = [];
  let index = 0;
  for await (const { line, row } of services.datasets.rows(datasetId, undefined, options.signal)) {
    const n = per[index++] ?? 0;
    if (n) planned.push({ unit: seedUnit(options.kind, datasetId, line, row, record.task_type), n });
  }
  return { planned, task_type: options.kind === 'paraphrase' ? record.task_type : 'preference' };
}

function seedUnit(kind: GenerationKind, datasetId: string, line: number, row: CanonicalRow, task: TaskType): GenerationUnit | UnusableUnit {
  const ref = `${datasetId}:${line}`;
  const source = { type: 'seed' as const, dataset_id: datasetId, line };
  if (task === 'completion') {
    const { prompt, completion } = row as CompletionRow;
    return { ref, source, subject: { type: 'seed', conversation: [], request: prompt, answer: completion }, context: `${prompt}\n${completion}`, row: (item) => ({ prompt: item.request, completion }) };
  }
  const messages = (row as ChatRow).messages;
  const answerAt = messages.map((m) => m.role).lastIndexOf('assistant');
  const requestAt = messages.slice(0, Math.max(answerAt, 0)).map((m) => m.role).lastIndexOf('user');
  if (answerAt < 0 || requestAt < 0) return { ref, problem: answerAt < 0 ? 'the seed row has no assistant answer' : 'the seed row has no user turn before its last answer' };
  const answer = messages[answerAt];
  const subject: PromptSubject = { type: 'seed', conversation: messages.slice(0, requestAt).map(plain), request: messages[requestAt].content, answer: answer.content };
  const context = messages.slice(0, answerAt + 1).map((m) => m.content).join('\n');
  if (kind === 'paraphrase') {
    return { ref, source, subject, context, row: (item) => ({ ...(row as ChatRow), messages: messages.map((m, i) => (i === requestAt ? { ...m, content: item.request } : m)) }) };
  }
  return { ref, source, subject, context, row: (item) => ({ prompt: messages.slice(0, answerAt), chosen: [answer], rejected: [{ role: 'assistant', content: item.answer }] }) };
}

const plain = (m: ChatMessage) => ({ role: m.role, content: m.content });
