import { basename } from 'node:path';
import type { ChatMessage, JsonSchemaFormat } from '../plugins/providers.js';
import type { GenerationKind } from './types.js';

/**
 * The prompt of each kind (docs/data-generation.md, "Prompts"). A template has an id (the kind) and a
 * version recorded in every row's provenance: change a text below and raise its version, so rows
 * written by the old text stay told apart from the new.
 */

/** One field the generator writes per row: its JSON name, and its label in a plain-text answer. */
export interface FieldSpec {
  name: string;
  /** "Question": the plain-text prompt ends with `Question:` and the answer is read by these labels. */
  label: string;
  /** Other labels a model may write for the same field, e.g. "Q". */
  aliases: string[];
  /** Whether the value may span lines (an answer); one-line values (a question) end at the line's end. */
  multiline: boolean;
  description: string;
}

interface PromptTemplate {
  id: GenerationKind;
  version: number;
  fields: FieldSpec[];
  /** What to write, for `n` rows (structured requests). */
  task(n: number): string;
  /** The same for one row in a plain-text prompt, which the model fills one labelled field at a time. */
  plainTask: string;
}

const field = (name: string, label: string, aliases: string[], multiline: boolean, description: string): FieldSpec => ({ name, label, aliases, multiline, description });
const plural = (n: number, one: string, many: string) => (n === 1 ? `1 ${one}` : `${n} ${many}`);

export const PROMPT_TEMPLATES: Record<GenerationKind, PromptTemplate> = {
  qa: {
    id: 'qa',
    version: 1,
    fields: [
      field('question', 'Question', ['Q'], false, 'A question a reader of the document could ask, answerable from the passage alone.'),
      field('answer', 'Answer', ['A'], true, 'The answer, using only what the passage says.'),
    ],
    task: (n) =>
      `Write ${plural(n, 'question-answer pair', 'question-answer pairs')} about the passage: questions a reader of this document could ask, ` +
      'each answerable from the passage alone, and answers that use only what the passage says. Do not repeat a question.',
    plainTask: 'Below is a question a reader could ask about the passage, and its answer taken from the passage.',
  },
  instructions: {
    id: 'instructions',
    version: 1,
    fields: [
      field('instruction', 'Instruction', ['Task', 'Request'], false, 'A request to carry out a procedure or task the passage describes.'),
      field('answer', 'Answer', ['Steps', 'Response'], true, 'A step-by-step answer using only the passage.'),
    ],
    task: (n) =>
      `Write ${plural(n, 'instruction', 'instructions')} a user could give to carry out a procedure or task the passage describes, ` +
      'each with an answer that walks through it step by step using only what the passage says. Do not repeat an instruction.',
    plainTask: 'Below is a request to carry out a task the passage describes, and a step-by-step answer taken from the passage.',
  },
  triplets: {
    id: 'triplets',
    version: 1,
    fields: [field('query', 'Query', ['Search query', 'Question'], false, 'A search query this passage answers.')],
    task: (n) =>
      `Write ${plural(n, 'search query', 'search queries')} that this passage answers: what a user would type to find it. ` +
      'Use your own words rather than copying sentences of the passage, and make each query different.',
    plainTask: 'Below is a search query that this passage answers.',
  },
  paraphrase: {
    id: 'paraphrase',
    version: 1,
    fields: [field('request', 'Rewritten request', ['Rewrite', 'Paraphrase', 'Request'], true, "The user's request in other words, same meaning.")],
    task: (n) =>
      `Rewrite the user's request ${n === 1 ? 'once' : `${n} times, each differently`}, in other words, keeping its meaning and every detail the answer relies on, ` +
      'so that the same answer still fits.',
    plainTask: "Below, the user's request is rewritten in other words with the same meaning.",
  },
  preference_negatives: {
    id: 'preference_negatives',
    version: 1,
    fields: [field('answer', 'Worse answer', ['Answer', 'Response'], true, 'A plausible but worse answer.')],
    task: (n) =>
      `Write ${plural(n, 'worse answer', 'worse answers')} to the conversation: fluent and plausible, but less helpful than the good answer ` +
      '(incomplete, vague, subtly wrong or off the point). Do not make them absurd or rude, and do not copy the good answer.',
    plainTask: 'Below is a worse answer to the conversation: plausible, but less helpful than the good answer.',
  },
};

/** What one request is about: a document passage, or a seed example. */
export type PromptSubject =
  | { type: 'passage'; file: string; heading_path: string[]; text: string }
  | { type: 'seed'; conversation: Array<{ role: string; content: string }>; request: string; answer: string };

export interface PromptInput {
  subject: PromptSubject;
  /** Rows asked of this request. */
  n: number;
  language?: string;
  guidance?: string;
}

const SYSTEM =
  'You write training examples for fine-tuning a language model. Use only what the given text says; never add facts of your own. ' +
  'Answer with JSON only, matching the schema you are given.';

/** The chat messages of a structured request. */
export function structuredPrompt(kind: GenerationKind, input: PromptInput): ChatMessage[] {
  const template = PROMPT_TEMPLATES[kind];
  const shape = `{"rows": [{${template.fields.map((f) => `"${f.name}": "…"`).join(', ')}}]}`;
  const lines = [
    subjectText(input.subject),
    '',
    template.task(input.n),
    ...extraLines(template, input),
    `Answer with JSON of this shape holding exactly ${input.n} ${input.n === 1 ? 'row' : 'rows'}: ${shape}`,
  ];
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: lines.join('\n') },
  ];
}

/**
 * The plain-text prompt of one row, for a model that cannot be held to a schema (the local engine):
 * the fields written so far, then the next field's label, so the model continues with its value.
 */
export function plainPrompt(kind: GenerationKind, input: PromptInput, filled: Array<{ label: string; value: string }> = []): string {
  const template = PROMPT_TEMPLATES[kind];
  const next = template.fields[filled.length] ?? template.fields[template.fields.length - 1];
  return [subjectText(input.subject), '', template.plainTask, ...extraLines(template, input), '', ...filled.map((f) => `${f.label}: ${f.value}`), `${next.label}:`].join('\n');
}

function extraLines(template: PromptTemplate, input: PromptInput): string[] {
  const lines: string[] = [];
  if (input.language) lines.push(`Write the ${template.fields.map((f) => f.name).join(' and ')} in ${input.language}.`);
  if (input.guidance) lines.push(`Guidance from the person who asked for these examples: ${input.guidance}`);
  return lines;
}

function subjectText(subject: PromptSubject): string {
  if (subject.type === 'passage') {
    // The file's name, not its path: a remote generator needs no view of the user's folders.
    const where = [`Document: ${basename(subject.file)}`, ...(subject.heading_path.length ? [`Section: ${subject.heading_path.join(' > ')}`] : [])];
    return [...where, 'Passage:', '<<<', subject.text, '>>>'].join('\n');
  }
  const turns = subject.conversation.map((m) => `${m.role === 'user' ? 'User' : m.role === 'assistant' ? 'Assistant' : 'System'}: ${m.content}`);
  return [
    ...(turns.length ? ['Conversation so far:', '<<<', ...turns, '>>>'] : []),
    "User's request:",
    '<<<',
    subject.request,
    '>>>',
    'Good answer:',
    '<<<',
    subject.answer,
    '>>>',
  ].join('\n');
}

/** OpenAI-style structured output for a kind: `{rows: [{field: string, …}]}`, strict (every field required, nothing else). */
export function responseFormat(kind: GenerationKind): JsonSchemaFormat {
  const template = PROMPT_TEMPLATES[kind];
  const properties = Object.fromEntries(template.fields.map((f) => [f.name, { type: 'string', description: f.description }]));
  const row = { type: 'object', properties, required: template.fields.map((f) => f.name), additionalProperties: false };
  return {
    type: 'json_schema',
    json_schema: {
      name: `finetune_mcp_${kind}_v${template.version}`,
      schema: { type: 'object', properties: { rows: { type: 'array', items: row } }, required: ['rows'], additionalProperties: false },
      strict: true,
    },
  };
}
