import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectDatasetTool } from '../../tools/inspect-dataset.js';
import { listDatasetsTool } from '../../tools/list-datasets.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { errorCode, type TestClient } from '../helpers/mcp.js';
import { writeTestDataset } from '../training/datasets.js';
import { datasetClient, fixture } from './helpers.js';

describe('prepare_dataset on real public data', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await datasetClient();
  });
  afterAll(async () => t?.close());

  it('imports the cookbook toy chat file with the notebook\'s token counts (cl100k_base)', async () => {
    const out = await t.callOk(prepareDatasetTool, { path: fixture('toy_chat_fine_tuning.jsonl'), model: 'cl100k_base' });
    expect(out.task_type).toBe('chat');
    expect(out.format).toBe('chat');
    expect(out.counts.rows).toBe(5);
    // Published in openai-cookbook Chat_finetuning_data_prep.ipynb (see fixtures SOURCE.md).
    expect(out.token_stats).toMatchObject({ tokenizer: 'cl100k_base', min: 26, max: 8032, mean: 1648.4, p50: 45, total: 8242 });
    const record = t.services.datasets.get(out.dataset_id);
    expect(record.manifest.content_hash).toBe(out.content_hash);
    const rows = readFileSync(t.services.datasets.rowsPath(out.dataset_id), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(5);
    expect(JSON.parse(rows[0])).toEqual(JSON.parse(readFileSync(fixture('toy_chat_fine_tuning.jsonl'), 'utf8').split('\n')[0]));
    const manifest = JSON.parse(readFileSync(`${record.dir}/manifest.json`, 'utf8'));
    expect(manifest).toMatchObject({ dataset_id: out.dataset_id, parent_id: null, task_type: 'chat', counts: { rows: 5 } });
    expect(manifest.source.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('converts Alpaca instruction data to chat the way LLaMA-Factory joins instruction and input', async () => {
    const out = await t.callOk(prepareDatasetTool, { path: fixture('alpaca_en_demo.json') });
    expect(out).toMatchObject({ task_type: 'chat', format: 'instruction', counts: { rows: 999 } });
    const source = JSON.parse(readFileSync(fixture('alpaca_en_demo.json'), 'utf8')) as Array<{ instruction: string; input: string; output: string }>;
    const withInput = source.findIndex((r) => r.input);
    const page = await t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id, offset: withInput, limit: 1 });
    expect(page.rows[0].row).toEqual({
      messages: [
        { role: 'user', content: `${source[withInput].instruction}\n${source[withInput].input}` },
        { role: 'assistant', content: source[withInput].output },
      ],
    });
    expect(page.rows[0].line).toBe(withInput + 1);
  });

  it('converts ShareGPT tool-calling conversations (glaive) to chat with tool_calls and tools', async () => {
    const out = await t.callOk(prepareDatasetTool, { path: fixture('glaive_toolcall_en_demo.head30.json') });
    expect(out).toMatchObject({ task_type: 'chat', format: 'sharegpt', counts: { rows: 30 } });
    const source = JSON.parse(readFileSync(fixture('glaive_toolcall_en_demo.head30.json'), 'utf8')) as Array<{ conversations: Array<{ from: string; value: string }>; tools: string }>;
    const page = await t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id, limit: 30 });
    const index = source.findIndex((r) => r.conversations.some((c) => c.from === 'function_call'));
    const row = page.rows[index].row as { messages: Array<Record<string, unknown>>; tools: unknown[] };
    const call = JSON.parse(source[index].conversations.find((c) => c.from === 'function_call')!.value);
    const assistantCall = row.messages.find((m) => m.tool_calls) as { tool_calls: Array<{ id: string; function: { name: string; arguments: string } }> };
    expect(assistantCall.tool_calls[0].function.name).toBe(call.name);
    expect(JSON.parse(assistantCall.tool_calls[0].function.arguments)).toEqual(call.arguments);
    const toolMessage = row.messages.find((m) => m.role === 'tool')!;
    expect(toolMessage.tool_call_id).toBe(assistantCall.tool_calls[0].id);
    expect(row.tools).toEqual(JSON.parse(source[index].tools).map((f: unknown) => ({ type: 'function', function: f })));
  });

  it('imports ShareGPT preference pairs (dpo_en_demo) and OpenAI DPO rows as canonical preference rows', async () => {
    const dpo = await t.callOk(prepareDatasetTool, { path: fixture('dpo_en_demo.head40.json') });
    expect(dpo).toMatchObject({ task_type: 'preference', format: 'sharegpt_preference', counts: { rows: 40 } });
    const source = JSON.parse(readFileSync(fixture('dpo_en_demo.head40.json'), 'utf8'));
    const page = await t.callOk(inspectDatasetTool, { dataset_id: dpo.dataset_id, limit: 1 });
    expect(page.rows[0].row).toEqual({
      prompt: source[0].conversations.map((c: { value: string }) => ({ role: 'user', content: c.value })),
      chosen: [{ role: 'assistant', content: source[0].chosen.value }],
      rejected: [{ role: 'assistant', content: source[0].rejected.value }],
    });
    const openai = await t.callOk(prepareDatasetTool, { path: fixture('openai_dpo.jsonl') });
    expect(openai).toMatchObject({ task_type: 'preference', format: 'openai_dpo', counts: { rows: 1 } });
  });

  it('imports TweetEval emotion CSV as classification with its label counts', async () => {
    const out = await t.callOk(prepareDatasetTool, { path: fixture('tweeteval_emotion_val.csv'), name: 'tweeteval-emotion-val' });
    expect(out).toMatchObject({ task_type: 'classification', format: 'classification', counts: { rows: 374 } });
    // Counted with Python's collections.Counter when the fixture was built (SOURCE.md).
    expect(out.validation.labels).toEqual({ anger: 160, joy: 97, sadness: 89, optimism: 28 });
    const listed = await t.callOk(listDatasetsTool, { task_type: 'classification' });
    expect(listed.datasets.map((d) => d.dataset_id)).toContain(out.dataset_id);
    expect(listed.datasets.find((d) => d.dataset_id === out.dataset_id)?.name).toBe('tweeteval-emotion-val');
  });

  it('imports plain text split on a separator (TinyStories), completions and triplets', async () => {
    const stories = await t.callOk(prepareDatasetTool, { path: fixture('TinyStories-valid.head.txt'), text_separator: '<|endoftext|>' });
    // SOURCE.md: 46 <|endoftext|>-terminated stories.
    expect(stories).toMatchObject({ task_type: 'text', format: 'text', counts: { rows: 46 } });
    const page = await t.callOk(inspectDatasetTool, { dataset_id: stories.dataset_id, offset: 1, limit: 1 });
    expect((page.rows[0].row as { text: string }).text).toMatch(/^Once upon a time, in a big forest, there lived a rhinoceros named Roxy\./);
    expect(page.rows[0].line).toBe(2);
    const completion = await t.callOk(prepareDatasetTool, { path: fixture('completion_small.jsonl') });
    expect(completion).toMatchObject({ task_type: 'completion', counts: { rows: 2 } });
    const triplet = await t.callOk(prepareDatasetTool, { path: fixture('triplet_small.jsonl') });
    expect(triplet).toMatchObject({ task_type: 'triplet', counts: { rows: 2 } });
  });

  it('refuses a file with unreadable records by default, imports the rest with on_invalid=skip and lists them', async () => {
    const refused = await t.call('prepare_dataset', { path: fixture('malformed_chat.jsonl') });
    expect(refused.isError).toBe(true);
    expect(errorCode(refused)).toBe('DATASET_INVALID');
    const before = (await t.callOk(listDatasetsTool, {})).total;
    const out = await t.callOk(prepareDatasetTool, { path: fixture('malformed_chat.jsonl'), on_invalid: 'skip' });
    expect(out.skipped.map((s) => [s.line, s.code])).toEqual([
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
    ]);
    expect(out.counts.rows).toBe(8);
    expect((await t.callOk(listDatasetsTool, {})).total).toBe(before + 1);
  });

  it('reads a version folder laid out by the conventions without a record (get, rowsPath, inspect)', async () => {
    const id = writeTestDataset(t.home, { rows: 10 });
    expect(t.services.datasets.get(id)).toMatchObject({ id, task_type: 'chat', manifest: { counts: { rows: 10, train: 8 } } });
    expect(t.services.datasets.rowsPath(id, 'train')).toBe(`${t.home}/datasets/${id}/train.jsonl`);
    const page = await t.callOk(inspectDatasetTool, { dataset_id: id, split: 'train', limit: 1 });
    expect(page.rows[0].row).toEqual({ messages: [{ role: 'user', content: 'question 0' }, { role: 'assistant', content: 'answer 0' }] });
  });

  it('refuses paths outside the allowed roots, binary and empty files, and unknown ids, with clear codes', async () => {
    expect(errorCode(await t.call('prepare_dataset', { path: '/etc/hostname' }))).toBe('PATH_NOT_ALLOWED');
    const binary = await t.call('prepare_dataset', { path: fixture('binary.jsonl') });
    expect(errorCode(binary)).toBe('DATASET_INVALID');
    expect(binary.content[0].type === 'text' && binary.content[0].text).toContain('binary_file');
    expect(errorCode(await t.call('prepare_dataset', { path: fixture('empty.jsonl') }))).toBe('DATASET_INVALID');
    expect(errorCode(await t.call('inspect_dataset', { dataset_id: 'ds_00000000000000000000' }))).toBe('NOT_FOUND');
    expect(() => t.services.datasets.get('ds_missing')).toThrow(/No dataset version/);
  });
});

describe('prepare_dataset with a chat template', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await datasetClient();
  });
  afterAll(async () => t?.close());

  it('renders chat rows with TinyLlama\'s template into prompt/completion (the prompt its model card prints)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(t.home, 'src-'));
    const path = join(dir, 'pirate.jsonl');
    const row = {
      messages: [
        { role: 'system', content: 'You are a friendly chatbot who always responds in the style of a pirate' },
        { role: 'user', content: 'How many helicopters can a human eat in one sitting?' },
        { role: 'assistant', content: 'Arr, none, matey!' },
      ],
    };
    writeFileSync(path, `${JSON.stringify(row)}\n`);
    const out = await t.callOk(prepareDatasetTool, { path, chat_template: fixture('tinyllama-template') });
    expect(out.task_type).toBe('completion');
    const page = await t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id });
    expect(page.rows[0].row).toEqual({
      // TinyLlama-1.1B-Chat-v1.0 model card: the rendered prompt of this conversation.
      prompt: '<|system|>\nYou are a friendly chatbot who always responds in the style of a pirate</s>\n<|user|>\nHow many helicopters can a human eat in one sitting?</s>\n<|assistant|>\n',
      completion: 'Arr, none, matey!</s>\n',
    });
    const lineage = t.services.datasets.get(out.dataset_id).manifest.lineage[0];
    expect(lineage.params.chat_template_sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
