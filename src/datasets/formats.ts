import { issue, type DatasetIssue } from './issues.js';
import type { CanonicalRow, ChatMessage, ChatRow, Role, SourceFormat, ToolCall } from './types.js';

/** What normalising one source record gives: the canonical row, or undefined when it cannot be represented. */
export interface Normalized {
  row?: CanonicalRow;
  issues: DatasetIssue[];
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Guesses the source layout of one record from its keys; undefined when no layout fits. */
export function detectFormat(value: unknown): SourceFormat | undefined {
  if (!isObject(value)) return undefined;
  const has = (k: string) => k in value;
  if (has('messages')) return 'chat';
  if (has('conversations')) return has('chosen') && has('rejected') ? 'sharegpt_preference' : 'sharegpt';
  if (has('input') && has('preferred_output')) return 'openai_dpo';
  if (has('chosen') && has('rejected')) return 'preference';
  if (has('instruction') && has('output')) return 'instruction';
  if (has('prompt') && has('completion')) return 'completion';
  if (has('anchor') && has('positive') && has('negative')) return 'triplet';
  if (has('text') && has('label')) return 'classification';
  if (has('text')) return 'text';
  return undefined;
}

const FORMAT_FIX: Record<SourceFormat, string> = {
  chat: 'Each line needs {"messages": [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]}.',
  sharegpt: 'Each record needs {"conversations": [{"from": "human", "value": "…"}, {"from": "gpt", "value": "…"}]}.',
  instruction: 'Each record needs {"instruction": "…", "input": "", "output": "…"}.',
  completion: 'Each record needs {"prompt": "…", "completion": "…"}.',
  preference: 'Each record needs {"prompt": "…", "chosen": "…", "rejected": "…"} (strings or message lists).',
  openai_dpo: 'Each record needs {"input": {"messages": […]}, "preferred_output": [{"role": "assistant", …}], "non_preferred_output": […]}.',
  sharegpt_preference: 'Each record needs {"conversations": […], "chosen": {"from": "gpt", "value": "…"}, "rejected": {…}}.',
  classification: 'Each record needs {"text": "…", "label": "…"}.',
  triplet: 'Each record needs {"anchor": "…", "positive": "…", "negative": "…"}.',
  text: 'Each record needs {"text": "…"}.',
};

/** Normalises one record of a known layout; every problem is reported, none thrown. */
export function normalizeRecord(format: SourceFormat, value: unknown, line: number): Normalized {
  if (!isObject(value)) {
    return { issues: [issue(line, 'error', 'data_type', '', `Example is ${describe(value)}, not a JSON object.`, FORMAT_FIX[format])] };
  }
  switch (format) {
    case 'chat':
      return normalizeChat(value, line);
    case 'sharegpt':
      return normalizeShareGpt(value, line);
    case 'instruction':
      return normalizeInstruction(value, line);
    case 'completion':
      return stringFields(value, line, ['prompt', 'completion'], format);
    case 'classification':
      return normalizeClassification(value, line);
    case 'triplet':
      return stringFields(value, line, ['anchor', 'positive', 'negative'], format);
    case 'text':
      return stringFields(value, line, ['text'], format);
    case 'preference':
      return normalizePreference(value, line);
    case 'openai_dpo':
      return normalizeOpenAiDpo(value, line);
    case 'sharegpt_preference':
      return normalizeShareGptPreference(value, line);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

// ---- chat (OpenAI messages): the seven checks of OpenAI's data-prep notebook, plus content checks ----

/** Keys a message may carry: the cookbook's list plus the tool-calling keys OpenAI fine-tuning accepts. */
const MESSAGE_KEYS = new Set(['role', 'content', 'name', 'function_call', 'weight', 'tool_calls', 'tool_call_id']);
const ROLE_ALIASES: Record<string, Role> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant', tool: 'tool', function: 'tool' };

function normalizeChat(value: Obj, line: number): Normalized {
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
function chatMessage(m: unknown, field: string, line: number, issues: DatasetIssue[]): ChatMessage | undefined {
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

function functionOf(value: unknown): ToolCall['function'] | undefined {
  if (!isObject(value) || typeof value.name !== 'string') return undefined;
  const args = value.arguments === undefined ? '{}' : typeof value.arguments === 'string' ? value.arguments : JSON.stringify(value.arguments);
  return { name: value.name, arguments: args };
}

function toolsOf(value: Obj, line: number, issues: DatasetIssue[]): unknown[] | undefined {
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

// ---- ShareGPT ----

const SHAREGPT_ROLES: Record<string, Role | 'function_call'> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  chatgpt: 'assistant',
  bing: 'assistant',
  bard: 'assistant',
  system: 'system',
  observation: 'tool',
  tool: 'tool',
  function: 'tool',
  function_call: 'function_call',
};

function shareGptMessages(turns: unknown, field: string, line: number, issues: DatasetIssue[]): ChatMessage[] | undefined {
  if (!Array.isArray(turns) || turns.length === 0) {
    issues.push(issue(line, 'error', 'missing_messages_list', field, `${field} is missing, empty or not a list.`, FORMAT_FIX.sharegpt));
    return undefined;
  }
  const messages: ChatMessage[] = [];
  let ok = true;
  let callCount = 0;
  let lastCallId: string | undefined;
  turns.forEach((t, i) => {
    const f = `${field}[${i}]`;
    if (!isObject(t) || typeof t.from !== 'string' || !('value' in t)) {
      issues.push(issue(line, 'error', 'message_missing_key', f, 'Turn needs "from" and "value".', 'Write each turn as {"from": "human", "value": "…"}.'));
      ok = false;
      return;
    }
    const role = SHAREGPT_ROLES[t.from];
    if (!role) {
      issues.push(issue(line, 'error', 'unrecognized_role', `${f}.from`, `from ${JSON.stringify(t.from)} is not a known ShareGPT role.`, `Use one of ${Object.keys(SHAREGPT_ROLES).join(', ')}.`));
      ok = false;
      return;
    }
    if (typeof t.value !== 'string') {
      issues.push(issue(line, 'error', 'content_not_string', `${f}.value`, 'value must be a string.', 'Make value a string.'));
      ok = false;
      return;
    }
    if (role === 'function_call') {
      let call: unknown;
      try {
        call = JSON.parse(t.value);
      } catch {
        call = undefined;
      }
      const fns = (Array.isArray(call) ? call : [call]).map(functionOf);
      if (fns.some((fn) => !fn)) {
        issues.push(issue(line, 'error', 'invalid_tool_call', `${f}.value`, 'function_call value is not JSON {"name", "arguments"}.', 'Write the call as a JSON string {"name": "…", "arguments": {…}}.'));
        ok = false;
        return;
      }
      const calls = fns.map((fn) => ({ id: `call_${callCount++}`, type: 'function' as const, function: fn! }));
      lastCallId = calls[calls.length - 1].id;
      messages.push({ role: 'assistant', content: '', tool_calls: calls });
      return;
    }
    const message: ChatMessage = { role, content: t.value };
    if (role === 'tool' && lastCallId) message.tool_call_id = lastCallId;
    if (!t.value.trim()) issues.push(issue(line, 'error', 'empty_content', `${f}.value`, 'Turn text is empty.', 'Write the turn text, or drop the example.'));
    messages.push(message);
  });
  return ok ? messages : undefined;
}

function normalizeShareGpt(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const messages = shareGptMessages(value.conversations, 'conversations', line, issues);
  if (messages && !messages.some((m) => m.role === 'assistant')) {
    issues.push(issue(line, 'error', 'example_missing_assistant_message', 'conversations', 'Conversation has no gpt/assistant turn.', 'Add the reply the model should learn, or drop the example.'));
  }
  const system = optionalString(value, 'system', line, issues);
  const tools = toolsOf(value, line, issues);
  if (!messages || system === null) return { issues };
  const row: ChatRow = { messages: system ? [{ role: 'system', content: system }, ...messages] : messages };
  if (tools) row.tools = tools;
  return { row, issues };
}

// ---- Alpaca instruction ----

function normalizeInstruction(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const instruction = requiredString(value, 'instruction', line, issues, 'instruction');
  const output = requiredString(value, 'output', line, issues, 'instruction');
  const input = optionalString(value, 'input', line, issues);
  const system = optionalString(value, 'system', line, issues);
  if (instruction === undefined || output === undefined || input === null || system === null) return { issues };
  const messages: ChatMessage[] = [];
  if (system) messages.push({ role: 'system', content: system });
  if (Array.isArray(value.history)) {
    for (const [i, pair] of value.history.entries()) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        issues.push(issue(line, 'error', 'invalid_history', `history[${i}]`, 'history entries must be [user, assistant] string pairs.', 'Fix or remove history.'));
        return { issues };
      }
      messages.push({ role: 'user', content: pair[0] }, { role: 'assistant', content: pair[1] });
    }
  }
  // LLaMA-Factory's Alpaca converter joins instruction and input with one newline.
  messages.push({ role: 'user', content: input ? `${instruction}\n${input}` : instruction }, { role: 'assistant', content: output });
  return { row: { messages }, issues };
}

// ---- plain string-field layouts ----

function stringFields(value: Obj, line: number, fields: string[], format: SourceFormat): Normalized {
  const issues: DatasetIssue[] = [];
  const row: Record<string, string> = {};
  for (const f of fields) {
    const v = requiredString(value, f, line, issues, format);
    if (v !== undefined) row[f] = v;
  }
  return Object.keys(row).length === fields.length ? { row: row as unknown as CanonicalRow, issues } : { issues };
}

function normalizeClassification(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const text = requiredString(value, 'text', line, issues, 'classification');
  const label = value.label;
  let labelText: string | undefined;
  if (typeof label === 'string' || typeof label === 'number' || typeof label === 'boolean') labelText = String(label);
  else issues.push(issue(line, 'error', label === undefined ? 'missing_field' : 'field_not_string', 'label', `label is ${label === undefined ? 'missing' : describe(label)}.`, 'Give each example a label (string or number).'));
  if (labelText !== undefined && !labelText.trim()) issues.push(issue(line, 'error', 'empty_field', 'label', 'label is empty.', 'Give the example its label, or drop it.'));
  return text === undefined || labelText === undefined ? { issues } : { row: { text, label: labelText }, issues };
}

function requiredString(value: Obj, field: string, line: number, issues: DatasetIssue[], format: SourceFormat): string | undefined {
  const v = value[field];
  if (v === undefined || v === null) {
    issues.push(issue(line, 'error', 'missing_field', field, `Field '${field}' is missing.`, FORMAT_FIX[format]));
    return undefined;
  }
  if (typeof v !== 'string') {
    issues.push(issue(line, 'error', 'field_not_string', field, `Field '${field}' is ${describe(v)}, not a string.`, `Make '${field}' a string.`));
    return undefined;
  }
  if (!v.trim()) issues.push(issue(line, 'error', 'empty_field', field, `Field '${field}' is empty.`, `Write the ${field}, or drop the example (clean_dataset drops it).`));
  return v;
}

/** An optional string field: undefined when absent, null when present but not a string. */
function optionalString(value: Obj, field: string, line: number, issues: DatasetIssue[]): string | undefined | null {
  const v = value[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  issues.push(issue(line, 'error', 'field_not_string', field, `Field '${field}' is ${describe(v)}, not a string.`, `Make '${field}' a string or remove it.`));
  return null;
}

// ---- preference layouts ----

/** A preference side: a string (one message of `role`), one message object, or a message list. */
function messageList(value: unknown, field: string, role: Role, line: number, issues: DatasetIssue[]): ChatMessage[] | undefined {
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

function normalizePreference(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const prompt = messageList(value.prompt, 'prompt', 'user', line, issues);
  const chosen = messageList(value.chosen, 'chosen', 'assistant', line, issues);
  const rejected = messageList(value.rejected, 'rejected', 'assistant', line, issues);
  return preferenceRow(prompt, chosen, rejected, issues);
}

function normalizeOpenAiDpo(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const input = value.input;
  const prompt = isObject(input) ? messageList(input.messages, 'input.messages', 'user', line, issues) : messageList(undefined, 'input.messages', 'user', line, issues);
  const chosen = messageList(value.preferred_output, 'preferred_output', 'assistant', line, issues);
  const rejected = messageList(value.non_preferred_output, 'non_preferred_output', 'assistant', line, issues);
  return preferenceRow(prompt, chosen, rejected, issues);
}

function normalizeShareGptPreference(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const prompt = shareGptMessages(value.conversations, 'conversations', line, issues);
  const system = optionalString(value, 'system', line, issues);
  const chosen = messageList(value.chosen, 'chosen', 'assistant', line, issues);
  const rejected = messageList(value.rejected, 'rejected', 'assistant', line, issues);
  const withSystem = prompt && system ? [{ role: 'system' as const, content: system }, ...prompt] : prompt;
  return preferenceRow(withSystem, chosen, rejected, issues);
}
