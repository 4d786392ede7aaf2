import { HttpFake, type Reply } from '../remote/http-fake.js';

/**
 * A local OpenAI-compatible generator: `POST /v1/chat/completions` with structured output
 * (OpenAI's chat completions API, `response_format: {type: "json_schema", json_schema: {name, schema,
 * strict}}`). A request without a strict json_schema is refused with 400, so every test checks that
 * it is sent. By default it answers rows derived from the passage or seed in the prompt, so a test can
 * check each row against its source; `script` answers a request otherwise (an HTTP error, other content).
 */
export interface GenRequest {
  /** 0-based arrival number. */
  n: number;
  auth: string | undefined;
  body: { model: string; messages: Array<{ role: string; content: string }>; response_format?: { type: string; json_schema: { name: string; schema: Record<string, unknown>; strict?: boolean } }; seed?: number };
  /** From the schema name `finetune_mcp_<kind>_v<version>`. */
  kind: string;
  /** Rows asked ("holding exactly N rows"). */
  asked: number;
  /** The first <<< … >>> block of the prompt: the passage, or the seed's request. */
  subject: string;
}

export type Scripted = Reply | { content: string } | undefined;

/** The rows an honest generator writes for a request, derived from its subject and numbered. */
export function honestRows(kind: string, subject: string, asked: number, request = 0): Array<Record<string, string>> {
  const firstSentence = (/^[^.!?\n]+[.!?]?/.exec(subject.trim()) ?? [subject])[0].trim();
  return Array.from({ length: asked }, (_, i) => {
    // Questions carry the request's number too, so no two requests write the same question.
    if (kind === 'qa') return { question: `What does it say (${request}.${i}) about "${firstSentence.slice(0, 30)}"?`, answer: firstSentence };
    if (kind === 'instructions') return { instruction: `How do I do this (${i})?`, answer: `1. ${firstSentence}` };
    if (kind === 'triplets') return { query: `search ${i}: ${firstSentence.slice(0, 40)}` };
    if (kind === 'paraphrase') return { request: `In other words (${i}): ${subject}` };
    return { answer: `I am not sure (${i}).` };
  });
}

export function completion(model: string, content: string): Reply {
  return {
    status: 200,
    body: {
      id: 'chatcmpl-fake', object: 'chat.completion', created: 0, model,
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
      // `cost`: OpenRouter's addition to usage (USD); OpenAI leaves it out.
      usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, cost: 0.0005 },
    },
  };
}

export async function startFakeGenerator(script: (request: GenRequest) => Scripted | Promise<Scripted> = () => undefined): Promise<{ url: string; seen: GenRequest[]; fake: HttpFake }> {
  const seen: GenRequest[] = [];
  const fake = new HttpFake(() => undefined).on('POST', /^\/v1\/chat\/completions$/, async (request) => {
    const body = JSON.parse(request.body.toString('utf8')) as GenRequest['body'];
    const user = body.messages.find((m) => m.role === 'user')?.content ?? '';
    const format = body.response_format;
    const r: GenRequest = {
      n: seen.length,
      auth: request.headers.authorization,
      body,
      kind: /^finetune_mcp_(.+)_v\d+$/.exec(format?.json_schema.name ?? '')?.[1] ?? 'unknown',
      asked: Number(/holding exactly (\d+) rows?/.exec(user)?.[1] ?? 0),
      subject: /<<<\n([\s\S]*?)\n>>>/.exec(user.replace(/^Conversation so far:\n<<<\n[\s\S]*?\n>>>\n/, ''))?.[1] ?? '',
    };
    seen.push(r);
    if (format?.type !== 'json_schema' || format.json_schema.strict !== true) return { status: 400, body: { error: { message: 'response_format json_schema (strict) expected', type: 'invalid_request_error' } } };
    const scripted = await script(r);
    if (scripted && 'status' in scripted) return scripted;
    return completion(body.model, scripted?.content ?? JSON.stringify({ rows: honestRows(r.kind, r.subject, r.asked, r.n) }));
  });
  const url = `${await fake.start()}/v1`;
  return { url, seen, fake };
}
