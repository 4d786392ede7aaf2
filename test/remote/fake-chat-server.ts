import { HttpFake } from './http-fake.js';

export interface ChatRequestBody {
  model: string;
  messages: Array<{ role: string; content: string }>;
  max_tokens?: number;
  temperature?: number;
  seed?: number;
}

/**
 * A local OpenAI-compatible chat server as vLLM, Ollama and llama.cpp's server expose it:
 * `GET /v1/models` and `POST /v1/chat/completions` (no auth unless a key is given), answering
 * through `answer`. Unknown models get the 404 body vLLM sends.
 */
export class FakeChatServer {
  readonly http: HttpFake;

  constructor(
    readonly models: Record<string, (body: ChatRequestBody) => string>,
    readonly apiKey?: string,
  ) {
    this.http = new HttpFake((request) =>
      !apiKey || request.headers.authorization === `Bearer ${apiKey}` ? undefined : { status: 401, body: { error: { message: 'Invalid API key', type: 'invalid_request_error' } } },
    );
    this.http
      .on('GET', /^\/v1\/models$/, () => ({ status: 200, body: { object: 'list', data: Object.keys(models).map((id) => ({ id, object: 'model', owned_by: 'vllm' })) } }))
      .on('POST', /^\/v1\/chat\/completions$/, (request) => {
        const body = JSON.parse(request.body.toString('utf8')) as ChatRequestBody;
        const answer = models[body.model];
        if (!answer) return { status: 404, body: { object: 'error', message: `The model \`${body.model}\` does not exist.`, type: 'NotFoundError', code: 404 } };
        const content = answer(body);
        return {
          status: 200,
          body: {
            id: 'chatcmpl-fake', object: 'chat.completion', created: 1, model: body.model,
            choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content }, logprobs: null }],
            usage: { prompt_tokens: 11, completion_tokens: content.split(/\s+/).length, total_tokens: 11 + content.split(/\s+/).length },
          },
        };
      });
  }

  /** The API root, `http://127.0.0.1:<port>/v1`. */
  start(): Promise<string> {
    return this.http.start().then((url) => `${url}/v1`);
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  /** Bodies of the chat requests seen so far. */
  chatBodies(): ChatRequestBody[] {
    return this.http.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => JSON.parse(r.body.toString('utf8')) as ChatRequestBody);
  }
}
