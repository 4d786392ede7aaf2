import { issue, type DatasetIssue } from '../issues.js';
import type { BinaryFeedbackRow, ChatMessage, ChatRow } from '../types.js';
import { normalizeChat } from './chat.js';
import { messageList } from './preference.js';
import { normalizeShareGpt } from './sharegpt.js';
import { describe, FORMAT_FIX, type Normalized, type Obj } from './shared.js';

/**
 * What to do with binary feedback where no backend trains KTO: the refusals of the trainer and of
 * configure_training name these options.
 */
export const KTO_OPTIONS =
  'train it with KTO on a backend that supports it (TRL KTOTrainer, LLaMA-Factory stage kto); or, where prompts have a good and a bad answer, ' +
  'pair them as preference rows {prompt, chosen: the true answer, rejected: the false one} and train DPO; or train SFT on the answers labelled true only, ' +
  'as chat rows (prompt messages + answer), never on the false ones';

/** Keys that hold a row's binary feedback: TRL's `label`, LLaMA-Factory's default `kto_tag`. */
export const FEEDBACK_KEYS = ['label', 'kto_tag'] as const;

/**
 * KTO's unpaired feedback: one answer marked desirable (label true) or undesirable (false). Read from
 * TRL's `{prompt, completion, label}` (strings or message lists), LLaMA-Factory's `{messages, label}`
 * or ShareGPT `{conversations, label}`, where the last assistant message is the judged answer.
 */
export function normalizeKto(value: Obj, line: number): Normalized {
  const issues: DatasetIssue[] = [];
  const key = FEEDBACK_KEYS.find((k) => k in value) ?? 'label';
  const raw = value[key];
  const label = typeof raw === 'boolean' ? raw : undefined;
  if (label === undefined) {
    issues.push(
      issue(line, 'error', raw === undefined ? 'missing_field' : 'invalid_feedback_label', key, `${key} is ${raw === undefined ? 'missing' : `${JSON.stringify(raw)} (${describe(raw)})`}, not true or false.`, 'Mark each answer with "label": true (desirable) or false (undesirable).'),
    );
  }
  let sides: { prompt?: ChatMessage[]; completion?: ChatMessage[] };
  if ('prompt' in value || 'completion' in value) {
    sides = { prompt: messageList(value.prompt, 'prompt', 'user', line, issues), completion: messageList(value.completion, 'completion', 'assistant', line, issues) };
  } else {
    const chat = 'conversations' in value ? normalizeShareGpt(value, line) : normalizeChat(value, line);
    issues.push(...chat.issues);
    sides = chat.row ? lastAnswer((chat.row as ChatRow).messages, 'messages' in value ? 'messages' : 'conversations', line, issues) : {};
  }
  if (!sides.prompt || !sides.completion || label === undefined) return { issues };
  const row: BinaryFeedbackRow = { prompt: sides.prompt, completion: sides.completion, label };
  return { row, issues };
}

/** A conversation as the prompt (every message before the last) and the judged answer (the last, an assistant's). */
function lastAnswer(messages: ChatMessage[], field: string, line: number, issues: DatasetIssue[]): { prompt?: ChatMessage[]; completion?: ChatMessage[] } {
  const last = messages[messages.length - 1];
  if (last?.role !== 'assistant' || messages.length < 2) {
    issues.push(issue(line, 'error', 'feedback_needs_assistant_last', field, 'The label judges the last message, which must be an assistant answer after at least one prompt message.', FORMAT_FIX.kto));
    return {};
  }
  return { prompt: messages.slice(0, -1), completion: [last] };
}
