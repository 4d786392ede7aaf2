/**
 * Turns one LLM span into an OpenAI-style chat example, whichever convention recorded it:
 * OpenInference (`llm.input_messages.N.message.*`, `input.value`/`output.value`) or OpenTelemetry
 * GenAI (`gen_ai.input.messages`/`gen_ai.output.messages` as JSON, `gen_ai.system_instructions`,
 * and the older `gen_ai.prompt.N.role/content` and `gen_ai.completion.N.*` or JSON `gen_ai.prompt`).
 * Lists of objects are flattened with zero-based indices, so messages are rebuilt by prefix + index.
 */
import { groupByIndex, parseJsonAttribute, valueAt, type FlatAttributes } from './attributes.js';

interface ChatToolCall {
  id?: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: string;
  content: string;
  name?: string;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
}

type SpanAttributes = FlatAttributes;

function flatToObject(entries: Map<string, unknown>, prefix: string): SpanAttributes {
  const out: SpanAttributes = {};
  for (const [key, value] of entries) if (key.startsWith(prefix)) out[key.slice(prefix.length)] = value;
  return out;
}

function messageFromFlat(fields: Map<string, unknown>): ChatMessage {
  const attrs = Object.fromEntries(fields);
  let content = typeof attrs['message.content'] === 'string' ? (attrs['message.content'] as string) : '';
  if (!content) {
    content = groupByIndex(attrs, 'message.contents.')
      .filter((part) => (part.get('message_content.type') ?? 'text') === 'text')
      .map((part) => String(part.get('message_content.text') ?? ''))
      .join('');
  }
  const message: ChatMessage = { role: String(attrs['message.role'] ?? 'assistant'), content };
  if (typeof attrs['message.name'] === 'string') message.name = attrs['message.name'];
  if (typeof attrs['message.tool_call_id'] === 'string') message.tool_call_id = attrs['message.tool_call_id'];
  const calls = groupByIndex(attrs, 'message.tool_calls.').map((call) => {
    const c = flatToObject(call, 'tool_call.');
    return {
      ...(typeof c.id === 'string' ? { id: c.id } : {}),
      type: 'function' as const,
      function: { name: String(c['function.name'] ?? ''), arguments: String(c['function.arguments'] ?? '{}') },
    };
  });
  if (calls.length) message.tool_calls = calls;
  return message;
}

const asText = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value));

/** A tool call in OpenAI (`{id, function: {name, arguments}}`) or GenAI/legacy (`{id, name, arguments}`) shape. */
function toolCall(raw: Record<string, any>): ChatToolCall {
  const fn = (raw.function ?? raw) as Record<string, unknown>;
  return { ...(raw.id !== undefined ? { id: String(raw.id) } : {}), type: 'function', function: { name: String(fn.name ?? ''), arguments: typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}) } };
}

/** Messages from a JSON list: OpenAI chat messages, or OTel GenAI `{role, parts: [{type: text|tool_call|tool_call_response}]}`. */
function messagesFromValue(value: unknown, defaultRole: string): ChatMessage[] {
  const list = Array.isArray(value) ? value : (value as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(list)) return [];
  const out: ChatMessage[] = [];
  for (const raw of list as Array<Record<string, any>>) {
    if (typeof raw !== 'object' || raw === null) continue;
    const role = String(raw.role ?? defaultRole);
    const parts = Array.isArray(raw.parts) ? (raw.parts as Array<Record<string, unknown>>) : [];
    const responses = parts.filter((p) => p.type === 'tool_call_response');
    if (responses.length) {
      for (const r of responses) out.push({ role: 'tool', content: asText(r.response ?? r.result), tool_call_id: String(r.id ?? '') });
      continue;
    }
    let content: string;
    if (typeof raw.content === 'string') content = raw.content;
    else if (Array.isArray(raw.content)) content = (raw.content as Array<Record<string, unknown>>).filter((p) => p.type === 'text' || typeof p.text === 'string').map((p) => String(p.text ?? p.content ?? '')).join('');
    else content = parts.filter((p) => p.type === 'text').map((p) => String(p.content ?? '')).join('');
    const calls = [...parts.filter((p) => p.type === 'tool_call'), ...(Array.isArray(raw.tool_calls) ? raw.tool_calls : [])].map((c) => toolCall(c as Record<string, any>));
    const message: ChatMessage = { role, content };
    if (typeof raw.name === 'string') message.name = raw.name;
    if (raw.tool_call_id !== undefined) message.tool_call_id = String(raw.tool_call_id);
    if (calls.length) message.tool_calls = calls;
    out.push(message);
  }
  return out;
}

/** The answer text of an output value: plain text, or JSON with text/content/choices[0].message. */
function outputText(value: unknown): string | undefined {
  if (typeof value === 'string') return value || undefined;
  const parsed = value as Record<string, any> | null;
  const text = parsed?.text ?? parsed?.content ?? parsed?.choices?.[0]?.message?.content ?? parsed?.message?.content;
  return typeof text === 'string' ? text : undefined;
}

type SpanConversion = { ok: true; messages: ChatMessage[] } | { ok: false; reason: string };
type Read = { ok: true; messages: ChatMessage[] } | { ok: false; reason: string };

/** A JSON attribute read as messages (a list) or as one answer (an object or text); a located reason when it is not JSON. */
function readJsonMessages(attributes: SpanAttributes, key: string, role: 'user' | 'assistant', textIsJson: boolean): Read {
  const raw = valueAt(attributes, key);
  if (raw === undefined) return { ok: true, messages: [] };
  const parsed = typeof raw === 'string' && !textIsJson && !/^\s*[[{]/.test(raw) ? { ok: true as const, value: raw } : parseJsonAttribute(raw);
  if (!parsed.ok) return { ok: false, reason: `${key} is not valid JSON` };
  if (Array.isArray(parsed.value) || (parsed.value as { messages?: unknown } | null)?.messages) return { ok: true, messages: messagesFromValue(parsed.value, role) };
  const text = outputText(parsed.value);
  return { ok: true, messages: text === undefined ? [] : [{ role, content: text }] };
}

function inputMessages(attributes: SpanAttributes): Read {
  const oi = groupByIndex(attributes, 'llm.input_messages.').map(messageFromFlat);
  if (oi.length) return { ok: true, messages: oi };
  const genai = readJsonMessages(attributes, 'gen_ai.input.messages', 'user', true);
  if (!genai.ok) return genai;
  if (genai.messages.length) {
    // System instructions are a list of parts (or plain text), not of messages.
    const raw = valueAt(attributes, 'gen_ai.system_instructions');
    const parsed = typeof raw === 'string' && !/^\s*[[{]/.test(raw) ? { ok: true as const, value: [{ type: 'text', content: raw }] } : parseJsonAttribute(raw);
    if (!parsed.ok) return { ok: false, reason: 'gen_ai.system_instructions is not valid JSON' };
    const parts = Array.isArray(parsed.value) ? (parsed.value as Array<Record<string, unknown>>).filter((p) => p?.type === 'text').map((p) => String(p.content ?? '')).join('') : '';
    return { ok: true, messages: parts ? [{ role: 'system', content: parts }, ...genai.messages] : genai.messages };
  }
  const legacy = readJsonMessages(attributes, 'gen_ai.prompt', 'user', false);
  if (!legacy.ok || legacy.messages.length) return legacy;
  const value = attributes['input.value'];
  if (typeof value !== 'string') return { ok: true, messages: [] };
  if (attributes['input.mime_type'] !== 'application/json') return { ok: true, messages: [{ role: 'user', content: value }] };
  const parsed = parseJsonAttribute(value);
  if (!parsed.ok) return { ok: false, reason: 'input.value is not valid JSON although input.mime_type says so' };
  return { ok: true, messages: messagesFromValue(parsed.value, 'user') };
}

function outputMessages(attributes: SpanAttributes): Read {
  const oi = groupByIndex(attributes, 'llm.output_messages.').map(messageFromFlat);
  if (oi.length) return { ok: true, messages: oi };
  for (const [key, textIsJson] of [['gen_ai.output.messages', true], ['gen_ai.completion', false]] as const) {
    const read = readJsonMessages(attributes, key, 'assistant', textIsJson);
    if (!read.ok || read.messages.length) return read;
  }
  const value = attributes['output.value'];
  if (typeof value !== 'string') return { ok: true, messages: [] };
  if (attributes['output.mime_type'] !== 'application/json') return { ok: true, messages: value ? [{ role: 'assistant', content: value }] : [] };
  const parsed = parseJsonAttribute(value);
  const text = parsed.ok ? outputText(parsed.value) : value;
  return { ok: true, messages: text === undefined || text === '' ? [] : [{ role: 'assistant', content: text }] };
}

type SpanExchange = { ok: true; input: ChatMessage[]; output: ChatMessage[] } | { ok: false; reason: string };

/** The input messages and the assistant answer of one LLM span; the reason when the span cannot give them. */
export function spanToExchange(attributes: SpanAttributes): SpanExchange {
  const input = inputMessages(attributes);
  if (!input.ok) return input;
  const output = outputMessages(attributes);
  if (!output.ok) return output;
  if (!input.messages.length) return { ok: false, reason: 'no input messages (llm.input_messages.*, gen_ai.input.messages, gen_ai.prompt.* or input.value)' };
  const assistant = output.messages.filter((m) => m.role === 'assistant' && (m.content.trim() || m.tool_calls?.length));
  if (!assistant.length) return { ok: false, reason: 'no assistant output (llm.output_messages.*, gen_ai.output.messages, gen_ai.completion.* or output.value)' };
  return { ok: true, input: input.messages, output: assistant };
}

/** One chat example from one LLM span; the reason when the span cannot give one. */
export function spanToChat(attributes: SpanAttributes): SpanConversion {
  const exchange = spanToExchange(attributes);
  return exchange.ok ? { ok: true, messages: [...exchange.input, ...exchange.output] } : exchange;
}
