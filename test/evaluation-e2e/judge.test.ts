import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signTestPValue } from '../../src/evaluation/sign-test.js';
import { compareModelsTool } from '../../tools/compare-models.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';

/** Ten questions; the fine-tune's answer carries the ★ mark the fake judge prefers in 8 of them. */
function writeOutputs(dir: string): string {
  const rows = Array.from({ length: 10 }, (_, i) => {
    const ftBetter = i < 8;
    return { prompt: `Question ${i}: tell a short story about a cat.`, outputs: { base: `base answer ${i}${ftBetter ? '' : ' ★'}`, ft: `tuned answer ${i}${ftBetter ? ' ★' : ''}` } };
  });
  const path = join(dir, 'outputs.jsonl');
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

function answersOf(prompt: string): { a: string; b: string } {
  const a = /\[The Start of Assistant A's Answer\]\n([\s\S]*?)\n\[The End of Assistant A's Answer\]/.exec(prompt)![1];
  const b = /\[The Start of Assistant B's Answer\]\n([\s\S]*?)\n\[The End of Assistant B's Answer\]/.exec(prompt)![1];
  return { a, b };
}

/** Prefers the answer with ★; `biasToA` makes it say A whatever it sees (a pure position bias). */
function fakeJudge(prompt: string, biasToA = false): string {
  if (biasToA) return 'Assistant A reads better. [[A]]';
  const { a, b } = answersOf(prompt);
  return a.includes('★') ? 'A is clearly better. [[A]]' : b.includes('★') ? 'B is clearly better. [[B]]' : 'Equal. [[C]]';
}

describe('compare_models with an LLM judge', () => {
  let t: TestClient;
  let server: Server | undefined;
  afterEach(async () => {
    await t?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('judges through MCP sampling in both orders: win-rate, consistency and sign-test p-value', async () => {
    t = await connectTestClient({ clientCapabilities: { capabilities: { sampling: {} } } });
    const seen: string[] = [];
    t.client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const content = request.params.messages[0].content as { type: string; text: string };
      seen.push(content.text);
      expect(request.params.systemPrompt).toContain('[[C]]');
      return { model: 'fake-judge', role: 'assistant', content: { type: 'text', text: fakeJudge(content.text) } };
    });
    const path = writeOutputs(mkdtempSync(join(t.home, 'cmp-')));
    const out = await t.callOk(compareModelsTool, { outputs_path: path, baseline: 'base', criteria: ['helpfulness'] });
    expect(seen).toHaveLength(20); // 10 cases × 2 orders
    expect(seen[0]).toContain('Judge on: helpfulness.');
    expect(out.judge?.used).toBe('client sampling');
    const r = out.judge!.results[0];
    expect(r).toMatchObject({ model: 'ft', wins: 8, losses: 2, ties: 0, win_rate: 0.8, consistency: 1 });
    // scipy.stats.binomtest(2, 10, 0.5).pvalue == 0.109375
    expect(r.p_value).toBeCloseTo(0.109375, 15);
    expect(out.verdict).toBe('no_significant_change');
    expect(out.notes).toContain('no text metrics: some cases have no reference answer');
    const stored = t.services.workspace.db.prepare('SELECT dataset FROM comparisons WHERE id = ?').get(out.comparison_id) as { dataset: string };
    expect(stored.dataset).toBe(path);
  });

  it('cancels a position-biased judge: always "A" gives no wins, no losses, consistency 0', async () => {
    t = await connectTestClient({ clientCapabilities: { capabilities: { sampling: {} } } });
    const verdicts: string[] = [];
    t.client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const text = fakeJudge((request.params.messages[0].content as { text: string }).text, true);
      verdicts.push(text);
      return { model: 'biased', role: 'assistant', content: { type: 'text', text } };
    });
    const out = await t.callOk(compareModelsTool, { outputs_path: writeOutputs(mkdtempSync(join(t.home, 'cmp-'))), baseline: 'base' });
    // Judged in one order only, this judge would give the candidate 10/10; both orders cancel it.
    expect(verdicts.every((v) => v.endsWith('[[A]]'))).toBe(true);
    expect(out.judge!.results[0]).toMatchObject({ wins: 0, losses: 0, ties: 10, win_rate: 0.5, consistency: 0, p_value: 1 });
  });

  it('uses an OpenAI-compatible endpoint from the config when the client cannot sample', async () => {
    const requests: Array<{ auth: string | undefined; body: Record<string, unknown> }> = [];
    server = createServer(async (req, res) => {
      const body = JSON.parse(await readBody(req)) as { messages: Array<{ content: string }> };
      requests.push({ auth: req.headers.authorization, body });
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-request-id', `req_${requests.length}`);
      res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 0, model: 'judge-1', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: fakeJudge(body.messages[1].content) } }] }));
    });
    const baseURL = await listen(server);
    t = await connectTestClient({ config: { judge: { base_url: baseURL, model: 'judge-1', api_key: 'sk-test-judge', max_tokens: 256, timeout_s: 10, max_retries: 0 } } });
    const out = await t.callOk(compareModelsTool, { outputs_path: writeOutputs(mkdtempSync(join(t.home, 'cmp-'))), baseline: 'base' });
    expect(out.judge!.used).toBe(`endpoint judge-1 at ${baseURL}`);
    expect(out.judge!.results[0]).toMatchObject({ wins: 8, losses: 2, win_rate: 0.8 });
    expect(requests).toHaveLength(20);
    expect(requests[0].auth).toBe('Bearer sk-test-judge');
    expect(requests[0].body).toMatchObject({ model: 'judge-1', temperature: 0, max_tokens: 256 });
  });

  it('turns an endpoint 401 into AUTH_INVALID with the request id, and a missing judge into a note', async () => {
    server = createServer((_req, res) => {
      res.statusCode = 401;
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-request-id', 'req_denied');
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } }));
    });
    const baseURL = await listen(server);
    t = await connectTestClient({ config: { judge: { base_url: baseURL, model: 'judge-1', api_key: 'bad', max_tokens: 64, timeout_s: 10, max_retries: 0 } } });
    const path = writeOutputs(mkdtempSync(join(t.home, 'cmp-')));
    const denied = await t.call('compare_models', { outputs_path: path, baseline: 'base' });
    expect(errorCode(denied)).toBe('AUTH_INVALID');
    expect(resultText(denied)).toContain('req_denied');
    const stored = t.services.workspace.db.prepare('SELECT COUNT(*) FROM comparisons').pluck().get();
    expect(stored).toBe(0);
    await t.close();

    t = await connectTestClient();
    const fresh = writeOutputs(mkdtempSync(join(t.home, 'cmp-')));
    const none = await t.callOk(compareModelsTool, { outputs_path: fresh });
    expect(none.judge).toBeNull();
    expect(none.notes[0]).toMatch(/^no judge/);
    expect(errorCode(await t.call('compare_models', { outputs_path: fresh, judge: 'sampling' }))).toBe('CAPABILITY_UNSUPPORTED');
  });

  it('sign test matches scipy.stats.binomtest on published splits', () => {
    // Values printed by scipy 1.17.1: binomtest(min(w, l), w + l, 0.5).pvalue
    expect(signTestPValue(8, 2)).toBeCloseTo(0.109375, 15);
    expect(signTestPValue(0, 5)).toBeCloseTo(0.0625, 15);
    expect(signTestPValue(30, 12)).toBeCloseTo(0.007915897334896727, 13);
    expect(signTestPValue(500, 460)).toBeCloseTo(0.2081086007351347, 10);
    expect(signTestPValue(7, 7)).toBe(1);
    expect(signTestPValue(1, 0)).toBe(1);
  });
});

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => resolve(data));
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

describe('compare_models with a judge plugin', () => {
  it('uses the named plugin judge in both orders', async () => {
    const { definePlugin, PLUGIN_API_VERSION } = await import('../../src/plugins/types.js');
    const seen: string[] = [];
    const plugin = definePlugin({
      meta: { name: 'star-judge', version: '1.0.0', api_version: PLUGIN_API_VERSION, description: 'Prefers the answer with a star.' },
      provides: ['judge'],
      capabilities: {},
      create: () => ({
        judge: {
          async compare(input: { answer_a: string; answer_b: string }) {
            seen.push(input.answer_a);
            return { winner: input.answer_a.includes('★') ? 'a' : input.answer_b.includes('★') ? 'b' : 'tie' } as const;
          },
        },
      }),
    });
    const t = await connectTestClient({ plugins: [plugin] });
    try {
      const out = await t.callOk(compareModelsTool, { outputs_path: writeOutputs(mkdtempSync(join(t.home, 'cmp-'))), baseline: 'base', judge: 'plugin:star-judge' });
      expect(out.judge?.used).toBe('plugin star-judge');
      expect(out.judge!.results[0]).toMatchObject({ wins: 8, losses: 2, ties: 0 });
      expect(seen).toHaveLength(20);
      expect(errorCode(await t.call('compare_models', { outputs_path: writeOutputs(mkdtempSync(join(t.home, 'cmp-'))), judge: 'plugin:nope' }))).toBe('PLUGIN_UNAVAILABLE');
    } finally {
      await t.close();
    }
  });
});
