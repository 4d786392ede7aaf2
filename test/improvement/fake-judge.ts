import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI-compatible judge (as in test/evaluation-e2e/judge-outputs.test.ts): it refuses any
 * request without the verdict's json_schema response_format and scores by a marker in the output it
 * is shown: GOOD 0.9, BAD 0.1, UNJUDGEABLE no verdict at all. It counts the outputs it was asked about, so a test can prove none
 * was judged twice. Pairwise requests (a policy's win-rate gate) always get "[[A]]".
 */
export async function startFakeJudge() {
  const judged: string[] = [];
  const pairwise: string[] = [];
  const server: Server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text);
    const reply = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    // A pairwise request (compare_models' MT-Bench prompt, no response_format): this judge always prefers
    // the first answer, so with the order swapped every case is a tie and the win-rate is exactly 0.5.
    if (!body.response_format && String(body.messages[0]?.content).includes('"[[A]]"')) {
      pairwise.push(body.messages[1].content);
      const content = 'Assistant A reads better. [[A]]';
      return reply(200, { id: 'c2', object: 'chat.completion', created: 0, model: body.model, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }], usage: { prompt_tokens: 200, completion_tokens: 10, total_tokens: 210 } });
    }
    const format = body.response_format;
    if (format?.type !== 'json_schema' || format.json_schema?.name !== 'verdict' || format.json_schema.strict !== true) {
      return reply(400, { error: { message: 'expected response_format json_schema "verdict"' } });
    }
    const shown = /\[Output to judge\]\n([\s\S]*)$/.exec(body.messages[1].content)![1];
    judged.push(shown);
    // An output marked UNJUDGEABLE gets prose, not a verdict: a row the judge could not score.
    if (shown.includes('UNJUDGEABLE')) return reply(200, { id: 'c3', object: 'chat.completion', created: 0, model: body.model, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'I would rather not say.' } }], usage: { prompt_tokens: 100, completion_tokens: 6, total_tokens: 106 } });
    const content = shown.includes('GOOD') ? '{"reason": "Complete and correct.", "score": 0.9}' : '{"reason": "Does not answer.", "score": 0.1}';
    reply(200, { id: 'c1', object: 'chat.completion', created: 0, model: body.model, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { url, judged, pairwise, close: () => new Promise<void>((r) => server.close(() => r())) };
}
