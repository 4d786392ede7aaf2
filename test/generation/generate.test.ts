/**
 * generate_dataset against a local OpenAI-compatible generator (test/generation/fake-generator.ts),
 * through the real MCP server: documents and seed datasets in, a review queue of pending rows out,
 * never a dataset version; generator errors and malformed structured output retried, then reported.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ReviewQueueStore } from '../../src/generation/queue-store.js';
import type { ReviewRow } from '../../src/generation/types.js';
import { generateDatasetTool } from '../../tools/generate-dataset.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import type { HttpFake } from '../remote/http-fake.js';
import { startFakeGenerator, type GenRequest, type Scripted } from './fake-generator.js';

const HANDBOOK: Record<string, string> = {
  'refunds.md': [
    '# Refunds',
    '',
    'Customers may return physical goods within 30 days of delivery for a full refund. The item must be unused and in its box.',
    '',
    '## Digital goods',
    '',
    'Digital goods are refunded only when the download failed. Support checks the download log before approving a refund.',
    '',
    'Refunds go back to the original payment method within five working days.',
  ].join('\n'),
  'shipping.md': [
    '# Shipping',
    '',
    'Orders placed before noon ship the same day. Orders placed later ship the next working day.',
    '',
    '## Abroad',
    '',
    'International orders take seven to twelve days and may be charged import duty by the destination country.',
  ].join('\n'),
  'team/onboarding.md': [
    '# Onboarding',
    '',
    'New employees receive a laptop on their first day. They set up two-factor authentication before reading email.',
    '',
    'Each new employee meets their mentor in the first week to plan the first month.',
  ].join('\n'),
};

function writeHandbook(root: string, files: Record<string, string> = HANDBOOK): string {
  const dir = join(root, 'kb');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

let t: TestClient | undefined;
let fake: HttpFake | undefined;
afterEach(async () => {
  await t?.close();
  await fake?.stop();
  t = fake = undefined;
});

async function setup(script?: (r: GenRequest) => Scripted | Promise<Scripted>, generator: Record<string, unknown> = {}) {
  const started = await startFakeGenerator(script);
  fake = started.fake;
  t = await connectTestClient({
    config: { generator: { base_url: started.url, model: 'gen-1', max_retries: 2, concurrency: 3, timeout_s: 10, ...generator } },
    env: { FINETUNE_MCP_GENERATOR_API_KEY: 'sk-gen' },
  });
  return { client: t, seen: started.seen };
}

const rowsOf = (client: TestClient, queueId: string): ReviewRow[] => new ReviewQueueStore(client.services.workspace).rows(queueId);
const queueCount = (client: TestClient) => client.services.workspace.db.prepare('SELECT COUNT(*) FROM review_queues').pluck().get();
const retryAfter0 = { 'retry-after-ms': '0' };

describe('generate_dataset from documents', () => {
  it('qa, count 40, from a folder of Markdown: 40 pending rows with file and span, no dataset version', async () => {
    const { client, seen } = await setup();
    const dir = writeHandbook(client.home);
    const out = await client.callOk(generateDatasetTool, { source: { documents: [dir], chunk_tokens: 40 }, kind: 'qa', count: 40, name: 'handbook-qa' });
    expect(out).toMatchObject({ kind: 'qa', task_type: 'chat', rows: 40, failed: 0, failures: [], generator: { provider: 'openai-compatible', model: 'gen-1' } });
    expect(out.next).toContain('review_examples');

    const rows = rowsOf(client, out.queue_id);
    expect(rows).toHaveLength(40);
    const texts = new Map<string, string>();
    for (const row of rows) {
      expect(row.status).toBe('pending');
      const source = row.provenance.source;
      if (source.type !== 'document') throw new Error('document provenance expected');
      expect(source.file.startsWith(dir)).toBe(true);
      if (!texts.has(source.file)) texts.set(source.file, readFileSync(source.file, 'utf8'));
      const passage = texts.get(source.file)!.slice(source.span[0], source.span[1]);
      // The fake answers with the passage's first sentence: the span must hold it.
      const messages = (row.row as { messages: Array<{ role: string; content: string }> }).messages;
      expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
      expect(passage).toContain(messages[1].content);
      expect(row.provenance.prompt_template).toEqual({ id: 'qa', version: 1 });
      expect(row.provenance.generator).toEqual({ provider: 'openai-compatible', model: 'gen-1' });
    }
    // Every document got rows (count spread over all chunks), and headings travel with the chunk.
    expect(texts.size).toBe(3);
    expect(rows.some((r) => r.provenance.source.type === 'document' && r.provenance.source.heading_path.join(' > ') === 'Refunds > Digital goods')).toBe(true);

    // Structured output on every request; never more than 5 rows a request; 40 asked in all.
    expect(seen.every((r) => r.kind === 'qa' && r.auth === 'Bearer sk-gen' && r.body.model === 'gen-1' && r.asked >= 1 && r.asked <= 5)).toBe(true);
    expect(seen[0].body.response_format!.json_schema.schema).toMatchObject({ properties: { rows: { items: { required: ['question', 'answer'], additionalProperties: false } } } });
    expect(seen.reduce((sum, r) => sum + r.asked, 0)).toBe(40);
    expect(out.tokens).toEqual({ prompt: 100 * seen.length, completion: 20 * seen.length });
    expect(out.cost_usd).toBeCloseTo(0.0005 * seen.length, 10);

    expect(client.services.datasets.list({ limit: 10, offset: 0 }).total).toBe(0);
    const queue = new ReviewQueueStore(client.services.workspace).get(out.queue_id);
    expect(queue).toMatchObject({ name: 'handbook-qa', kind: 'qa', task_type: 'chat', counts: { pending: 40, approved: 0, rejected: 0 }, source: { documents: [dir] } });
    expect(queue.report).toMatchObject({ requested: 40, generated: 40, failed: 0, requests: seen.length, attempts: seen.length });

    // The rest of the acceptance on the generated queue (configure_training's refusal: review.test.ts).
    const ids = rows.map((r) => r.id);
    const edited = { messages: [{ role: 'user', content: 'How long do refunds take?' }, { role: 'assistant', content: 'Five working days, back to the original payment method.' }] };
    expect((await client.call('review_examples', { queue_id: out.queue_id, approve: ids.slice(0, 25), reject: ids.slice(25), edits: [{ id: ids[0], row: edited }], reviewer: 'ana' })).isError).toBeFalsy();
    const commit = await client.call('commit_review', { queue_id: out.queue_id });
    const committed = commit.structuredContent as { dataset_id: string; committed: number; rejected_left_out: number };
    expect(committed).toMatchObject({ committed: 25, rejected_left_out: 15 });
    const version = readFileSync(client.services.datasets.rowsPath(committed.dataset_id), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(version).toHaveLength(25);
    expect(version[0]).toEqual(edited);
    const rejectedQuestions = rows.slice(25).map((r) => (r.row as { messages: Array<{ content: string }> }).messages[0].content);
    expect(version.some((row: { messages: Array<{ content: string }> }) => rejectedQuestions.includes(row.messages[0].content))).toBe(false);
  });

  it('flags rows through the quality filters: duplicates in the batch, and answers the configured judge finds unfaithful', async () => {
    const judged: string[] = [];
    const started = await startFakeGenerator((r) => {
      // The generator: the same row twice for each passage.
      if (r.body.response_format?.json_schema.name !== 'verdict') return { content: JSON.stringify({ rows: [0, 1].map(() => ({ question: 'What does the passage say?', answer: r.subject })) }) };
      // The judge: answers about refunds unsupported (score 0.5), the rest supported.
      const user = r.body.messages[1].content;
      judged.push(user);
      return { content: JSON.stringify({ reason: user.includes('Refunds') ? 'Adds a detail the context lacks.' : 'Supported.', score: user.includes('Refunds') ? 0.5 : 1 }) };
    });
    fake = started.fake;
    t = await connectTestClient({ config: { generator: { base_url: started.url, model: 'gen-1', timeout_s: 10 }, judge: { base_url: started.url, model: 'judge-1', timeout_s: 10 } } });
    const dir = writeHandbook(t.home, {
      'refunds.md': 'Refunds take five working days and go back to the card the customer paid with.',
      'shipping.md': 'Orders placed before noon ship on the same working day from the Leeds warehouse.',
    });
    const out = await t.callOk(generateDatasetTool, { source: { documents: [dir] }, kind: 'qa', count: 4 });
    expect(judged).toHaveLength(4);
    expect(judged[0]).toContain('[Context]\n');
    const rows = rowsOf(t, out.queue_id);
    const codes = rows.map((r) => r.flags.map((f) => f.code));
    // Two equal rows a chunk: the second of each pair is flagged, naming the first.
    expect(codes.map((c) => c.includes('duplicate'))).toEqual([false, true, false, true]);
    expect(rows[1].flags.find((f) => f.code === 'duplicate')!.other).toBe('#0');
    expect(codes.map((c) => c.includes('unfaithful'))).toEqual([true, true, false, false]);
    expect(rows[0].flags.find((f) => f.code === 'unfaithful')!.message).toContain('faithfulness 0.5: Adds a detail the context lacks.');
    expect(out.flagged.unfaithful).toBe(2);
  });

  it('triplets: the query is generated, the positive is the chunk, the negative another chunk of the same document, the same for the same seed; instructions', async () => {
    const { client } = await setup();
    const dir = writeHandbook(client.home);
    const args = { source: { documents: [join(dir, 'refunds.md'), join(dir, 'shipping.md')], chunk_tokens: 40 }, kind: 'triplets', count: 8, seed: 7 };
    const first = await client.callOk(generateDatasetTool, args);
    expect(first).toMatchObject({ task_type: 'triplet', rows: 8 });
    const rows = rowsOf(client, first.queue_id);
    for (const row of rows) {
      const triplet = row.row as { anchor: string; positive: string; negative: string };
      const source = row.provenance.source as { file: string; span: [number, number] };
      const text = readFileSync(source.file, 'utf8');
      expect(triplet.positive).toBe(text.slice(source.span[0], source.span[1]).trim());
      expect(triplet.anchor).toMatch(/^search \d: /);
      expect(triplet.negative).not.toBe(triplet.positive);
      expect(text).toContain(triplet.negative); // both documents have several chunks: same document first
    }
    const again = await client.callOk(generateDatasetTool, args);
    expect(rowsOf(client, again.queue_id).map((r) => (r.row as { negative: string }).negative)).toEqual(rows.map((r) => (r.row as { negative: string }).negative));

    const steps = await client.callOk(generateDatasetTool, { source: { documents: [join(dir, 'team')] }, kind: 'instructions', count: 2 });
    expect(rowsOf(client, steps.queue_id).map((r) => r.row)).toEqual([0, 1].map((i) => ({
      messages: [
        { role: 'user', content: `How do I do this (${i})?` },
        { role: 'assistant', content: '1. New employees receive a laptop on their first day.' },
      ],
    })));
  });
});

describe('generate_dataset from a seed dataset', () => {
  async function seed(client: TestClient, rows: unknown[]): Promise<string> {
    const path = join(client.home, `seed-${Math.random().toString(36).slice(2)}.jsonl`);
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return (await client.callOk(prepareDatasetTool, { path })).dataset_id;
  }
  const CHATS = [
    { messages: [{ role: 'system', content: 'You are the support desk.' }, { role: 'user', content: 'How long do refunds take?' }, { role: 'assistant', content: 'Five working days.' }] },
    { messages: [{ role: 'user', content: 'Do you ship abroad?' }, { role: 'assistant', content: 'Yes, in seven to twelve days.' }] },
    {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello! How can I help?' },
        { role: 'user', content: 'When do noon orders ship?' },
        { role: 'assistant', content: 'The same day.' },
      ],
    },
  ];

  it('paraphrase rewords the last request and keeps the answer; preference_negatives pairs the seed answer with a worse one', async () => {
    const { client, seen } = await setup();
    const ds = await seed(client, CHATS);
    const para = await client.callOk(generateDatasetTool, { source: { seed_dataset_id: ds }, kind: 'paraphrase', count: 6, eval_dataset_id: ds });
    expect(para).toMatchObject({ task_type: 'chat', rows: 6 });
    // The seed named as the evaluation set: every paraphrase keeps text of its seed row, so all leak.
    expect(para.flagged.eval_leakage).toBe(6);
    expect(rowsOf(client, para.queue_id)[0].flags.find((f) => f.code === 'eval_leakage')!.other).toBe(`${ds}:1`);
    const rows = rowsOf(client, para.queue_id);
    expect(rows.map((r) => (r.provenance.source as { line: number }).line)).toEqual([1, 1, 2, 2, 3, 3]);
    for (const row of rows) {
      const line = (row.provenance.source as { dataset_id: string; line: number }).line;
      const original = CHATS[line - 1].messages;
      const messages = (row.row as { messages: Array<{ role: string; content: string }> }).messages;
      expect(messages).toHaveLength(original.length);
      const request = original.length - 2;
      messages.forEach((m, i) => (i === request ? expect(m.content).toBe(`In other words (${m.content.match(/\((\d)\)/)![1]}): ${original[i].content}`) : expect(m).toEqual(original[i])));
    }
    expect(seen.find((r) => r.subject === 'When do noon orders ship?')!.body.messages[1].content).toContain('Conversation so far:\n<<<\nUser: Hi\nAssistant: Hello! How can I help?\n>>>');

    const pref = await client.callOk(generateDatasetTool, { source: { seed_dataset_id: ds }, kind: 'preference_negatives', count: 3, language: 'German', guidance: 'Keep it short.' });
    expect(pref).toMatchObject({ task_type: 'preference', rows: 3 });
    const pairs = rowsOf(client, pref.queue_id).map((r) => r.row as { prompt: unknown[]; chosen: unknown[]; rejected: Array<{ role: string; content: string }> });
    expect(pairs[2].prompt).toEqual(CHATS[2].messages.slice(0, 3));
    expect(pairs[2].chosen).toEqual([CHATS[2].messages[3]]);
    expect(pairs[2].rejected).toEqual([{ role: 'assistant', content: 'I am not sure (0).' }]);
    const last = seen[seen.length - 1].body.messages[1].content;
    expect(last).toContain('in German.');
    expect(last).toContain('Guidance from the person who asked for these examples: Keep it short.');
    expect(client.services.datasets.list({ limit: 10, offset: 0 }).total).toBe(1); // the seed only
  });

  it('paraphrase of completion rows keeps the completion; a kind on the wrong source is refused', async () => {
    const { client } = await setup();
    const ds = await seed(client, [{ prompt: 'Translate: cat', completion: 'Katze' }]);
    const out = await client.callOk(generateDatasetTool, { source: { seed_dataset_id: ds }, kind: 'paraphrase', count: 2 });
    expect(rowsOf(client, out.queue_id).map((r) => r.row)).toEqual([
      { prompt: 'In other words (0): Translate: cat', completion: 'Katze' },
      { prompt: 'In other words (1): Translate: cat', completion: 'Katze' },
    ]);
    const wrong = await client.call('generate_dataset', { source: { seed_dataset_id: ds }, kind: 'qa', count: 2 });
    expect(errorCode(wrong)).toBe('INVALID_INPUT');
    expect(resultText(wrong)).toContain("kind 'qa' works from documents");
    const notChat = await client.call('generate_dataset', { source: { seed_dataset_id: ds }, kind: 'preference_negatives', count: 2 });
    expect(resultText(notChat)).toContain('holds completion rows');
  });
});

describe('generate_dataset with a failing generator', () => {
  const one = (client: TestClient) => writeHandbook(client.home, { 'one.md': 'Refunds take five working days. They go to the original card.' });

  it('retries a 500 and answers; a 401 is AUTH_INVALID with the request id, and nothing is stored', async () => {
    const { client, seen } = await setup();
    fake!.fail({ method: 'POST', path: /chat/, times: 1, reply: { status: 500, body: { error: { message: 'overloaded' } }, headers: retryAfter0 } });
    const out = await client.callOk(generateDatasetTool, { source: { documents: [one(client)] }, kind: 'qa', count: 5 });
    expect(out.rows).toBe(5);
    expect(fake!.requests).toHaveLength(2);
    expect(seen).toHaveLength(1); // the 500 was answered by the fault, before the route

    fake!.fail({ method: 'POST', path: /chat/, times: 99, reply: { status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } } } });
    const denied = await client.call('generate_dataset', { source: { documents: [one(client)] }, kind: 'qa', count: 5 });
    expect(errorCode(denied)).toBe('AUTH_INVALID');
    expect(resultText(denied)).toMatch(/req_\d+/);
    expect(queueCount(client)).toBe(1); // the first call's queue only
  });

  it('asks again after malformed JSON, a schema mismatch or a short answer, for the rows still missing', async () => {
    const answers: Scripted[] = [
      { content: '{"rows": [{"question": "cut off' },
      { content: JSON.stringify({ rows: [{ question: 'Where is the answer?' }] }) },
      { content: JSON.stringify({ rows: [{ question: 'One?', answer: 'Five working days.' }, { question: 'Two?', answer: 'The original card.' }] }) },
    ];
    const { client, seen } = await setup(() => answers.shift());
    const out = await client.callOk(generateDatasetTool, { source: { documents: [one(client)] }, kind: 'qa', count: 5 });
    // max_retries 2: three attempts, the third answered 2 of 5: 3 rows missing, with the reason.
    expect(seen.map((r) => r.asked)).toEqual([5, 5, 5]);
    expect(out).toMatchObject({ rows: 2, failed: 3, failures: [{ reason: 'the answer held 2 of the 5 rows asked', missing: 3, attempts: 3 }] });

    answers.push({ content: JSON.stringify({ rows: [{ question: 'Q1', answer: 'A1' }, { question: 'Q2', answer: 'A2' }] }) });
    const more = await client.callOk(generateDatasetTool, { source: { documents: [one(client)] }, kind: 'qa', count: 5 });
    expect(seen.slice(3).map((r) => r.asked)).toEqual([5, 3]); // the second request asks only for the 3 missing
    expect(more).toMatchObject({ rows: 5, failed: 0 });
  });

  it('reports a chunk whose answers stay malformed, never guessing its rows; all malformed stores nothing', async () => {
    const { client } = await setup((r) => (r.subject.includes('Orders placed') ? { content: 'Sure! Here are your questions: 1. When do orders ship?' } : undefined));
    const dir = writeHandbook(client.home, { 'a.md': 'Refunds take five working days.', 'b.md': 'Orders placed before noon ship the same day.' });
    const out = await client.callOk(generateDatasetTool, { source: { documents: [dir] }, kind: 'qa', count: 4 });
    expect(out).toMatchObject({ rows: 2, failed: 2 });
    expect(out.failures).toEqual([{ ref: `${join(dir, 'b.md')} chunk 0 [0, 44)`, reason: 'the answer is not JSON (syntax error)', missing: 2, attempts: 3 }]);
    expect(rowsOf(client, out.queue_id).every((r) => (r.provenance.source as { file: string }).file.endsWith('a.md'))).toBe(true);
    const stored = new ReviewQueueStore(client.services.workspace).get(out.queue_id).report as { failures: unknown[] };
    expect(stored.failures).toEqual(out.failures);

    const mismatch = await startFakeGenerator(() => ({ content: JSON.stringify({ rows: [{ question: 'Q', answer: '   ' }] }) }));
    try {
      await client.close();
      t = await connectTestClient({ config: { generator: { base_url: mismatch.url, model: 'gen-1', max_retries: 1, timeout_s: 10 } } });
      const failed = await t.call('generate_dataset', { source: { documents: [one(t)] }, kind: 'qa', count: 3 });
      expect(errorCode(failed)).toBe('UPSTREAM_ERROR');
      expect(resultText(failed)).toContain('rows[0].answer: answer is empty');
      expect(mismatch.seen).toHaveLength(2);
      expect(queueCount(t)).toBe(0);
    } finally {
      await mismatch.fake.stop();
    }
  });

  it('keeps generator.concurrency requests in flight; a cancelled call stores nothing', async () => {
    let inFlight = 0;
    let most = 0;
    const on: { request?: () => void } = {};
    const { client, seen } = await setup(async () => {
      most = Math.max(most, ++inFlight);
      on.request?.();
      await new Promise((resolve) => setTimeout(resolve, 40));
      inFlight--;
      return undefined;
    });
    const dir = writeHandbook(client.home);
    const progress: Array<{ progress: number; total?: number }> = [];
    const result = await client.client.callTool({ name: 'generate_dataset', arguments: { source: { documents: [dir], chunk_tokens: 40 }, kind: 'qa', count: 40 } }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    expect(z.object(generateDatasetTool.output).parse(result.structuredContent).rows).toBe(40);
    expect(most).toBe(3);
    // One notification per answered request, counting up to the number of requests.
    expect(progress.map((p) => p.progress)).toEqual(seen.map((_, i) => i + 1));
    expect(progress.every((p) => p.total === seen.length)).toBe(true);

    const before = seen.length;
    const controller = new AbortController();
    on.request = () => controller.abort();
    const call = client.client.callTool({ name: 'generate_dataset', arguments: { source: { documents: [dir], chunk_tokens: 40 }, kind: 'qa', count: 40 } }, undefined, { signal: controller.signal });
    await expect(call).rejects.toThrow(/abort/i);
    // The server stops at its next check: no more requests than were in flight, and no queue.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.length - before).toBeLessThanOrEqual(3);
    expect(queueCount(client)).toBe(1);
  });

  it('refuses missing documents, an empty folder and triplets from a single chunk before asking the generator', async () => {
    const { client, seen } = await setup();
    const missing = await client.call('generate_dataset', { source: { documents: [join(client.home, 'nope')] }, kind: 'qa', count: 1 });
    expect(errorCode(missing)).toBe('FILE_ERROR');
    mkdirSync(join(client.home, 'empty'));
    writeFileSync(join(client.home, 'empty', 'data.bin'), 'x');
    const empty = await client.call('generate_dataset', { source: { documents: [join(client.home, 'empty')] }, kind: 'qa', count: 1 });
    expect(errorCode(empty)).toBe('INVALID_INPUT');
    expect(resultText(empty)).toContain('names no document to read (1 entries skipped, e.g. data.bin: not a document kind');
    const single = await client.call('generate_dataset', { source: { documents: [one(client)] }, kind: 'triplets', count: 2 });
    expect(errorCode(single)).toBe('INVALID_INPUT');
    expect(resultText(single)).toContain('source.chunk_tokens');
    const noEval = await client.call('generate_dataset', { source: { documents: [one(client)] }, kind: 'qa', count: 2, eval_dataset_id: 'ds_0000000000' });
    expect(errorCode(noEval)).toBe('NOT_FOUND');
    expect(resultText(noEval)).toContain("No evaluation dataset version 'ds_0000000000'");
    expect(seen).toHaveLength(0);
    expect(queueCount(client)).toBe(0);
  });

  it('without a generator endpoint or reference, says how to configure one', async () => {
    t = await connectTestClient();
    const out = await t.call('generate_dataset', { source: { documents: [one(t)] }, kind: 'qa', count: 1 });
    expect(errorCode(out)).toBe('CAPABILITY_UNSUPPORTED');
    expect(resultText(out)).toContain('generator.base_url');
    const unknown = await t.call('generate_dataset', { source: { documents: [one(t)] }, kind: 'qa', count: 1, generator: 'nope:model' });
    expect(resultText(unknown)).toContain("names no inference plugin ('nope')");
  });
});

describe('generate_dataset on the local engine', () => {
  const assets = new URL('../../assets/models/stories260K/', import.meta.url).pathname;

  it('stories260K writes each labelled field of a plain prompt: poor rows, but real ones, on the review path', async () => {
    t = await connectTestClient({ config: { generator: { temperature: 0, max_retries: 0, max_tokens: 48 } } });
    const { model } = await t.services.models.import(join(assets, 'stories260K.bin'), { tokenizer: join(assets, 'tok512.bin') });
    const dir = writeHandbook(t.home, { 'story.md': 'Lily had a red ball. She played with it in the park every day.' });
    const out = await t.callOk(generateDatasetTool, { source: { documents: [dir] }, kind: 'qa', count: 2, generator: `local:${model.id}`, model: model.id });
    expect(out).toMatchObject({ generator: { provider: 'local', model: `local:${model.id}` }, cost_usd: null });
    // Greedy (temperature 0): both rows are the model's same two continuations; duplicates are the filters' to flag.
    expect(out).toMatchObject({ rows: 2, failed: 0 });
    // Two calls a row (Question, then Answer); the engine counts prompt and new tokens.
    expect(out.tokens.completion).toBeGreaterThan(0);
    for (const row of rowsOf(t, out.queue_id)) {
      const [user, assistant] = (row.row as { messages: Array<{ role: string; content: string }> }).messages;
      expect([user.role, assistant.role]).toEqual(['user', 'assistant']);
      expect(user.content.trim()).not.toBe(''); // a one-line field: its line only
      expect(user.content).not.toContain('\n');
      expect(assistant.content.trim()).not.toBe('');
    }
    const queue = new ReviewQueueStore(t.services.workspace).get(out.queue_id);
    expect(queue.params.tokenizer).toMatch(/^tokenizer\.json:/); // chunks counted with the target model's tokenizer
  }, 120_000);

  it('asks the local provider one field at a time and reads the labelled values; an empty field is a reported failure', async () => {
    const { definePlugin, PLUGIN_API_VERSION } = await import('../../src/plugins/types.js');
    const prompts: Array<{ prompt?: string; base_dir?: string; response_format?: unknown }> = [];
    const answers = [' When does Lily play?\nAnswer: (not read: the answer is asked for next)', ' Every day, in the park.\n\nQuestion: more', ' What colour is the ball?', '   '];
    const local = definePlugin({
      meta: { name: 'local', version: '1.0.0', api_version: PLUGIN_API_VERSION, description: 'Answers labelled text.' },
      provides: ['inference'],
      capabilities: {},
      create: () => ({
        inference: {
          async generate(request: { prompt?: string; local_model?: { base_dir: string }; response_format?: unknown }) {
            prompts.push({ prompt: request.prompt, base_dir: request.local_model?.base_dir, response_format: request.response_format });
            return { text: answers[prompts.length - 1] ?? '', finish_reason: 'stop', usage: { prompt_tokens: 30, completion_tokens: 9 } };
          },
        },
      }),
    });
    t = await connectTestClient({ plugins: [local], config: { generator: { max_retries: 0, concurrency: 1 } } });
    const { model } = await t.services.models.import(join(assets, 'stories260K.bin'), { tokenizer: join(assets, 'tok512.bin') });
    const dir = writeHandbook(t.home, { 'story.md': 'Lily had a red ball. She played with it in the park every day.' });
    const out = await t.callOk(generateDatasetTool, { source: { documents: [dir] }, kind: 'qa', count: 2, generator: model.id });
    expect(prompts).toHaveLength(4);
    expect(prompts[0].prompt!.endsWith('taken from the passage.\n\nQuestion:')).toBe(true);
    expect(prompts[1].prompt!.endsWith('\n\nQuestion: When does Lily play?\nAnswer:')).toBe(true);
    expect(prompts[0].base_dir).toBe(t.services.models.get(model.id).dir);
    expect(prompts[0].response_format).toBeUndefined();
    expect(out).toMatchObject({ rows: 1, failed: 1, generator: { provider: 'local', model: model.id }, tokens: { prompt: 120, completion: 36 }, cost_usd: null });
    expect(out.failures[0].reason).toBe('"Answer:" is empty');
    expect(rowsOf(t, out.queue_id)[0].row).toEqual({ messages: [{ role: 'user', content: 'When does Lily play?' }, { role: 'assistant', content: 'Every day, in the park.' }] });
  }, 120_000);
});
