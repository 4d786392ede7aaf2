import { issue, type DatasetIssue } from '../issues.js';
import type { ChatMessage } from '../types.js';
import { optionalString, requiredString, type Normalized, type Obj } from './shared.js';

// ---- Alpaca instruction ----

export function normalizeInstruction(value: Obj, line: number): Normalized {
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
