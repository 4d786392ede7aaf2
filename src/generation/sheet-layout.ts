import type { BinaryFeedbackRow, CanonicalRow, ChatMessage, ChatRow, PreferenceRow, TaskType } from '../datasets/types.js';
import type { ReviewRow } from './types.js';

/**
 * How a review row reads in a spreadsheet: its fields as plain text columns (question / answer for a
 * chat), so a reviewer reads and edits text, not JSON. A row the columns cannot hold without loss
 * (tool calls, weights, a conversation that does not end user → assistant) goes whole into `row_json`.
 */
interface SheetLayout {
  /** The text columns of this task type, in order; `row_json` follows them. */
  columns: readonly string[];
  /** The cells of a row, or undefined when the columns cannot hold it. */
  flatten(row: CanonicalRow): Record<string, string> | undefined;
  /** The row the cells describe (checked afterwards by the dataset validator). */
  build(cells: Record<string, string>): unknown;
}

const plain = (m: ChatMessage) => Object.keys(m).every((k) => k === 'role' || k === 'content');
const msg = (role: ChatMessage['role'], content: string): ChatMessage => ({ role, content });

/** [system?, …earlier turns, user, assistant] as cells; undefined for any other shape (an empty system message would be lost too). */
function chatCells(messages: ChatMessage[]): Record<string, string> | undefined {
  if (!messages.every(plain)) return undefined;
  const hasSystem = messages[0]?.role === 'system';
  if (hasSystem && !messages[0].content) return undefined;
  const rest = messages.slice(hasSystem ? 1 : 0);
  if (rest.length < 2) return undefined;
  const [user, assistant] = rest.slice(-2);
  const earlier = rest.slice(0, -2);
  if (user.role !== 'user' || assistant.role !== 'assistant' || earlier.some((m) => m.role === 'system')) return undefined;
  return { system: hasSystem ? messages[0].content : '', question: user.content, answer: assistant.content, earlier_turns: earlier.length ? JSON.stringify(earlier) : '' };
}

function chatMessages(cells: Record<string, string>): ChatMessage[] {
  const earlier = cells.earlier_turns?.trim() ? (JSON.parse(cells.earlier_turns) as ChatMessage[]) : [];
  return [...(cells.system ? [msg('system', cells.system)] : []), ...earlier, msg('user', cells.question ?? ''), msg('assistant', cells.answer ?? '')];
}

/** A prompt of [system?, user] as cells. */
function promptCells(prompt: ChatMessage[]): { system: string; prompt: string } | undefined {
  const hasSystem = prompt[0]?.role === 'system';
  const user = prompt[prompt.length - 1];
  if (!prompt.every(plain) || prompt.length !== (hasSystem ? 2 : 1) || user.role !== 'user' || (hasSystem && !prompt[0].content)) return undefined;
  return { system: hasSystem ? prompt[0].content : '', prompt: user.content };
}

function answerCell(answer: ChatMessage[]): string | undefined {
  return answer.length === 1 && answer[0].role === 'assistant' && plain(answer[0]) ? answer[0].content : undefined;
}

const promptOf = (cells: Record<string, string>) => [...(cells.system ? [msg('system', cells.system)] : []), msg('user', cells.prompt ?? '')];

/** Text fields of flat row types, copied as they are. */
function flat(columns: readonly string[]): SheetLayout {
  return {
    columns,
    flatten: (row) => Object.fromEntries(columns.map((c) => [c, String((row as unknown as Record<string, unknown>)[c] ?? '')])),
    build: (cells) => Object.fromEntries(columns.map((c) => [c, cells[c] ?? ''])),
  };
}

export const SHEET_LAYOUTS: Record<TaskType, SheetLayout> = {
  chat: {
    columns: ['system', 'question', 'answer', 'earlier_turns'],
    flatten: (row) => ((row as ChatRow).tools?.length ? undefined : chatCells((row as ChatRow).messages)),
    build: (cells) => ({ messages: chatMessages(cells) }),
  },
  preference: {
    columns: ['system', 'prompt', 'chosen', 'rejected'],
    flatten(row) {
      const r = row as PreferenceRow;
      const prompt = promptCells(r.prompt);
      const chosen = answerCell(r.chosen);
      const rejected = answerCell(r.rejected);
      return prompt && chosen !== undefined && rejected !== undefined ? { ...prompt, chosen, rejected } : undefined;
    },
    build: (cells) => ({ prompt: promptOf(cells), chosen: [msg('assistant', cells.chosen ?? '')], rejected: [msg('assistant', cells.rejected ?? '')] }),
  },
  binary_feedback: {
    columns: ['system', 'prompt', 'completion', 'label'],
    flatten(row) {
      const r = row as BinaryFeedbackRow;
      const prompt = promptCells(r.prompt);
      const completion = answerCell(r.completion);
      return prompt && completion !== undefined ? { ...prompt, completion, label: String(r.label) } : undefined;
    },
    build: (cells) => ({ prompt: promptOf(cells), completion: [msg('assistant', cells.completion ?? '')], label: /^\s*true\s*$/i.test(cells.label ?? '') ? true : /^\s*false\s*$/i.test(cells.label ?? '') ? false : cells.label }),
  },
  completion: flat(['prompt', 'completion']),
  classification: flat(['text', 'label']),
  triplet: flat(['anchor', 'positive', 'negative']),
  pair: flat(['anchor', 'positive']),
  // the score cell stays text here: the validator reads a numeric cell as its number and refuses the rest with its line
  scored_pair: flat(['sentence1', 'sentence2', 'score']),
  text: flat(['text']),
};

/** Provenance as readable columns: where the row came from and what wrote it. */
export const PROVENANCE_COLUMNS = ['source', 'location', 'heading_path', 'generator', 'prompt_template', 'generated_at'] as const;

export function provenanceCells(row: ReviewRow): Record<(typeof PROVENANCE_COLUMNS)[number], string> {
  const p = row.provenance;
  const s = p.source;
  return {
    source: s.type === 'document' ? s.file : s.dataset_id,
    location: s.type === 'document' ? `chunk ${s.chunk}, characters ${s.span[0]}–${s.span[1]}` : `line ${s.line}`,
    heading_path: s.type === 'document' ? s.heading_path.join(' › ') : '',
    generator: `${p.generator.provider}:${p.generator.model}`,
    prompt_template: `${p.prompt_template.id} v${p.prompt_template.version}`,
    generated_at: p.generated_at,
  };
}

/** "unsupported: answer shares 12% …; duplicate: same as rq_…:3" */
export function flagsCell(row: ReviewRow): string {
  return row.flags.map((f) => `${f.code}: ${f.message}`).join('; ');
}
