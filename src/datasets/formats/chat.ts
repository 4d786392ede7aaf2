import { issue, type DatasetIssue } from '../issues.js';
import type { ChatMessage, ChatRow, Role, ToolCall } from '../types.js';
import { describe, FORMAT_FIX, isObject, type Normalized, type Obj } from './shared.js';

// ---- chat (OpenAI messages): the seven checks of OpenAI's data-prep notebook, plus content checks ----

/** Keys a message may carry: the cookbook's list plus the tool-calling keys OpenAI fine-tuning accepts. */
const MESSAGE_KEYS = new Set(['role', 'content', 'name', 'function_call', 'weight', 'tool_calls', 'tool_call_id']);
const ROLE_ALIASES: Record<string, Role> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant', tool: 'tool', function: 'tool' };

export function normalizeChat(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const raw = value.messages;
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
    return { issues: [issue(line, 'error', 'missing_messages_list', 'messages', 'Example has no messages (missing or empty list).', FORMAT_FIX.chat)] };
  }
  if (!Array.isArray(raw)) {
    return { issues: [issue(line, 'error', 'messages_not_list', 'messages', `messages is ${describe(raw)}, not a list.`, 'Make messages a JSON array of {role, content} objects.')] };
  }
  const messages: ChatMessage[] = [];
  let representable = true;
  let hasAssistant = false;
  for (let i = 0; i < raw.length; i++) {
    const message = chatMessage(raw[i], messageField(i), line, issues);
    if (message) messages.push(message);
    else representable = false;
    if (isObject(raw[i]) && (raw[i] as Obj).role === 'assistant') hasAssistant = true;
  }
  if (!hasAssistant) {
    issues.push(issue(line, 'error', 'example_missing_assistant_message', 'messages', 'Example has no assistant message, so there is nothing to learn.', 'Add the assistant reply the model should give, or drop the example (clean_dataset drops it).'));
  }
  const tools = toolsOf(value, line, issues);
  if (!representable) return { issues };
  const row: ChatRow = { messages };
  if (tools) row.tools = tools;
  return { row, issues };
}

/** `messages[i]`, built once for the first indexes (every message of every row names its field). */
const MESSAGE_FIELDS = Array.from({ length: 64 }, (_, i) => `messages[${i}]`);
const messageField = (i: number) => MESSAGE_FIELDS[i] ?? `messages[${i}]`;

/** Checks one message and converts it; undefined when it cannot be represented canonically. */
export function chatMessage(m: unknown, field: string, line: number, issues: DatasetIssue[]): ChatMessage | undefined {
  if (!isObject(m)) {
    issues.push(issue(line, 'error', 'data_type', field, `Message is ${describe(m)}, not an object.`, 'Each message must be {"role": …, "content": …}.'));
    return undefined;
  }
  let ok = true;
  if (!('role' in m) || !('content' in m)) {
    const missing = !('role' in m) ? 'role' : 'content';
    const hasCalls = missing === 'content' && (m.tool_calls !== undefined || m.function_call !== undefined);
    if (!hasCalls) {
      issues.push(issue(line, 'error', 'message_missing_key', `${field}.${missing}`, `Message has no '${missing}' key.`, `Add "${missing}" to the message.`));
      if (missing === 'role') ok = false;
    }
  }
  for (const key of Object.keys(m)) {
    if (MESSAGE_KEYS.has(key) || key === 'loss_weight') continue;
    issues.push(issue(line, 'error', 'message_unrecognized_key', `${field}.${key}`, `Message has an unrecognised key '${key}'.`, `Remove '${key}'; allowed keys: ${[...MESSAGE_KEYS].join(', ')}.`));
    ok = false;
  }
  const role = typeof m.role === 'string' ? ROLE_ALIASES[m.role] : undefined;
  if ('role' in m && !role) {
    issues.push(issue(line, 'error', 'unrecognized_role', `${field}.role`, `Role ${JSON.stringify(m.role)} is not system, user, assistant or tool.`, 'Use one of system, user, assistant, tool.'));
    ok = false;
  }
  const toolCalls = toolCallsOf(m, field, line, issues);
  if (toolCalls === null) ok = false;
  const content = contentText(m.content);
  if (m.content === undefined || m.content === null) {
    if (!toolCalls) {
      if ('content' in m) issues.push(issue(line, 'error', 'missing_content', `${field}.content`, 'Message content is null and the message has no tool calls.', 'Give the message its text.'));
      ok = false;
    }
  } else if (content === undefined) {
    issues.push(issue(line, 'error', 'content_not_string', `${field}.content`, `Content is ${describe(m.content)}, not a string (or a list of text parts).`, 'Make content a string.'));
    ok = false;
  } else if (!content.trim() && !toolCalls) {
    issues.push(issue(line, 'error', 'empty_content', `${field}.content`, 'Message content is empty.', 'Write the message text, or drop the example (clean_dataset drops it).'));
  }
  let weight: 0 | 1 | undefined;
  const rawWeight = m.weight ?? m.loss_weight;
  if (rawWeight !== undefined) {
    if (rawWeight === 0 || rawWeight === 1) weight = rawWeight;
    else {
      issues.push(issue(line, 'error', 'invalid_weight', `${field}.weight`, `weight is ${JSON.stringify(rawWeight)}; only 0 or 1 are allowed.`, 'Use weight 0 (no loss) or 1 (train on it), on assistant messages.'));
      ok = false;
    }
  }
  if (m.name !== undefined && typeof m.name !== 'string') {
    issues.push(issue(line, 'error', 'field_not_string', `${field}.name`, 'name must be a string.', 'Make name a string or remove it.'));
    ok = false;
  }
  if (!ok || !role) return undefined;
  const message: ChatMessage = { role, content: content ?? '' };
  if (typeof m.name === 'string' && m.name) message.name = m.name;
  if (toolCalls) message.tool_calls = toolCalls;
  if (typeof m.tool_call_id === 'string') message.tool_call_id = m.tool_call_id;
  if (weight !== undefined) message.weight = weight;
  return message;
}

/** A string, or the joined text of a list of text parts ({type:"text", text} or LLaMA-Factory's {type, value}). */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const part of content) {
    if (!isObject(part) || part.type !== 'text') return undefined;
    const text = part.text ?? part.value;
    if (typeof text !== 'string') return undefined;
    texts.push(text);
  }
  return texts.join('');
}

/** tool_calls (or the legacy function_call) as canonical calls; undefined when absent, null when malformed. */
function toolCallsOf(m: Obj, field: string, line: number, issues: DatasetIssue[]): ToolCall[] | undefined | null {
  if (m.function_call !== undefined) {
    const call = functionOf(m.function_call);
    return call ? [{ id: 'call_0', type: 'function', function: call }] : badToolCall(field, 'function_call', line, issues);
  }
  if (m.tool_calls === undefined) return undefined;
  if (!Array.isArray(m.tool_calls)) return badToolCall(field, 'tool_calls', line, issues);
  const calls: ToolCall[] = [];
  for (const [i, c] of m.tool_calls.entries()) {
    const fn = isObject(c) ? functionOf(c.function) : undefined;
    if (!fn) return badToolCall(field, `tool_calls[${i}]`, line, issues);
    calls.push({ id: isObject(c) && typeof c.id === 'string' ? c.id : `call_${i}`, type: 'function', function: fn });
  }
  return calls;
}

/** Reports a malformed tool call (a plain function: a closure made per message showed in the profile). */
function badToolCall(field: string, what: string, line: number, issues: DatasetIssue[]): null {
  issues.push(issue(line, 'error', 'invalid_tool_call', `${field}.${what}`, `Malformed ${what}.`, 'Each call needs {"type": "function", "function": {"name": "…", "arguments": "<JSON string>"}}.'));
  return null;
}

export function functionOf(value: unknown): ToolCall['function'] | undefined {
  if (!isObject(value) || typeof value.name !== 'string') return undefined;
  const args = value.arguments === undefined ? '{}' : typeof value.arguments === 'string' ? value.arguments : JSON.stringify(value.arguments);
  return { name: value.name, arguments: args };
}

export function toolsOf(value: Obj, line: number, issues: DatasetIssue[]): unknown[] | undefined {
  let tools = value.tools ?? (Array.isArray(value.functions) ? value.functions.map((f) => ({ type: 'function', function: f })) : undefined);
  if (tools === undefined || tools === '' || tools === null) return undefined;
  if (typeof tools === 'string') {
    try {
      tools = JSON.parse(tools);
    } catch {
      issues.push(issue(line, 'error', 'invalid_tools', 'tools', 'tools is a string that is not JSON.', 'Give tools as a JSON array of function definitions.'));
      return undefined;
    }
  }
  if (!Array.isArray(tools)) {
    issues.push(issue(line, 'error', 'invalid_tools', 'tools', 'tools is not a list.', 'Give tools as a JSON array of function definitions.'));
    return undefined;
  }
  // An empty list says the same as no list; dropping it keeps round trips exact.
  if (!tools.length) return undefined;
  return tools.map((t) => (isObject(t) && t.type === 'function' ? t : { type: 'function', function: t }));
}
