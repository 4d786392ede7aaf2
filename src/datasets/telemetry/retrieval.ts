/**
 * The query and documents of an OpenInference retriever or reranker span:
 * RETRIEVER: query in `input.value`, documents `retrieval.documents.N.document.{id,content,score}`;
 * RERANKER: `reranker.query`, documents `reranker.output_documents.N.document.*` (falling back to
 * `reranker.input_documents`). A document's position is its N, which is what document-level feedback
 * (`document_position`) refers to.
 */
import { groupByIndex, parseJsonAttribute, type FlatAttributes } from './attributes.js';

interface RetrievedDocument {
  position: number;
  id: string | null;
  content: string;
  score: number | null;
}

type RetrievalRead = { ok: true; query: string; documents: RetrievedDocument[]; prefix: string } | { ok: false; reason: string };

function documentsAt(attributes: FlatAttributes, prefix: string): RetrievedDocument[] {
  const out: RetrievedDocument[] = [];
  // groupByIndex keeps index order but drops the index itself; read it back from the keys.
  const indices = [...new Set(Object.keys(attributes).filter((k) => k.startsWith(prefix)).map((k) => Number(k.slice(prefix.length).split('.')[0])))].filter(Number.isInteger).sort((a, b) => a - b);
  const groups = groupByIndex(attributes, prefix);
  groups.forEach((fields, i) => {
    const content = fields.get('document.content');
    const score = fields.get('document.score');
    const id = fields.get('document.id');
    out.push({ position: indices[i], id: id === undefined || id === null ? null : String(id), content: typeof content === 'string' ? content : '', score: typeof score === 'number' ? score : typeof score === 'string' && score.trim() !== '' && Number.isFinite(Number(score)) ? Number(score) : null });
  });
  return out;
}

/** The query text of a retriever span: `input.value`, unwrapped when it is JSON ({query} / {input} / {question}). */
function retrieverQuery(attributes: FlatAttributes): string | undefined {
  const value = attributes['input.value'];
  if (typeof value !== 'string') return undefined;
  if (attributes['input.mime_type'] !== 'application/json') return value;
  const parsed = parseJsonAttribute(value);
  if (!parsed.ok) return undefined;
  if (typeof parsed.value === 'string') return parsed.value;
  const o = parsed.value as Record<string, unknown> | null;
  const q = o?.query ?? o?.input ?? o?.question ?? o?.query_str;
  return typeof q === 'string' ? q : undefined;
}

export function spanToRetrieval(attributes: FlatAttributes, kind: string): RetrievalRead {
  if (kind === 'RERANKER') {
    const query = attributes['reranker.query'];
    if (typeof query !== 'string' || !query.trim()) return { ok: false, reason: 'reranker span without reranker.query' };
    for (const prefix of ['reranker.output_documents.', 'reranker.input_documents.']) {
      const documents = documentsAt(attributes, prefix);
      if (documents.length) return { ok: true, query, documents, prefix };
    }
    return { ok: false, reason: 'reranker span without documents (reranker.output_documents.* or reranker.input_documents.*)' };
  }
  const query = retrieverQuery(attributes);
  if (!query?.trim()) return { ok: false, reason: 'retriever span without a query (input.value)' };
  const documents = documentsAt(attributes, 'retrieval.documents.');
  if (!documents.length) return { ok: false, reason: 'retriever span without documents (retrieval.documents.*)' };
  return { ok: true, query, documents, prefix: 'retrieval.documents.' };
}
