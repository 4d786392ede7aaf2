import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PhoenixSpan } from '../../plugins/phoenix/client.js';
import { getJudgeRun } from '../../src/evaluation/judge-run-store.js';
import { parseOutputVerdict } from '../../src/evaluation/judges/output-scorer.js';
import { judgeOutputsTool } from '../../tools/judge-outputs.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { startFakePhoenix } from '../phoenix/fake-phoenix.js';

/**
 * A local OpenAI-compatible judge. It refuses (400) any request without the verdict's json_schema
 * response_format, and answers by a marker in the output it is shown: GOOD 0.9, BAD 0.1, SHAKY
 * (malformed JSON the first time, then 0.7), WILD (score 1.7 every time). `fail_first` answers
 * that many requests with 500 first; `status` answers with that status from request `status_from` (default 1) on.
 */
async function startFakeJudge(options: { fail_first?: number; status?: number; status_from?: number } = {}) {
  const requests: Array<{ auth: string | undefined; body: any }> = [];
  const seen = new Map<string, number>();
  let failures = 0;
  const server: Server = createServer(async (req, res) => {
    const body = JSON.parse(await readBody(req));
    requests.push({ auth: req.headers.authorization, body });
    const reply = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${requests.length}`, 'retry-after-ms': '0' }).end(JSON.stringify(json));
    if (options.status && requests.length >= (options.status_from ?? 1)) return reply(options.status, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
    if (failures < (options.fail_first ?? 0)) {
      failures++;
      return reply(500, { error: { message: 'The server had an error while processing your request.' } });
    }
    const format = body.response_format;
    if (format?.type !== 'json_schema' || format.json_schema?.name !== 'verdict' || format.json_schema.strict !== true || format.json_schema.schema?.properties?.score?.type !== 'number') {
      return reply(400, { error: { message: 'expected response_format json_schema "verdict"' } });
    }
    const shown = /\[Output to judge\]\n([\s\S]*)$/.exec(body.messages[1].content)![1];
    const count = (seen.get(shown) ?? 0) + 1;
    seen.set(shown, count);
    const content = shown.includes('GOOD')
      ? '{"reason": "Complete and correct.", "score": 0.9}'
      : shown.includes('BAD')
        ? '{"reason": "Does not answer.", "score": 0.1}'
        : shown.includes('SHAKY')
          ? count === 1 ? '{"reason": "Mostly right", "score": ' : '{"reason": "Mostly right.", "score": 0.7}'
          : '{"reason": "Excellent!", "score": 1.7}';
    reply(200, { id: 'c1', object: 'chat.completion', created: 0, model: body.model, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { url, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => resolve(data));
  });
}

const judgeConfig = (url: string, extra: Record<string, unknown> = {}) => ({
  judge: { base_url: url, model: 'judge-1', api_key: 'sk-test-judge', max_tokens: 256, timeout_s: 10, max_retries: 2, ...extra },
});

function writeRows(dir: string, rows: unknown[]): string {
  const path = join(dir, 'outputs.jsonl');
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

let t: TestClient | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const close of closers.splice(0)) await close();
});

describe('judge_outputs against an OpenAI-compatible judge', () => {

  it('scores each row in [0, 1], retries a malformed answer, reports an out-of-range one, and stores the run', async () => {
    const judge = await startFakeJudge();
    closers.push(judge.close);
    t = await connectTestClient({ config: judgeConfig(judge.url, { usd_per_1m_input_tokens: 0.15, usd_per_1m_output_tokens: 0.6 }) });
    const path = writeRows(mkdtempSync(join(t.home, 'j-')), [
      { input: 'What is 2 + 2?', output: 'GOOD: 4.' },
      { input: 'Capital of France?', output: 'BAD: I like turtles.' },
      { input: [{ role: 'user', content: 'Summarise the memo.' }], output: 'SHAKY summary.' },
      { input: 'Rate this.', output: 'WILD answer.' },
      { messages: [{ role: 'user', content: 'Nobody answered this.' }] },
    ]);
    const out = await t.callOk(judgeOutputsTool, { path, rubric: 'helpfulness' });

    expect(out).toMatchObject({ source: 'file', rows: 5, scored: 3, failed: 2, judge: `endpoint judge-1 at ${judge.url}` });
    expect(out.results.map((r) => r.score)).toEqual([0.9, 0.1, 0.7, null, null]);
    for (const r of out.results) if (r.score !== null) expect(r.score >= 0 && r.score <= 1).toBe(true);
    expect(out.results[2].reason).toBe('Mostly right.');
    expect(out.results[3].error).toBe('no valid verdict after 3 attempts: score 1.7 is outside [0, 1]');
    expect(out.results[4].error).toBe('not judged: no assistant message to judge');
    // 1 + 1 + 2 (one retry) + 3 (max_retries 2) requests, every one with the strict verdict schema.
    expect(judge.requests).toHaveLength(7);
    expect(judge.requests.every((r) => r.auth === 'Bearer sk-test-judge' && r.body.temperature === 0 && r.body.response_format.json_schema.strict)).toBe(true);
    expect(judge.requests[0].body.messages[1].content).toContain('[Rubric]\nHelpfulness:');
    // numpy.percentile([0.1, 0.7, 0.9], [10, 50, 90]) == [0.22, 0.7, 0.86]
    expect(out.distribution.mean).toBeCloseTo(1.7 / 3, 12);
    expect(out.distribution.p10).toBeCloseTo(0.22, 12);
    expect(out.distribution.p50).toBeCloseTo(0.7, 12);
    expect(out.distribution.p90).toBeCloseTo(0.86, 12);
    expect(out.distribution.histogram).toEqual([0, 1, 0, 0, 0, 0, 0, 1, 0, 1]);
    expect(out.tokens).toEqual({ prompt: 700, completion: 140 });
    expect(out.cost_usd).toBeCloseTo((700 * 0.15 + 140 * 0.6) / 1e6, 15);

    const stored = getJudgeRun(t.services.workspace, out.run_id)!;
    expect(out.run_id).toMatch(/^jrun_/);
    expect(stored.run.rubric.sha256).toBe(createHash('sha256').update(stored.run.rubric.text).digest('hex'));
    expect(stored.rows.map((r) => [r.score, r.attempts])).toEqual([[0.9, 1], [0.1, 1], [0.7, 2], [null, 3], [null, 0]]);
    expect(stored.rows[3]).toMatchObject({ prompt_tokens: 300, completion_tokens: 60 });
    expect(stored.rows[0].row).toEqual({ messages: [{ role: 'user', content: 'What is 2 + 2?' }, { role: 'assistant', content: 'GOOD: 4.' }] });

    const metrics = await t.services.metrics.registry.metrics();
    expect(metrics).toContain('finetune_mcp_judge_score_count{rubric="helpfulness",source="file",policy="none"} 3');
    expect(metrics).toContain('finetune_mcp_judged_outputs_total{rubric="helpfulness",source="file",policy="none",outcome="failed"} 2');
    expect(metrics).toMatch(/finetune_mcp_judge_tokens_total\{judge="endpoint judge-1 at [^"]+",kind="prompt"\} 700/);
  });

  it('rides out 500s (retried by the HTTP client), and turns a 401 mid-run into AUTH_INVALID with nothing stored', async () => {
    const flaky = await startFakeJudge({ fail_first: 2 });
    closers.push(flaky.close);
    t = await connectTestClient({ config: judgeConfig(flaky.url) });
    const path = writeRows(mkdtempSync(join(t.home, 'j-')), [{ input: 'Hi', output: 'GOOD hello' }]);
    const out = await t.callOk(judgeOutputsTool, { path, rubric: 'helpfulness' });
    expect(out.results[0].score).toBe(0.9);
    expect(flaky.requests).toHaveLength(3);
    expect(out.cost_usd).toBeNull();
    expect(out.cost_note).toMatch(/usd_per_1m_input_tokens/);
    await t.close();

    // Two rows are judged before the key is refused: the run is all or nothing.
    const denied = await startFakeJudge({ status: 401, status_from: 3 });
    closers.push(denied.close);
    t = await connectTestClient({ config: judgeConfig(denied.url) });
    const rows = [1, 2, 3, 4].map((i) => ({ input: `Hi ${i}`, output: `GOOD ${i}` }));
    const refused = await t.call('judge_outputs', { path: writeRows(mkdtempSync(join(t.home, 'j-')), rows), rubric: 'helpfulness', concurrency: 1 });
    expect(denied.requests).toHaveLength(3);
    expect(errorCode(refused)).toBe('AUTH_INVALID');
    expect(resultText(refused)).toContain('Incorrect API key provided');
    expect(t.services.workspace.db.prepare('SELECT COUNT(*) FROM judge_runs').pluck().get()).toBe(0);
  });

  it('judges faithfulness of a chat dataset version against its system message, and locates bad input', async () => {
    const judge = await startFakeJudge();
    closers.push(judge.close);
    t = await connectTestClient({ config: judgeConfig(judge.url) });
    const dir = mkdtempSync(join(t.home, 'j-'));
    const file = writeRows(dir, [
      { messages: [{ role: 'system', content: 'Context: the shop opens at 9.' }, { role: 'user', content: 'When do you open?' }, { role: 'assistant', content: 'GOOD: at 9.' }] },
      { messages: [{ role: 'user', content: 'When do you open?' }, { role: 'assistant', content: 'BAD: at noon.' }] },
    ]);
    const prepared = await t.services.datasets.prepare({ path: file, name: 'prod' });
    const out = await t.callOk(judgeOutputsTool, { dataset_id: prepared.record.id, rubric: 'faithfulness' });
    expect(out.results.map((r) => r.score)).toEqual([0.9, null]);
    expect(out.failures[0].reason).toMatch(/^not judged: no context/);
    expect(judge.requests).toHaveLength(1);
    expect(judge.requests[0].body.messages[1].content).toContain('[Context]\nContext: the shop opens at 9.\n\n[Conversation]\nuser: When do you open?');

    writeFileSync(join(dir, 'bad.jsonl'), '{"input": "x", "output": "GOOD"}\n{"input": "y"}\n');
    const bad = await t.call('judge_outputs', { path: join(dir, 'bad.jsonl'), rubric: 'helpfulness' });
    expect(errorCode(bad)).toBe('DATASET_INVALID');
    expect(resultText(bad)).toContain('Line 2 of');
    expect(errorCode(await t.call('judge_outputs', { path: file, rubric: 'nice' }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('judge_outputs', { path: file, dataset_id: prepared.record.id, rubric: 'safety' }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('judge_outputs', { path: file, rubric: 'safety', write_back: true }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('judge_outputs', { path: file, rubric: 'safety', judge: 'plugin:pairwise' }))).toBe('CAPABILITY_UNSUPPORTED');
    expect(errorCode(await t.call('judge_outputs', { path: file, rubric: 'safety', judge: 'best-one' }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('judge_outputs', { path: file, rubric: 'safety', judge: 'sampling' }))).toBe('CAPABILITY_UNSUPPORTED');
    expect(t.services.workspace.db.prepare('SELECT COUNT(*) FROM judge_runs').pluck().get()).toBe(1);
  });

  it('asks the client model through sampling with the schema in the prompt; tokens and cost are then unknown', async () => {
    t = await connectTestClient({ clientCapabilities: { capabilities: { sampling: {} } } });
    const systems: string[] = [];
    t.client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      systems.push(request.params.systemPrompt ?? '');
      return { model: 'client-model', role: 'assistant', content: { type: 'text', text: '```json\n{"reason": "Fine.", "score": 0.6}\n```' } };
    });
    const path = writeRows(mkdtempSync(join(t.home, 'j-')), [{ input: 'Hi', output: 'Hello!' }]);
    const out = await t.callOk(judgeOutputsTool, { path, rubric: 'Score 1 when the answer is polite, 0 when it is rude.', rubric_name: 'politeness' });
    expect(out).toMatchObject({ judge: 'client sampling', scored: 1, tokens: null, cost_usd: null, rubric: 'politeness' });
    expect(out.results[0].score).toBe(0.6);
    expect(systems[0]).toContain('"score":{"type":"number","minimum":0,"maximum":1');
  });
});

describe('judge_outputs with a local model as the judge', () => {
  it('scores by P(yes) from the local engine\'s token probabilities; a row too long for the judge model fails alone', async () => {
    // stories260K (llama2.c's test model, MIT: assets/models/stories260K/SOURCE.md) writes children's stories, never a verdict:
    // its probabilities of "Yes" and "No" still make a score, meaningless for such a model, but real.
    const assets = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
    t = await connectTestClient({ config: { judge: { max_tokens: 16, max_retries: 1 } } });
    const { model } = await t.services.models.import(join(assets, 'stories260K.bin'), { tokenizer: join(assets, 'tok512.bin') });
    const dir = mkdtempSync(join(t.home, 'j-'));
    const path = writeRows(dir, [{ input: 'Once upon a time', output: 'there was a cat.' }, { input: 'Tell me a story.', output: 'The dog ran home. '.repeat(80) }]);
    const out = await t.callOk(judgeOutputsTool, { path, rubric: 'Kindness: 1 = a kind story, 0 = an unkind one.', rubric_name: 'kind', judge: `local:${model.id}` });
    expect(out.judge).toMatch(/^local model .*\(P\(yes\) judge\)$/);
    expect(out).toMatchObject({ rows: 2, scored: 1, failed: 1, cost_usd: null });
    const [short, long] = out.results;
    expect(short.score).toBeGreaterThan(0);
    expect(short.score).toBeLessThan(1);
    expect(short.reason).toContain(`P(yes) = ${short.score!.toFixed(4)}`);
    // The long row leaves no room in stories260K's 512-token context for the answer: that row fails, is not retried.
    expect(long.error).toMatch(/no room is left for its yes\/no answer/);
    expect(getJudgeRun(t.services.workspace, out.run_id)!.rows[1].attempts).toBe(1);
    expect(out.cost_note).toMatch(/no price is known for local:/);
    // The same model, the same prompt: the same probability.
    const again = await t.callOk(judgeOutputsTool, { path, rubric: 'Kindness: 1 = a kind story, 0 = an unkind one.', rubric_name: 'kind', judge: `local:${model.id}`, limit: 1 });
    expect(again.results[0].score).toBe(short.score);
  });
});

describe('judge_outputs on Phoenix spans, with write-back', () => {

  it('judges LLM spans and writes each score back as an LLM span annotation; a refused span is reported, the run stays', async () => {
    const spans: PhoenixSpan[] = ['GOOD', 'BAD', 'GOOD'].map((mark, i) => ({
      id: `s${i}`,
      name: 'llm',
      context: { trace_id: `${i}`.padStart(32, 'a'), span_id: `${i}`.padStart(16, 'b') },
      span_kind: 'LLM',
      parent_id: null,
      start_time: '2026-12-01T00:00:00Z',
      end_time: '2026-12-01T00:00:01Z',
      status_code: 'OK',
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.input_messages.0.message.role': 'user',
        'llm.input_messages.0.message.content': `Question ${i}?`,
        'llm.output_messages.0.message.role': 'assistant',
        'llm.output_messages.0.message.content': `${mark} answer ${i}.`,
      },
    }));
    spans.push({ ...spans[0], id: 's3', context: { trace_id: 'c'.repeat(32), span_id: 'd'.repeat(16) }, attributes: { 'openinference.span.kind': 'LLM' } });
    const phoenix = await startFakePhoenix({ project: 'support-bot', spans, annotations: [], api_key: 'px-key', gone_span_ids: ['2'.padStart(16, 'b')] });
    const judge = await startFakeJudge();
    closers.push(phoenix.close, judge.close);
    t = await connectTestClient({ config: { ...judgeConfig(judge.url), plugins: { phoenix: { base_url: phoenix.url, api_key: 'px-key' } } } });

    const out = await t.callOk(judgeOutputsTool, { source: 'phoenix', query: { project: 'support-bot' }, rubric: 'correctness', write_back: true });
    expect(out).toMatchObject({ source: 'phoenix', source_ref: 'phoenix:support-bot', rows: 3, scored: 3, source_skipped_count: 1 });
    expect(out.results.map((r) => [r.span_id, r.score])).toEqual([['0'.padStart(16, 'b'), 0.9], ['1'.padStart(16, 'b'), 0.1], ['2'.padStart(16, 'b'), 0.9]]);
    expect(out.write_back).toMatchObject({ target: 'phoenix:support-bot', written: 2, failed_count: 1 });
    expect(out.write_back!.failed[0]).toMatchObject({ ref: '2'.padStart(16, 'b'), reason: expect.stringContaining('HTTP 404: Could not find spans with IDs') });
    expect(phoenix.written).toHaveLength(2);
    expect(phoenix.written[0]).toEqual({
      span_id: '0'.padStart(16, 'b'),
      name: 'correctness',
      annotator_kind: 'LLM',
      result: { score: 0.9, explanation: 'Complete and correct.' },
      identifier: 'finetune-mcp',
      metadata: { judge_run_id: out.run_id, judge: `endpoint judge-1 at ${judge.url}`, rubric_sha256: out.rubric_sha256 },
      sync: 'true',
    });
    const writebacks = t.services.workspace.db.prepare('SELECT written, failed FROM judge_run_writebacks WHERE run_id = ?').all(out.run_id);
    expect(writebacks).toEqual([{ written: 2, failed: 1 }]);
  });
});

describe('verdict parser', () => {
  it('accepts only an object with a reason and a finite score in [0, 1]', () => {
    expect(parseOutputVerdict('{"reason": "ok", "score": 1}')).toEqual({ ok: true, score: 1, reason: 'ok' });
    expect(parseOutputVerdict('Verdict: {"reason": "ok", "score": 0} done')).toEqual({ ok: true, score: 0, reason: 'ok' });
    expect(parseOutputVerdict('{"reason": "ok", "score": "0.8"}')).toMatchObject({ ok: false, error: expect.stringContaining("'score'") });
    expect(parseOutputVerdict('{"score": 0.8}')).toMatchObject({ ok: false, error: expect.stringContaining("'reason'") });
    expect(parseOutputVerdict('{"reason": "ok", "score": -0.1}')).toEqual({ ok: false, error: 'score -0.1 is outside [0, 1]' });
    expect(parseOutputVerdict('0.8')).toMatchObject({ ok: false, error: expect.stringContaining("'(root)'") });
    expect(parseOutputVerdict('{"reason": "ok", "score": 0.5, ')).toMatchObject({ ok: false, error: expect.stringContaining('not JSON') });
    expect(parseOutputVerdict('')).toMatchObject({ ok: false });
  });
});
