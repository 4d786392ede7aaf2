import { z } from 'zod';

/**
 * Request bodies of OpenAI's chat completions and (legacy) completions APIs, as far as the local
 * engine can honour them. Fields it cannot honour are refused with a 400 naming them rather than
 * ignored, so a client never believes it got what it asked for.
 */

const TextPart = z.object({ type: z.literal('text'), text: z.string() });

const ChatMessage = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  // OpenAI takes a string or an array of content parts; only text parts exist for this engine.
  content: z.union([z.string(), z.array(TextPart).min(1)]),
  name: z.string().optional(),
});

const Stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish();

const Sampling = {
  model: z.string().min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  n: z.literal(1, { error: 'n must be 1: the local engine writes one choice per request' }).nullish(),
  stop: Stop,
  seed: z.number().int().min(0).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  presence_penalty: z.literal(0, { error: 'presence_penalty is not supported by the local engine (send 0 or leave it out)' }).nullish(),
  frequency_penalty: z.literal(0, { error: 'frequency_penalty is not supported by the local engine (send 0 or leave it out)' }).nullish(),
  user: z.string().optional(),
};

export const ChatCompletionRequestSchema = z.object({
  ...Sampling,
  messages: z.array(ChatMessage).min(1, 'messages must hold at least one message'),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
});

export const CompletionRequestSchema = z.object({
  ...Sampling,
  // OpenAI also takes token arrays and batches; this engine takes one text prompt.
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'prompt must be one string: batches are not supported')]),
  max_tokens: z.number().int().min(1).nullish(),
  echo: z.literal(false, { error: 'echo is not supported' }).nullish(),
  logprobs: z.null({ error: 'logprobs is not supported' }).optional(),
});

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

type OpenAiErrorType = 'invalid_request_error' | 'rate_limit_error' | 'server_error';

/** A failure as OpenAI's API answers it: an HTTP status and the body `{error: {message, type, param, code}}`. */
export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAiErrorType,
    readonly param: string | null,
    readonly code: string | null,
  ) {
    super(message);
  }

  body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** The first zod issue as OpenAI words a bad parameter: 400, the parameter's path, what was wrong. */
export function invalidRequest(error: z.ZodError): OpenAiError {
  const issue = error.issues[0]!;
  const param = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || null;
  const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
  const message = param ? `${missing ? 'Missing required parameter' : 'Invalid value for'} '${param}': ${issue.message}.` : `Invalid request body: ${issue.message}.`;
  return new OpenAiError(400, message, 'invalid_request_error', param, missing ? 'missing_required_parameter' : 'invalid_value');
}
