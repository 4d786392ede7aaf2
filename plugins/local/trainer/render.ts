import { KTO_OPTIONS } from '../../../src/datasets/formats/feedback.js';
import { FinetuneError } from '../../../src/errors.js';

/**
 * Turns canonical dataset rows (docs/CONVENTIONS.md) into token ids plus a loss mask.
 *
 * Text is rendered with the tokenizer's chat template when it has one, else with the plain format
 * below, and tokenized whole (the same ids the model sees at inference). Which tokens carry loss is
 * found by tokenizing each rendered prefix: the tokens of the full text past the longest common
 * prefix with the prefix's tokens belong to the part that follows (the recipe TRL uses).
 *
 * Plain format (no chat template):
 * - completion: `prompt + completion` exactly as stored, then EOS; loss on the completion and EOS.
 *   Where the two meet with no whitespace between words ("Tom." + "Every"), a tokenizer whose every
 *   segment starts a word (SentencePiece/Llama: it encodes "a" as "▁a") gets one space, the join it
 *   would make of the two encoded apart; a byte-level tokenizer gets the text as it is (see
 *   completionJoin and docs/datasets.md);
 * - text: `text`, then EOS; loss on every token;
 * - chat/preference: each message as `### Role:\n<content>\n\n`, the assistant's reply after
 *   `### Assistant:\n`, EOS after the last message; loss on assistant content.
 * BOS is prepended when the tokenizer's own post-processor adds it (as tokenizer_config.json says)
 * and the rendered text does not already start with the BOS token.
 */
export interface TokenizerLike {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  bos_token_id: number | null;
  eos_token_id: number | null;
  pad_token_id: number | null;
  special_tokens?: { bos_token: string | null };
  chat_template?: string;
  applyChatTemplate(messages: readonly ChatTurn[], options?: { add_generation_prompt?: boolean }): string;
}

interface ChatTurn {
  role: string;
  content: string;
  weight?: number;
  [key: string]: unknown;
}

/** One training sequence: ids and, per position, 1 when that token is a loss target. */
export interface TokenizedExample {
  ids: number[];
  mask: number[];
}

export interface PreferenceExample {
  chosen: TokenizedExample;
  rejected: TokenizedExample;
}

export type LossOn = 'completion' | 'all';

export class Renderer {
  private readonly addsBos: boolean;
  /** Whether the tokenizer starts every text it encodes at a word (a prefix space), as SentencePiece/Llama do. */
  readonly segmentsStartWords: boolean;

  constructor(
    private readonly tokenizer: TokenizerLike,
    private readonly lossOn: LossOn = 'completion',
  ) {
    const bos = tokenizer.bos_token_id;
    const withSpecial = tokenizer.encode('a', { add_special_tokens: true });
    const without = tokenizer.encode('a', { add_special_tokens: false });
    this.addsBos = bos !== null && withSpecial[0] === bos && without[0] !== bos;
    this.segmentsStartWords = startsWords(tokenizer);
  }

  get usesChatTemplate(): boolean {
    return Boolean(this.tokenizer.chat_template);
  }

  /** A row of task type chat, completion or text; `where` names the file and line for errors. */
  sft(row: unknown, taskType: string, where: RowLocation): TokenizedExample {
    const record = asObject(row, where);
    if (taskType === 'text') {
      const text = stringField(record, 'text', where);
      return this.finish(this.plainParts([{ text, loss: true }]), true);
    }
    if (taskType === 'completion') {
      const prompt = stringField(record, 'prompt', where);
      const completion = stringField(record, 'completion', where);
      const joined = completionJoin(prompt, completion, this.segmentsStartWords) + completion;
      return this.finish(this.plainParts([{ text: prompt, loss: false }, { text: joined, loss: true }]), true);
    }
    if (taskType === 'chat') return this.chat(messagesField(record, 'messages', where));
    if (taskType === 'preference') {
      // SFT on preference rows trains on prompt + chosen, as TRL's SFT on such data does.
      const pair = this.preference(record, where);
      return pair.chosen;
    }
    if (taskType === 'binary_feedback') {
      // Training on these rows as SFT would teach the answers labelled bad too.
      throw new FinetuneError('CAPABILITY_UNSUPPORTED', 'The local backend does not train KTO, and SFT on binary feedback would learn the answers labelled false.', {
        recovery: `Options: ${KTO_OPTIONS}.`,
        details: { file: where.file, field: 'task_type' },
      });
    }
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', `SFT on the local backend takes chat, completion or text rows, not '${taskType}'.`, {
      recovery: 'Use method dpo for preference data, or prepare the dataset as chat, completion or text.',
      details: { file: where.file, field: 'task_type' },
    });
  }

  /** A preference row: prompt + chosen and prompt + rejected, loss on the responses. */
  preference(row: unknown, where: RowLocation): PreferenceExample {
    const record = asObject(row, where);
    const prompt = typeof record.prompt === 'string' ? [{ role: 'user', content: record.prompt }] : messagesField(record, 'prompt', where);
    const side = (name: 'chosen' | 'rejected'): ChatTurn[] =>
      typeof record[name] === 'string' ? [{ role: 'assistant', content: record[name] as string }] : messagesField(record, name, where);
    const promptTurns = prompt.map((t) => ({ ...t, weight: 0 }));
    const response = (turns: ChatTurn[]) => turns.map((t) => ({ ...t, weight: t.role === 'assistant' ? 1 : 0 }));
    // DPO scores the responses only, whatever loss_on says.
    return {
      chosen: this.chat([...promptTurns, ...response(side('chosen'))], 'completion'),
      rejected: this.chat([...promptTurns, ...response(side('rejected'))], 'completion'),
    };
  }

  private chat(messages: ChatTurn[], lossOn: LossOn = this.lossOn): TokenizedExample {
    const target = (m: ChatTurn) => (lossOn === 'all' ? true : m.role === 'assistant' && m.weight !== 0);
    if (!this.usesChatTemplate) {
      const parts: Part[] = [];
      for (const m of messages) {
        const header = `### ${m.role.charAt(0).toUpperCase()}${m.role.slice(1)}:\n`;
        parts.push({ text: header, loss: lossOn === 'all' });
        parts.push({ text: `${m.content}\n\n`, loss: target(m) });
      }
      return this.finish(parts, true);
    }
    // Boundaries from the template itself: before each message (with the generation prompt when
    // the next one is the assistant's, so the header is not trained on) and after it.
    const full = this.templateIds(messages, false);
    const mask = new Array<number>(full.length).fill(0);
    for (let i = 0; i < messages.length; i++) {
      if (!target(messages[i])) continue;
      const start = i === 0 ? 0 : commonPrefix(this.templateIds(messages.slice(0, i), messages[i].role === 'assistant'), full);
      const end = commonPrefix(this.templateIds(messages.slice(0, i + 1), false), full);
      for (let t = Math.max(start, 1); t < end; t++) mask[t] = 1;
    }
    return { ids: full, mask };
  }

  private templateIds(messages: ChatTurn[], addGenerationPrompt: boolean): number[] {
    const clean = messages.map(({ weight: _weight, ...rest }) => rest as ChatTurn);
    const text = this.tokenizer.applyChatTemplate(clean, { add_generation_prompt: addGenerationPrompt });
    return this.withBos(text, this.tokenizer.encode(text, { add_special_tokens: false }));
  }

  private withBos(text: string, ids: number[]): number[] {
    const bosText = this.tokenizer.special_tokens?.bos_token;
    const hasBos = ids[0] === this.tokenizer.bos_token_id || (bosText ? text.startsWith(bosText) : false);
    return this.addsBos && !hasBos ? [this.tokenizer.bos_token_id as number, ...ids] : ids;
  }

  private plainParts(parts: Part[]): Part[] {
    return this.lossOn === 'all' ? parts.map((p) => ({ ...p, loss: true })) : parts;
  }

  /** Tokenizes the concatenated parts whole and marks the tokens of the parts that carry loss. */
  private finish(parts: Part[], appendEos: boolean): TokenizedExample {
    const encode = (text: string) => this.withBos(text, this.tokenizer.encode(text, { add_special_tokens: false }));
    const fullText = parts.map((p) => p.text).join('');
    const ids = encode(fullText);
    const mask = new Array<number>(ids.length).fill(0);
    let prefix = '';
    let start = 0;
    for (const part of parts) {
      prefix += part.text;
      const end = part === parts[parts.length - 1] ? ids.length : commonPrefix(encode(prefix), ids);
      if (part.loss) for (let t = Math.max(start, 1); t < end; t++) mask[t] = 1;
      start = end;
    }
    const eos = this.tokenizer.eos_token_id;
    if (appendEos && eos !== null) {
      ids.push(eos);
      mask.push(parts[parts.length - 1].loss ? 1 : 0);
    }
    return { ids, mask };
  }
}

/** Scripts written without spaces between words: no space is ever put between two of their letters. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/**
 * What goes between a prompt and its completion: nothing when either side already has whitespace at
 * the seam, is empty, or is in a script without spaces; otherwise one space for a tokenizer that
 * starts every segment at a word (it would give the completion's first word its word-initial token
 * if the two were encoded apart), and nothing for one that encodes text exactly (byte-level BPE).
 */
export function completionJoin(prompt: string, completion: string, segmentsStartWords: boolean): string {
  if (!segmentsStartWords || !prompt || !completion) return '';
  if (/\s$/u.test(prompt) || /^\s/u.test(completion)) return '';
  const last = [...prompt.slice(-2)].at(-1)!;
  const first = String.fromCodePoint(completion.codePointAt(0)!);
  return UNSPACED.test(last) || UNSPACED.test(first) ? '' : ' ';
}

/** True when "a" alone encodes like the word " a" after another word: the tokenizer adds a prefix space. */
function startsWords(tokenizer: TokenizerLike): boolean {
  const alone = tokenizer.encode('a', { add_special_tokens: false });
  const lead = tokenizer.encode('b', { add_special_tokens: false });
  const both = tokenizer.encode('b a', { add_special_tokens: false });
  return alone.length > 0 && commonPrefix(both, lead) === lead.length && both.length === lead.length + alone.length && alone.every((id, i) => both[lead.length + i] === id);
}

interface Part {
  text: string;
  loss: boolean;
}

interface RowLocation {
  file: string;
  line: number;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function invalid(message: string, where: RowLocation, field?: string): FinetuneError {
  return new FinetuneError('DATASET_INVALID', `${where.file}:${where.line}: ${message}`, {
    details: { file: where.file, line: where.line, field },
  });
}

function asObject(row: unknown, where: RowLocation): Record<string, unknown> {
  if (!row || typeof row !== 'object' || Array.isArray(row)) throw invalid('a row must be a JSON object.', where);
  return row as Record<string, unknown>;
}

function stringField(record: Record<string, unknown>, name: string, where: RowLocation): string {
  const value = record[name];
  if (typeof value !== 'string') throw invalid(`field '${name}' must be a string.`, where, name);
  return value;
}

function messagesField(record: Record<string, unknown>, name: string, where: RowLocation): ChatTurn[] {
  const value = record[name];
  if (!Array.isArray(value) || value.length === 0) throw invalid(`field '${name}' must be a non-empty array of messages.`, where, name);
  return value.map((m, i) => {
    const message = m as Partial<ChatTurn> | null;
    if (!message || typeof message.role !== 'string' || typeof message.content !== 'string') {
      throw invalid(`${name}[${i}] needs a string role and a string content.`, where, `${name}[${i}]`);
    }
    return message as ChatTurn;
  });
}
