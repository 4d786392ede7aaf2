import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../errors.js';
import { readUserJson } from '../workspace/confine.js';
import { chatRenderer } from './tokenizers.js';
import type { ChatRow, CompletionRow } from './types.js';

interface ChatTemplate {
  /** Where the template came from: "inline" or the tokenizer_config.json path. */
  origin: string;
  template: string;
  config: Record<string, unknown>;
}

/**
 * A chat template given inline (Jinja text) or found in a model folder's tokenizer_config.json
 * (`chat_template` as a string, or the "default" entry of a list of named templates).
 */
export function loadChatTemplate(spec: string, resolveDir: (path: string) => string): ChatTemplate {
  if (spec.includes('{%') || spec.includes('{{')) return { origin: 'inline', template: spec, config: {} };
  const path = resolveDir(spec);
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'tokenizer_config.json') : path;
  if (!existsSync(file)) {
    throw new FinetuneError('FILE_ERROR', `No tokenizer_config.json at '${spec}'.`, { recovery: 'Give a Jinja template, a model id (mdl_…) or a folder whose tokenizer_config.json has chat_template.', details: { field: 'chat_template', file } });
  }
  const config = readUserJson(file, 'chat_template') as Record<string, unknown>; // confined like the path; errors show no content
  const raw = config.chat_template;
  const template = typeof raw === 'string' ? raw : Array.isArray(raw) ? (raw as Array<{ name?: string; template?: string }>).find((t) => t.name === 'default')?.template : undefined;
  if (!template) throw new FinetuneError('INVALID_INPUT', `'${file}' has no chat_template.`, { details: { field: 'chat_template', file } });
  return { origin: file, template, config };
}

/**
 * Renders chat rows with the template into prompt/completion pairs: the prompt is everything before
 * the last assistant message plus the generation prompt, the completion is what the template adds
 * for that message (its text and end-of-turn tokens), so the loss falls on exactly what the model says.
 */
export async function chatToCompletion(template: ChatTemplate): Promise<(row: ChatRow) => CompletionRow | undefined> {
  const render = await chatRenderer(template.template, template.config);
  return (row) => {
    const last = row.messages[row.messages.length - 1];
    if (!last || last.role !== 'assistant') return undefined;
    const prompt = render(row.messages.slice(0, -1), row.tools, true);
    const full = render(row.messages, row.tools, false);
    return { prompt, completion: full.startsWith(prompt) ? full.slice(prompt.length) : last.content };
  };
}
