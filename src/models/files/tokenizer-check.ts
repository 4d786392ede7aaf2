import { FinetuneError } from '../../errors.js';

/**
 * Checks a tokenizer.json before @huggingface/tokenizers builds it, because two kinds of file hang
 * the process that loads them: a regex (pre-tokenizer Split, normalizer or decoder Replace) with a
 * quantified group that itself repeats, like `(a+)+$`, backtracks exponentially on the first long
 * input; and a token id far past the vocabulary (2^31) makes the library fill an array that large
 * (~110 s on every load). Refused with MODEL_UNSUPPORTED naming the file and the field.
 */

/** Ids may leave gaps (reserved tokens), but not past twice the tokens the file holds plus this. */
const ID_SLACK = 1_024;
/** Longer patterns are not tokenizer regexes (GPT-4o's is ~400 characters). */
const MAX_PATTERN_CHARS = 4_096;

type Json = Record<string, unknown>;

function refuse(file: string, field: string, message: string): FinetuneError {
  return new FinetuneError('MODEL_UNSUPPORTED', `${file}: ${field} ${message}`, {
    recovery: "Use the model's original tokenizer.json (Hugging Face tokenizers format); this one would hang the server.",
    details: { file, field },
  });
}

/** Reads one `{…}` or `{n,m}` quantifier at `i`: its upper bound (Infinity when open), or undefined. */
function braceBound(pattern: string, i: number): { max: number; end: number } | undefined {
  const match = /^\{(\d*)(,(\d*))?\}/.exec(pattern.slice(i, i + 24));
  if (!match || (match[1] === '' && match[3] === undefined)) return undefined;
  const max = match[2] === undefined ? Number(match[1]) : match[3] === '' ? Infinity : Number(match[3]);
  return { max, end: i + match[0].length };
}

/** The repetition after position i: how many times at most (1 when none; `?` is at most once). */
function repeatAt(pattern: string, i: number): { max: number; end: number } {
  const c = pattern[i];
  if (c === '*' || c === '+') return { max: Infinity, end: i + 1 };
  if (c === '?') return { max: 1, end: i + 1 };
  if (c === '{') return braceBound(pattern, i) ?? { max: 1, end: i };
  return { max: 1, end: i };
}

/**
 * Why a regex can backtrack exponentially, or undefined: a group repeated more than once (`+`, `*`,
 * `{2,}`) whose body itself repeats or branches (`(a+)+`, `(a|aa)*`, `(?:\s*x)+`). Tokenizer patterns
 * (GPT-2, Llama 3, Qwen, o200k) repeat only single characters and classes, so none is refused.
 */
export function catastrophicRegex(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_CHARS) return `is ${pattern.length} characters long (at most ${MAX_PATTERN_CHARS})`;
  // One frame per open group: whether its body repeats or branches so far.
  const groups: Array<{ start: number; risky: boolean }> = [{ start: 0, risky: false }];
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i];
    const top = groups[groups.length - 1];
    if (c === '\\') {
      i += 2;
    } else if (c === '[') {
      // A class is one character: skip to its closing bracket (escapes and a leading ] inside).
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      i = j + 1;
    } else if (c === '(') {
      groups.push({ start: i, risky: false });
      i++;
    } else if (c === ')') {
      const group = groups.length > 1 ? groups.pop()! : top;
      const repeat = repeatAt(pattern, i + 1);
      if (repeat.max > 1 && group.risky) return `repeats the group at character ${group.start} ('${pattern.slice(group.start, repeat.end)}') whose body repeats or branches itself: exponential backtracking`;
      if (group.risky || repeat.max > 1) groups[groups.length - 1].risky = true;
      i = repeat.end;
      continue;
    } else if (c === '|') {
      top.risky = true;
      i++;
    } else {
      i++;
    }
    // A quantifier after an atom (character, escape, class): the enclosing group repeats inside.
    const repeat = repeatAt(pattern, i);
    if (repeat.max > 1) groups[groups.length - 1].risky = true;
    if (repeat.end > i) i = repeat.end;
  }
  return undefined;
}

/** Every `{"Regex": …}` pattern in the file, with the path of its field. */
function regexFields(value: unknown, path: string, out: Array<{ field: string; pattern: string }>, depth = 0): void {
  if (depth > 32 || !value || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => regexFields(v, `${path}[${i}]`, out, depth + 1));
    return;
  }
  for (const [key, v] of Object.entries(value as Json)) {
    const field = path ? `${path}.${key}` : key;
    if (key === 'Regex' && typeof v === 'string') out.push({ field, pattern: v });
    else if (key !== 'vocab' && key !== 'merges') regexFields(v, field, out, depth + 1);
  }
}

function checkId(file: string, field: string, id: unknown, limit: number, tokens: number): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) {
    throw refuse(file, field, `is token id ${String(id)}, outside the vocabulary (${tokens} tokens; ids are whole numbers below ${limit})`);
  }
}

/** Refuses a tokenizer.json that would hang the loader or the encoder; `file` names it in the error. */
export function checkTokenizerJson(json: Json, file: string): void {
  const model = (json.model ?? {}) as Json;
  const vocab = model.vocab && typeof model.vocab === 'object' && !Array.isArray(model.vocab) ? (model.vocab as Record<string, unknown>) : undefined;
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Json[]) : [];
  const tokens = (vocab ? Object.keys(vocab).length : Array.isArray(model.vocab) ? model.vocab.length : 0) + added.length;
  const limit = 2 * tokens + ID_SLACK;
  if (vocab) for (const [token, id] of Object.entries(vocab)) if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) checkId(file, `model.vocab[${JSON.stringify(token.slice(0, 40))}]`, id, limit, tokens);
  added.forEach((t, i) => checkId(file, `added_tokens[${i}].id`, t.id, limit, tokens));
  const regexes: Array<{ field: string; pattern: string }> = [];
  regexFields(json, '', regexes);
  for (const { field, pattern } of regexes) {
    const why = catastrophicRegex(pattern);
    if (why) throw refuse(file, field, `${JSON.stringify(pattern.slice(0, 80))} ${why}`);
  }
}
