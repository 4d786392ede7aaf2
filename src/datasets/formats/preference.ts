import { issue, type DatasetIssue } from '../issues.js';
import type { ChatMessage, Role } from '../types.js';
import { chatMessage } from './chat.js';
import { shareGptMessages } from './sharegpt.js';
import { FORMAT_FIX, isObject, optionalString, type Normalized, type Obj } from './shared.js';

// ---- preference layouts ----

/** A preference side: a string (one message of `role`), one message object, or a message list. */
export function messageList(value: unknown, field: string, role: Role, line: number, issues: DatasetIssue[]): ChatMessage[] | undefined {
  if (typeof value === 'string') return [{ role, content: value }];
  const list = Array.isArray(value) ? value : isObject(value) ? [value] : undefined;
  if (!list || !list.length) {
    issues.push(issue(line, 'error', value === undefined ? 'missing_field' : 'field_not_string', field, `${field} must be a string or a non-empty list of messages.`, FORMAT_FIX.preference));
    return undefined;
  }
  const out: ChatMessage[] = [];
  for (const [i, m] of list.entries()) {
    if (isObject(m) && 'from' in m && !('role' in m)) {
      const converted = shareGptMessages([m], field, line, issues);
      if (!converted) return undefined;
      out.push(...converted);
      continue;
    }
    const message = chatMessage(m, Array.isArray(value) ? `${field}[${i}]` : field, line, issues);
    if (!message) return undefined;
    out.push(message);
  }
  return out;
}

function preferenceRow(prompt: ChatMessage[] | undefined, chosen: ChatMessage[] | undefined, rejected: ChatMessage[] | undefined, issues: DatasetIssue[]): Normalized {
  if (!prompt || !chosen || !rejected) return { issues };
  return { row: { prompt, chosen, rejected }, issues };
}

export function normalizePreference(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const prompt = messageList(value.prompt, 'prompt', 'user', line, issues);
  const chosen = messageList(value.chosen, 'chosen', 'assistant', line, issues);
  const rejected = messageList(value.rejected, 'rejected', 'assistant', line, issues);
  return preferenceRow(prompt, chosen, rejected, issues);
}

export function normalizeOpenAiDpo(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const input = value.input;
  const prompt = isObject(input) ? messageList(input.messages, 'input.messages', 'user', line, issues) : messageList(undefined, 'input.messages', 'user', line, issues);
  const chosen = messageList(value.preferred_output, 'preferred_output', 'assistant', line, issues);
  const rejected = messageList(value.non_preferred_output, 'non_preferred_output', 'assistant', line, issues);
  return preferenceRow(prompt, chosen, rejected, issues);
}

export function normalizeShareGptPreference(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const prompt = shareGptMessages(value.conversations, 'conversations', line, issues);
  const system = optionalString(value, 'system', line, issues);
  const chosen = messageList(value.chosen, 'chosen', 'assistant', line, issues);
  const rejected = messageList(value.rejected, 'rejected', 'assistant', line, issues);
  const withSystem = prompt && system ? [{ role: 'system' as const, content: system }, ...prompt] : prompt;
  return preferenceRow(withSystem, chosen, rejected, issues);
}
