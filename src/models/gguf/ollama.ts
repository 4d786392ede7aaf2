import { FinetuneError } from '../../errors.js';
import type { ChatMessage, TextTokenizer } from '../files/tokenizer.js';

/**
 * Ollama Modelfile for a GGUF export. Ollama's TEMPLATE is a Go template, not Jinja: each chat
 * format we know has its Ollama template here, and a format is chosen only when its template,
 * rendered by the small Go-template subset below, gives exactly what the model's own Jinja chat
 * template gives for probe conversations. Otherwise no TEMPLATE is written and the Modelfile says why.
 */

interface ChatFormat {
  name: string;
  template: string;
  stop: string[];
}

const FORMATS: ChatFormat[] = [
  {
    name: 'ChatML',
    template: '{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n',
    stop: ['<|im_start|>', '<|im_end|>'],
  },
  {
    name: 'Llama 3',
    template: '{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n',
    stop: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
  },
  {
    name: 'Zephyr',
    template: '{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}</s>\n{{ end }}<|assistant|>\n',
    stop: ['<|system|>', '<|user|>', '<|assistant|>', '</s>'],
  },
];

/** Renders the Go-template subset the templates above use: `range .Messages`, `end`, `.Role`, `.Content`, and `{{-`/`-}}` trimming. */
export function renderGoTemplate(template: string, messages: readonly ChatMessage[]): string {
  const parts: Array<{ text: string } | { action: string }> = [];
  const actionPattern = /\{\{(-?)\s*(.*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = actionPattern.exec(template); m; m = actionPattern.exec(template)) {
    let text = template.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    parts.push({ text }, { action: m[2] });
    trimNext = m[3] === '-';
    last = m.index + m[0].length;
  }
  parts.push({ text: trimNext ? template.slice(last).replace(/^\s+/, '') : template.slice(last) });
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if ('text' in part) out += part.text;
    else if (part.action === 'range .Messages') {
      const end = parts.findIndex((p, j) => j > i && 'action' in p && p.action === 'end');
      const body = parts.slice(i + 1, end);
      for (const message of messages) {
        for (const p of body) out += 'text' in p ? p.text : p.action === '.Role' ? message.role : p.action === '.Content' ? message.content : '';
      }
      i = end;
    } else throw new FinetuneError('INTERNAL', `Go template action {{ ${part.action} }} is outside the rendered subset.`);
  }
  return out;
}

const PROBES: ChatMessage[][] = [
  [{ role: 'user', content: 'Hello there.' }],
  [
    { role: 'system', content: 'You are brief.' },
    { role: 'user', content: 'What is 2+2?' },
    { role: 'assistant', content: 'Four.' },
    { role: 'user', content: 'And 3+3?' },
  ],
];

/** The known chat format whose Ollama template renders as the model's Jinja template does, or null. */
function matchChatFormat(tokenizer: TextTokenizer): ChatFormat | null {
  if (!tokenizer.chat_template) return null;
  const bos = tokenizer.special_tokens.bos_token ?? '';
  const jinja = (messages: ChatMessage[]): string | null => {
    try {
      const text = tokenizer.applyChatTemplate(messages, { add_generation_prompt: true });
      // llama.cpp adds BOS itself (tokenizer.ggml.add_bos_token); Ollama templates leave it out.
      return bos && text.startsWith(bos) ? text.slice(bos.length) : text;
    } catch {
      return null; // a template that refuses a probe (e.g. no system role) is not one of the known formats
    }
  };
  const rendered = PROBES.map(jinja);
  return FORMATS.find((format) => PROBES.every((probe, i) => rendered[i] === renderGoTemplate(format.template, probe))) ?? null;
}

function tripleQuoted(value: string, field: string): string {
  if (value.includes('"""')) {
    throw new FinetuneError('INVALID_INPUT', `${field} contains """, which ends a Modelfile value early.`, { recovery: `Remove the triple quotes from ${field}.`, details: { field } });
  }
  return `"""${value}"""`;
}

interface Modelfile {
  text: string;
  template: string | null;
  stop: string[];
  note: string;
}

/** The Modelfile beside `ggufFile`: FROM, TEMPLATE and stop PARAMETERs when the chat format is known, SYSTEM when given. */
export function renderModelfile(options: { label: string; ggufFile: string; tokenizer: TextTokenizer; system?: string }): Modelfile {
  const format = matchChatFormat(options.tokenizer);
  const eos = options.tokenizer.special_tokens.eos_token;
  const stop = format ? format.stop : eos ? [eos] : [];
  const note = format
    ? `TEMPLATE is the ${format.name} chat format, checked to render as the model's chat template.`
    : options.tokenizer.chat_template
      ? "No TEMPLATE: the model's chat template is not a format this exporter maps to an Ollama Go template. It is in the GGUF as tokenizer.chat_template, which Ollama matches against the templates it knows when the Modelfile has none (it may find none); check `ollama show --template` before relying on chat, or add a TEMPLATE by hand."
      : 'No TEMPLATE: the model has no chat template; use it for plain completion (ollama run with a raw prompt).';
  const lines = [`# Ollama Modelfile for ${options.label}, written by finetune-mcp export_model.`, `# ${note}`, `FROM ./${options.ggufFile}`];
  if (format) lines.push(`TEMPLATE ${tripleQuoted(format.template, 'template')}`);
  for (const s of stop) lines.push(`PARAMETER stop ${JSON.stringify(s)}`);
  if (options.system !== undefined) lines.push(`SYSTEM ${tripleQuoted(options.system, 'system')}`);
  return { text: `${lines.join('\n')}\n`, template: format?.name ?? null, stop, note };
}
