import { issue, type DatasetIssue } from '../issues.js';
import type { ChatMessage, ChatRow, Role } from '../types.js';
import { functionOf, toolsOf } from './chat.js';
import { FORMAT_FIX, isObject, optionalString, type Normalized, type Obj } from './shared.js';

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

export function shareGptMessages(turns: unknown, field: string, line: number, issues: DatasetIssue[]): ChatMessage[] | undefined {
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

export function normalizeShareGpt(value: Obj, line: number): Normalized {
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
