import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantileSorted } from '../../src/datasets/stats.js';
import { openAiCounter } from '../../src/datasets/tokenizers.js';
import { defaultEpochs } from '../../src/datasets/validate.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { validateDatasetTool } from '../../tools/validate-dataset.js';
import { errorCode } from '../helpers/mcp.js';
import { datasetClient, fixture, useDatasetClient } from './helpers.js';

const issuesAt = (issues: Array<{ line: number; code: string }>) => issues.filter((i) => i.line > 0).map((i) => [i.line, i.code]);

describe('validate_dataset', () => {
  const env = useDatasetClient('ftm-ds-validate-');

  it('reports every problem of a malformed chat file with its line, code, field and fix', async () => {
    const out = await env.t.callOk(validateDatasetTool, { path: fixture('malformed_chat.jsonl') });
    expect(out.valid).toBe(false);
    expect(issuesAt(out.issues)).toEqual([
      [2, 'invalid_json'],
      [3, 'invalid_utf8'],
      [4, 'data_type'],
      [5, 'missing_messages_list'],
      [6, 'messages_not_list'],
      [7, 'message_missing_key'],
      [8, 'message_unrecognized_key'],
      [9, 'unrecognized_role'],
      [10, 'missing_content'],
      [11, 'content_not_string'],
      [12, 'empty_content'],
      [13, 'example_missing_assistant_message'],
      [14, 'duplicate_exact'],
      [15, 'duplicate_normalized'],
      [16, 'unresolved_placeholder'],
      [17, 'forbidden_special_token'],
    ]);
    const byLine = Object.fromEntries(out.issues.map((i) => [i.line, i]));
    expect(byLine[14].message).toContain('line 1');
    expect(byLine[15].message).toContain('line 1');
    expect(byLine[7].field).toBe('messages[0].content');
    expect(byLine[12]).toMatchObject({ severity: 'error', field: 'messages[1].content' });
    expect(byLine[16]).toMatchObject({ severity: 'warning', field: 'messages[1].content' });
    for (const found of out.issues) expect(found.fix.length).toBeGreaterThan(10);
    expect(out.summary.records).toBe(18);
    expect(out.summary.by_code.too_few_examples).toBe(1);
  });

  it('matches the cookbook notebook on the toy chat file: no format errors, its token distribution and billing', async () => {
    const out = await env.t.callOk(validateDatasetTool, { path: fixture('toy_chat_fine_tuning.jsonl'), model: 'cl100k_base' });
    expect(out.summary.errors).toBe(0);
    expect(out.issues.map((i) => i.code)).toEqual(['too_few_examples']);
    const tokens = out.summary.tokens!;
    expect(tokens.per_example).toMatchObject({ min: 26, max: 8032, mean: 1648.4, p50: 45 });
    expect(tokens.by_role.assistant).toMatchObject({ min: 4, max: 8000, mean: 1610.2, p50: 10 });
    expect(tokens.epochs).toBe(20);
    expect(tokens.estimated_billable_tokens).toBe(20 * 8242);
    expect(defaultEpochs(5)).toBe(20);
    // The notebook's "p5 / p95" line prints numpy quantiles 0.1 and 0.9.
    const counter = await openAiCounter('cl100k_base');
    const rows = readFileSync(fixture('toy_chat_fine_tuning.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const totals = rows.map((r) => counter.countChat(r.messages)).sort((a, b) => a - b);
    const assistant = rows.map((r) => r.messages.filter((m: { role: string }) => m.role === 'assistant').reduce((n: number, m: { content: string }) => n + counter.count(m.content), 0)).sort((a, b) => a - b);
    expect(quantileSorted(assistant, 0.1)).toBeCloseTo(6.0, 9);
    expect(quantileSorted(assistant, 0.9)).toBeCloseTo(4811.2, 9);
    expect(quantileSorted(totals, 0.1)).toBeCloseTo(26.8, 9);
    expect(quantileSorted(totals, 0.9)).toBeCloseTo(4863.6, 9);
  });

  it('counts chat tokens as the OpenAI API does (cookbook: 129 with cl100k_base, 124 with o200k_base)', async () => {
    const messages = JSON.parse(readFileSync(fixture('cookbook-messages.json'), 'utf8'));
    expect((await openAiCounter('gpt-4')).countChat(messages)).toBe(129);
    expect((await openAiCounter('gpt-4o-mini')).countChat(messages)).toBe(124);
    expect((await openAiCounter('gpt-4.1')).name).toBe('o200k_base');
    expect((await openAiCounter('gpt-3.5-turbo-0125')).context_limit).toBe(16_385);
  });

  it('flags examples over the model\'s training context, counted with its tokenizer', async () => {
    const path = join(env.scratch, 'long.jsonl');
    const long = { messages: [{ role: 'user', content: 'Repeat.' }, { role: 'assistant', content: 'hello '.repeat(70_000) }] };
    writeFileSync(path, `${JSON.stringify(long)}\n`);
    const out = await env.t.callOk(validateDatasetTool, { path, model: 'gpt-4o-mini' });
    expect(out.summary.tokens!.context_limit).toBe(65_536);
    expect(out.issues.find((i) => i.code === 'over_token_limit')).toMatchObject({ line: 1, severity: 'warning' });
    expect(out.issues.find((i) => i.code === 'too_few_examples')).toMatchObject({ severity: 'error' });
  });

  it('uses a local tokenizer.json: its counts, its context limit and its special tokens', async () => {
    const path = join(env.scratch, 'local.jsonl');
    const rows = [
      { text: 'hello world . the cat sat on a mat' },
      { text: 'the dog sat on the mat . the cat sat on a mat' },
      { text: 'hello <|eot|> world' },
    ];
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = await env.t.callOk(validateDatasetTool, { path, model: fixture('word-level-tokenizer') });
    // WordLevel + Whitespace: one token per word or punctuation mark; the added token <|eot|> is one token.
    expect(out.summary.tokens!.per_example).toMatchObject({ min: 3, max: 13, total: 9 + 13 + 3 });
    expect(out.summary.tokens!.context_limit).toBe(12);
    expect(issuesAt(out.issues)).toEqual([
      [2, 'over_token_limit'],
      [3, 'forbidden_special_token'],
    ]);
  });

  it('resolves a model id through the model service to its tokenizer.json and context length', async () => {
    const { DatasetService } = await import('../../src/datasets/service.js');
    const lookup = { get: (id: string) => ({ dir: fixture('word-level-tokenizer'), context_length: id === 'mdl_tiny' ? 5 : 99 }) };
    const service = new DatasetService(env.t.services.workspace, env.t.services.config.datasets, env.t.services.logger, () => lookup);
    const counter = await service.counter('mdl_tiny');
    expect(counter.kind).toBe('local');
    expect(counter.context_limit).toBe(5);
    expect(counter.count('the cat sat on the mat')).toBe(6);
  });

  it('finds rare labels and class imbalance, and unknown labels when the label set is given', async () => {
    const out = await env.t.callOk(validateDatasetTool, { path: fixture('imbalanced_labels.jsonl'), labels: ['positive', 'negative'] });
    expect(out.summary.labels).toEqual({ positive: 60, negative: 5, neutral: 1 });
    const codes = out.issues.map((i) => i.code);
    expect(codes).toContain('class_imbalance');
    expect(out.issues.filter((i) => i.code === 'rare_label').map((i) => i.message)).toEqual([expect.stringContaining("'neutral'")]);
    expect(out.issues.find((i) => i.code === 'unknown_label')).toMatchObject({ line: 66, field: 'label' });
  });

  it('finds chosen identical to rejected in preference pairs', async () => {
    const out = await env.t.callOk(validateDatasetTool, { path: fixture('preference_small.jsonl') });
    expect(out.summary.format).toBe('preference');
    expect(issuesAt(out.issues)).toEqual([[2, 'chosen_equals_rejected']]);
  });

  it('finds the {{name}} placeholders of LLaMA-Factory identity.json on their JSON array lines', async () => {
    const out = await env.t.callOk(validateDatasetTool, { path: fixture('identity.json'), count_tokens: false });
    const source = JSON.parse(readFileSync(fixture('identity.json'), 'utf8')) as Array<{ output: string }>;
    const expected = source.filter((r) => /\{\{\s*\w+\s*\}\}/.test(r.output)).length;
    expect(out.summary.by_code.unresolved_placeholder).toBe(expected);
    const text = readFileSync(fixture('identity.json'), 'utf8').split('\n');
    const first = out.issues.find((i) => i.code === 'unresolved_placeholder')!;
    expect(text[first.line - 1].trim()).toBe('{');
  });

  it('validates a prepared version by dataset_id, on its canonical rows', async () => {
    const prepared = await env.t.callOk(prepareDatasetTool, { path: fixture('malformed_chat.jsonl'), on_invalid: 'skip' });
    const out = await env.t.callOk(validateDatasetTool, { dataset_id: prepared.dataset_id });
    expect(out.summary.records).toBe(8);
    expect(Object.keys(out.summary.by_code).sort()).toEqual(
      ['duplicate_exact', 'duplicate_normalized', 'empty_content', 'example_missing_assistant_message', 'forbidden_special_token', 'too_few_examples', 'unresolved_placeholder'].sort(),
    );
  });

  it('gives one clear issue for binary and empty files and for a line over the byte limit, then goes on', async () => {
    const binary = await env.t.callOk(validateDatasetTool, { path: fixture('binary.jsonl') });
    expect(binary.issues.map((i) => i.code)).toEqual(['binary_file']);
    const empty = await env.t.callOk(validateDatasetTool, { path: fixture('empty.jsonl') });
    expect(empty.issues.map((i) => i.code)).toEqual(['empty_file']);
    const small = await datasetClient([env.scratch], { max_line_bytes: 4096 });
    try {
      const path = join(env.scratch, 'huge-line.jsonl');
      writeFileSync(path, `${JSON.stringify({ text: 'x'.repeat(100_000) })}\n${JSON.stringify({ text: 'fine' })}\n`);
      const out = await small.callOk(validateDatasetTool, { path, count_tokens: false });
      expect(issuesAt(out.issues)).toEqual([[1, 'line_too_long']]);
      expect(out.summary.valid_rows).toBe(1);
      const text = join(env.scratch, 'long-doc.txt');
      writeFileSync(text, `short story one\n\n${'a long line of text\n'.repeat(500)}\nshort story three\n`);
      const docs = await small.callOk(validateDatasetTool, { path: text, count_tokens: false });
      expect(issuesAt(docs.issues)).toEqual([[3, 'document_too_long']]);
      expect(docs.summary.valid_rows).toBe(2);
    } finally {
      await small.close();
    }
  });

  it('reports personal data by field and kind when asked, never the value', async () => {
    const out = await env.t.callOk(validateDatasetTool, { path: fixture('pii_chat.jsonl'), scan_pii: true, count_tokens: false });
    const pii = out.issues.filter((i) => i.code === 'pii_detected');
    expect(pii.map((i) => [i.line, i.field])).toEqual([
      [1, 'messages[0].content'],
      [1, 'messages[1].content'],
      [2, 'messages[0].content'],
      [2, 'messages[1].content'],
      [3, 'messages[0].content'],
      [3, 'messages[1].content'],
      [4, 'messages[0].content'],
      [4, 'messages[1].content'],
      [5, 'messages[0].content'],
      [5, 'messages[1].content'],
    ]);
    expect(pii[0].message).toBe('Text holds personal data: email.');
    expect(JSON.stringify(out)).not.toContain('jane.doe');
  });

  it('reads a folder of files in name order and names the file of each issue', async () => {
    const folder = join(env.scratch, 'folder');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.jsonl'), `${JSON.stringify({ text: 'first', label: 'x' })}\n{broken\n`);
    writeFileSync(join(folder, 'b.csv'), 'text,label\nsecond,y\n,z\n');
    const out = await env.t.callOk(validateDatasetTool, { path: folder, count_tokens: false });
    expect(out.summary.records).toBe(4);
    expect(out.issues.filter((i) => i.line > 0).map((i) => [i.file?.split('/').pop(), i.line, i.code])).toEqual([
      ['a.jsonl', 2, 'invalid_json'],
      ['b.csv', 3, 'empty_field'],
    ]);
  });

  it('refuses both or neither of path and dataset_id', async () => {
    expect(errorCode(await env.t.call('validate_dataset', {}))).toBe('INVALID_INPUT');
    expect(errorCode(await env.t.call('validate_dataset', { path: fixture('empty.jsonl'), dataset_id: 'ds_abc' }))).toBe('INVALID_INPUT');
    expect(errorCode(await env.t.call('validate_dataset', { path: fixture('empty.jsonl'), model: 'not-a-model' }))).toBe('INVALID_INPUT');
  });
});
