import { describe, expect, it } from 'vitest';
import { answerSchema, parseLabelled, parseStructured } from '../../src/generation/parse-answer.js';
import { plainPrompt, PROMPT_TEMPLATES, responseFormat, structuredPrompt } from '../../src/generation/prompts.js';
import { negativeFor, spreadCount } from '../../src/generation/sources.js';
import { GENERATION_KINDS, type DocumentChunk } from '../../src/generation/types.js';

describe('spreading count over units', () => {
  it('round-robin while count ≥ units: shares differ by at most one, the first units get the extra', () => {
    expect(spreadCount(40, 3)).toEqual([14, 13, 13]);
    expect(spreadCount(6, 3)).toEqual([2, 2, 2]);
    expect(spreadCount(1, 1)).toEqual([1]);
  });
  it('fewer rows than units: every (units / count)-th unit, so the whole source is sampled', () => {
    expect(spreadCount(3, 10)).toEqual([1, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
    expect(spreadCount(2, 100).reduce((a, b) => a + b, 0)).toBe(2);
    expect(spreadCount(2, 100).indexOf(1, 1)).toBe(50);
  });
});

describe('triplet negatives', () => {
  const chunk = (file: string, index: number): DocumentChunk => ({ file, index, heading_path: [], text: `${file}#${index}`, span: [0, 1], tokens: 1 });
  const all = [chunk('a', 0), chunk('a', 1), chunk('a', 2), chunk('b', 0)];
  it('comes from the same document when it has another chunk, else from another document; the same for the same seed', () => {
    for (let j = 0; j < 20; j++) {
      const picked = negativeFor(0, j, all, 3);
      expect(picked.file).toBe('a');
      expect(picked.index).not.toBe(0);
      expect(negativeFor(0, j, all, 3)).toBe(picked);
    }
    expect(negativeFor(3, 0, all, 3).file).toBe('a');
    const drawn = new Set(Array.from({ length: 20 }, (_, j) => negativeFor(0, j, all, 3).index));
    expect(drawn).toEqual(new Set([1, 2]));
  });
});

describe('structured answers', () => {
  it('every kind has a strict schema whose fields the zod schema requires non-empty', () => {
    for (const kind of GENERATION_KINDS) {
      const format = responseFormat(kind);
      const names = PROMPT_TEMPLATES[kind].fields.map((f) => f.name);
      expect(format.json_schema).toMatchObject({ name: `finetune_mcp_${kind}_v1`, strict: true, schema: { required: ['rows'], additionalProperties: false } });
      expect((format.json_schema.schema as { properties: { rows: { items: { required: string[] } } } }).properties.rows.items.required).toEqual(names);
      const row = Object.fromEntries(names.map((n) => [n, 'x']));
      expect(answerSchema(kind).safeParse({ rows: [row] }).success).toBe(true);
      expect(answerSchema(kind).safeParse({ rows: [{ ...row, [names[0]]: ' ' }] }).success).toBe(false);
    }
  });
  it('reads JSON, in a code fence too, and says what is wrong otherwise', () => {
    expect(parseStructured('qa', '{"rows": [{"question": " Q ", "answer": "A"}]}')).toEqual({ items: [{ question: 'Q', answer: 'A' }] });
    expect(parseStructured('triplets', '```json\n{"rows": [{"query": "q"}]}\n```')).toEqual({ items: [{ query: 'q' }] });
    expect(parseStructured('qa', '{"rows": [{"question": "Q"}]}')).toEqual({ problem: expect.stringMatching(/^the answer does not match the qa schema: rows\[0\]\.answer: /) });
    expect(parseStructured('qa', '{"rows": [')).toEqual({ problem: expect.stringMatching(/^the answer is not JSON/) });
    expect(parseStructured('qa', '')).toEqual({ problem: 'the answer is empty' });
  });
  it('asks for the number of rows, with language and guidance', () => {
    const [system, user] = structuredPrompt('qa', { subject: { type: 'passage', file: '/home/me/kb/refunds.md', heading_path: ['Refunds', 'Digital'], text: 'Body.' }, n: 3, language: 'French', guidance: 'Be brief.' });
    expect(system.content).toContain('JSON only');
    expect(user.content).toContain('Document: refunds.md\nSection: Refunds > Digital\nPassage:\n<<<\nBody.\n>>>');
    expect(user.content).not.toContain('/home/me');
    expect(user.content).toContain('Write 3 question-answer pairs');
    expect(user.content).toContain('Write the question and answer in French.');
    expect(user.content).toContain('Be brief.');
    expect(user.content).toContain('holding exactly 3 rows');
  });
});

describe('labelled plain-text answers', () => {
  it('ends the prompt with the next label, after the fields already written', () => {
    expect(plainPrompt('qa', { subject: { type: 'passage', file: 'a.md', heading_path: [], text: 'T' }, n: 1 }).endsWith('\n\nQuestion:')).toBe(true);
    expect(plainPrompt('qa', { subject: { type: 'passage', file: 'a.md', heading_path: [], text: 'T' }, n: 1 }, [{ label: 'Question', value: 'Why?' }]).endsWith('\n\nQuestion: Why?\nAnswer:')).toBe(true);
    expect(plainPrompt('preference_negatives', { subject: { type: 'seed', conversation: [], request: 'R', answer: 'A' }, n: 1 }).endsWith('Worse answer:')).toBe(true);
  });
  it('reads labels in any case, bold, numbered or listed; one-line fields end at the line, answers at the next label', () => {
    expect(parseLabelled('qa', 'Question: What is it?\nAnswer: A ball.\nIt is red.\nQuestion: next')).toEqual({ items: [{ question: 'What is it?', answer: 'A ball.\nIt is red.' }] });
    expect(parseLabelled('qa', '1. **question:** Why?\n- **A:** Because.')).toEqual({ items: [{ question: 'Why?', answer: 'Because.' }] });
    expect(parseLabelled('qa', 'Question:\nWhen?\nAnswer: Now.')).toEqual({ items: [{ question: 'When?', answer: 'Now.' }] });
    expect(parseLabelled('triplets', 'Search query: refund time\nmore text')).toEqual({ items: [{ query: 'refund time' }] });
    expect(parseLabelled('preference_negatives', 'Worse answer: Maybe.')).toEqual({ items: [{ answer: 'Maybe.' }] });
  });
  it('a missing or empty field is a problem, not a guess', () => {
    expect(parseLabelled('qa', 'Question: Once upon a time there was a ball.')).toEqual({ problem: 'no "Answer:" field in the answer' });
    expect(parseLabelled('qa', 'Question: Why?\nAnswer:')).toEqual({ problem: '"Answer:" is empty' });
    expect(parseLabelled('instructions', 'Once upon a time')).toEqual({ problem: 'no "Instruction:" field in the answer' });
  });
});
