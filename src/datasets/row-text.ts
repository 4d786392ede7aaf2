import { chatTokensOpenAi, type TokenCounter } from './tokenizers.js';
import type { BinaryFeedbackRow, CanonicalRow, ChatMessage, ChatRow, ClassificationRow, CompletionRow, PairRow, PreferenceRow, ScoredPairRow, TaskType, TextRow, TripletRow } from './types.js';

/** One piece of text in a canonical row: its JSON path and the role whose text it is. */
export interface TextField {
  field: string;
  role: string;
  text: string;
}

function messageFields(prefix: string, messages: ChatMessage[]): TextField[] {
  return messages.map((m, i) => ({ field: `${prefix}[${i}].content`, role: m.role, text: m.content }));
}

/** Every text of a row, in order, for scanning (placeholders, special tokens, PII) and matching. */
export function textFields(task: TaskType, row: CanonicalRow): TextField[] {
  switch (task) {
    case 'chat':
      return messageFields('messages', (row as ChatRow).messages);
    case 'completion': {
      const r = row as CompletionRow;
      return [
        { field: 'prompt', role: 'user', text: r.prompt },
        { field: 'completion', role: 'assistant', text: r.completion },
      ];
    }
    case 'preference': {
      const r = row as PreferenceRow;
      return [...messageFields('prompt', r.prompt), ...messageFields('chosen', r.chosen), ...messageFields('rejected', r.rejected)];
    }
    case 'binary_feedback': {
      const r = row as BinaryFeedbackRow;
      return [...messageFields('prompt', r.prompt), ...messageFields('completion', r.completion)];
    }
    case 'classification':
      return [{ field: 'text', role: 'user', text: (row as ClassificationRow).text }];
    case 'triplet': {
      const r = row as TripletRow;
      return (['anchor', 'positive', 'negative'] as const).map((f) => ({ field: f, role: f, text: r[f] }));
    }
    case 'pair': {
      const r = row as PairRow;
      return (['anchor', 'positive'] as const).map((f) => ({ field: f, role: f, text: r[f] }));
    }
    case 'scored_pair': {
      const r = row as ScoredPairRow;
      return (['sentence1', 'sentence2'] as const).map((f) => ({ field: f, role: f, text: r[f] }));
    }
    case 'text':
      return [{ field: 'text', role: 'text', text: (row as TextRow).text }];
  }
}

/** Tokens of one example as the target sees it, plus tokens by role (content only). */
export function exampleTokens(counter: TokenCounter, task: TaskType, row: CanonicalRow): { total: number; by_role: Record<string, number> } {
  const byRole: Record<string, number> = {};
  // OpenAI's chat count is built from the counts of the same strings (chatTokensOpenAi), so each text
  // is tokenized once a row instead of twice (three times for a preference prompt); same numbers.
  const memo = counter.kind === 'openai' ? new Map<string, number>() : undefined;
  const count = memo ? (text: string) => memoCount(counter, memo, text) : (text: string) => counter.count(text);
  const countChat = memo ? (messages: ChatMessage[], tools?: unknown[]) => chatTokensOpenAi(count, messages, tools) : (messages: ChatMessage[], tools?: unknown[]) => counter.countChat(messages, tools);
  for (const f of textFields(task, row)) byRole[f.role] = (byRole[f.role] ?? 0) + count(f.text);
  let total: number;
  if (task === 'chat') total = countChat((row as ChatRow).messages, (row as ChatRow).tools);
  else if (task === 'preference') {
    const r = row as PreferenceRow;
    // A pair trains on two sequences; the longer one is what must fit the context.
    total = Math.max(countChat([...r.prompt, ...r.chosen]), countChat([...r.prompt, ...r.rejected]));
  } else if (task === 'binary_feedback') {
    const r = row as BinaryFeedbackRow;
    total = countChat([...r.prompt, ...r.completion]);
  } else total = Object.values(byRole).reduce((a, b) => a + b, 0);
  return { total, by_role: byRole };
}

/**
 * Characters of text in a row from which its tokens are counted in the counter's worker thread
 * (countAside): ~8k tokens, tens of milliseconds on the event loop at most below it.
 */
const COUNT_ASIDE_CHARS = 32 * 1024;

/** exampleTokens, counted off the event loop when the row is long and the counter can; the same numbers. */
export async function exampleTokensAside(counter: TokenCounter, task: TaskType, row: CanonicalRow): Promise<{ total: number; by_role: Record<string, number> }> {
  if (counter.countAside) {
    let chars = 0;
    for (const f of textFields(task, row)) chars += f.text.length;
    if (chars >= COUNT_ASIDE_CHARS) return counter.countAside(() => exampleTokens(counter, task, row));
  }
  return exampleTokens(counter, task, row);
}

function memoCount(counter: TokenCounter, memo: Map<string, number>, text: string): number {
  let n = memo.get(text);
  if (n === undefined) memo.set(text, (n = counter.count(text)));
  return n;
}

/** A copy of the row with every text (the ones textFields lists) passed through `fn`. */
export function mapRowText(task: TaskType, row: CanonicalRow, fn: (text: string, field: string) => string): CanonicalRow {
  const messages = (prefix: string, list: ChatMessage[]) => list.map((m, i) => ({ ...m, content: fn(m.content, `${prefix}[${i}].content`) }));
  switch (task) {
    case 'chat':
      return { ...(row as ChatRow), messages: messages('messages', (row as ChatRow).messages) };
    case 'preference': {
      const r = row as PreferenceRow;
      return { prompt: messages('prompt', r.prompt), chosen: messages('chosen', r.chosen), rejected: messages('rejected', r.rejected) };
    }
    case 'binary_feedback': {
      const r = row as BinaryFeedbackRow;
      return { prompt: messages('prompt', r.prompt), completion: messages('completion', r.completion), label: r.label };
    }
    case 'completion': {
      const r = row as CompletionRow;
      return { prompt: fn(r.prompt, 'prompt'), completion: fn(r.completion, 'completion') };
    }
    case 'classification': {
      const r = row as ClassificationRow;
      return { text: fn(r.text, 'text'), label: r.label };
    }
    case 'triplet': {
      const r = row as TripletRow;
      return { anchor: fn(r.anchor, 'anchor'), positive: fn(r.positive, 'positive'), negative: fn(r.negative, 'negative') };
    }
    case 'pair': {
      const r = row as PairRow;
      return { anchor: fn(r.anchor, 'anchor'), positive: fn(r.positive, 'positive') };
    }
    case 'scored_pair': {
      const r = row as ScoredPairRow;
      return { sentence1: fn(r.sentence1, 'sentence1'), sentence2: fn(r.sentence2, 'sentence2'), score: r.score };
    }
    case 'text':
      return { text: fn((row as TextRow).text, 'text') };
  }
}

/** Every string a row holds, at any depth (messages, metadata, tool calls), in order. */
export function rowStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => rowStrings(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => rowStrings(v, out));
  return out;
}
