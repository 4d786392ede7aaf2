/**
 * Turns one OpenInference LLM span (flat dot-path attributes, as Phoenix returns them) into an
 * OpenAI-style chat example. Lists of objects are flattened with zero-based indices
 * (`llm.input_messages.0.message.role`), so messages are rebuilt by prefix + index, not by split.
 */

export interface ChatToolCall {
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

export type SpanAttributes = Record<string, unknown>;

/** Groups `<prefix>.<i>.<rest>` keys by index i (numeric order: 10 after 9). */
function groupByIndex(attributes: SpanAttributes, prefix: string): Array<Map<string, unknown>> {
  const groups = new Map<number, Map<string, unknown>>();
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const dot = rest.indexOf('.');
    const index = Number(rest.slice(0, dot));
    if (dot <= 0 || !Number.isInteger(index)) continue;
    if (!groups.has(index)) groups.set(index, new Map());
    groups.get(index)!.set(rest.slice(dot + 1), value);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
}

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

/** Messages from `input.value` when a span has no per-message attributes (OpenAI or OTel GenAI `parts` shapes). */
function messagesFromValue(value: unknown): ChatMessage[] {
  const list = Array.isArray(value) ? value : (value as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(list)) return [];
  const out: ChatMessage[] = [];
  for (const raw of list as Array<Record<string, unknown>>) {
    const role = String(raw.role ?? 'user');
    if (typeof raw.content === 'string') {
      out.push({ role, content: raw.content });
      continue;
    }
    const parts = Array.isArray(raw.parts) ? (raw.parts as Array<Record<string, unknown>>) : [];
    const text = parts.filter((p) => p.type === 'text').map((p) => String(p.content ?? '')).join('');
    const calls = parts
      .filter((p) => p.type === 'tool_call')
      .map((p) => ({ id: String(p.id ?? ''), type: 'function' as const, function: { name: String(p.name ?? ''), arguments: JSON.stringify(p.arguments ?? {}) } }));
    const responses = parts.filter((p) => p.type === 'tool_call_response');
    if (responses.length) {
      for (const r of responses) out.push({ role: 'tool', content: typeof r.response === 'string' ? r.response : JSON.stringify(r.response), tool_call_id: String(r.id ?? '') });
      continue;
    }
    out.push({ role, content: text, ...(calls.length ? { tool_calls: calls } : {}) });
  }
  return out;
}

function outputFromValue(value: string, mimeType: unknown): string | undefined {
  if (mimeType !== 'application/json') return value || undefined;
  try {
    const parsed = JSON.parse(value) as Record<string, any>;
    const text = parsed.text ?? parsed.content ?? parsed.choices?.[0]?.message?.content ?? parsed.message?.content;
    return typeof text === 'string' ? text : undefined;
  } catch {
    return value || undefined;
  }
}

export type SpanConversion = { ok: true; messages: ChatMessage[] } | { ok: false; reason: string };

/** One chat example from one LLM span; the reason when the span cannot give one. */
export function spanToChat(attributes: SpanAttributes): SpanConversion {
  let input = groupByIndex(attributes, 'llm.input_messages.').map(messageFromFlat);
  let output = groupByIndex(attributes, 'llm.output_messages.').map(messageFromFlat);
  if (!input.length && typeof attributes['input.value'] === 'string') {
    const raw = attributes['input.value'];
    if (attributes['input.mime_type'] === 'application/json') {
      try {
        input = messagesFromValue(JSON.parse(raw));
      } catch {
        return { ok: false, reason: 'input.value is not valid JSON although input.mime_type says so' };
      }
    } else {
      input = [{ role: 'user', content: raw }];
    }
  }
  if (!output.length && typeof attributes['output.value'] === 'string') {
    const text = outputFromValue(attributes['output.value'], attributes['output.mime_type']);
    if (text !== undefined) output = [{ role: 'assistant', content: text }];
  }
  if (!input.length) return { ok: false, reason: 'no input messages (llm.input_messages.* or input.value)' };
  const assistant = output.filter((m) => m.role === 'assistant' && (m.content.trim() || m.tool_calls?.length));
  if (!assistant.length) return { ok: false, reason: 'no assistant output (llm.output_messages.* or output.value)' };
  return { ok: true, messages: [...input, ...assistant] };
}
