import { z } from 'zod';
import { isFinetuneError } from '../../errors.js';
import type { InferenceProvider, JsonSchemaFormat, LocalModelFiles } from '../../plugins/providers.js';
import type { SamplingRequest } from '../../server/tool.js';
import type { Rubric } from './rubrics.js';

/**
 * Scores one output at a time against a rubric (judge_outputs), where the pairwise judge of
 * compare_models compares two. The verdict is `{reason, score}` as JSON; a provider that speaks
 * OpenAI's structured output is held to the schema by `response_format`, and every answer (also
 * from client sampling, which has no structured output) goes through the same parser.
 */

/** `reason` comes first: with structured output the model writes properties in schema order, so it explains before it scores. */
const VERDICT_JSON_SCHEMA = {
  type: 'object',
  properties: {
    reason: { type: 'string', description: 'Why this score, in one to three sentences.' },
    score: { type: 'number', minimum: 0, maximum: 1, description: 'How well the output meets the rubric, from 0 (not at all) to 1 (fully).' },
  },
  required: ['reason', 'score'],
  additionalProperties: false,
} as const;

const VERDICT_FORMAT: JsonSchemaFormat = { type: 'json_schema', json_schema: { name: 'verdict', strict: true, schema: VERDICT_JSON_SCHEMA } };

const VerdictSchema = z.object({ score: z.number(), reason: z.string().trim().min(1) });

const SYSTEM =
  'You are an impartial judge. You grade one output of an AI assistant against a rubric, on a scale from 0 to 1. ' +
  'Judge only what the rubric asks; do not let the length or style of the output sway you unless the rubric is about them. ' +
  'Reply with a JSON object only: {"reason": "<one to three sentences>", "score": <a number from 0 to 1>}.';

export interface OutputToJudge {
  /** The conversation before the output (system messages included, unless they are the context). */
  input: Array<{ role: string; content: string }>;
  output: string;
  context?: string;
}

/**
 * The schema is in the prompt for every judge: client sampling has no structured output, and a provider
 * that cannot constrain its output (the local engine) ignores response_format.
 */
function judgeOutputMessages(item: OutputToJudge, rubric: Rubric): { system: string; user: string } {
  const system = `${SYSTEM}\nThe object must match this JSON Schema: ${JSON.stringify(VERDICT_JSON_SCHEMA)}`;
  const conversation = item.input.map((m) => `${m.role}: ${m.content}`).join('\n\n');
  const user =
    `[Rubric]\n${rubric.text}\n\n` +
    (item.context !== undefined ? `[Context]\n${item.context}\n\n` : '') +
    `[Conversation]\n${conversation || '(none)'}\n\n` +
    `[Output to judge]\n${item.output}`;
  return { system, user };
}

type ParsedVerdict = { ok: true; score: number; reason: string } | { ok: false; error: string };

/** Reads a verdict; anything but a JSON object with a string reason and a score in [0, 1] is an error, never a guess. */
export function parseOutputVerdict(text: string): ParsedVerdict {
  let body = text.trim();
  const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/i.exec(body);
  if (fenced) body = fenced[1];
  // Models without structured output sometimes put a sentence around the object.
  if (!body.startsWith('{') && body.includes('{')) body = body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, error: `answer is not JSON: ${JSON.stringify(text.slice(0, 120))}` };
  }
  const parsed = VerdictSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `answer field '${issue.path.join('.') || '(root)'}': ${issue.message}` };
  }
  const { score, reason } = parsed.data;
  if (!Number.isFinite(score) || score < 0 || score > 1) return { ok: false, error: `score ${score} is outside [0, 1]` };
  return { ok: true, score, reason };
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

export type OutputVerdict = ({ ok: true; score: number; reason: string } | { ok: false; error: string }) & {
  attempts: number;
  /** Summed over attempts; null when the judge does not report tokens (client sampling). */
  usage: Usage | null;
};

export interface OutputScorer {
  /** Which judge, e.g. "endpoint gpt-4o-mini at http://…". */
  used: string;
  /** The model, as the price applies to it, e.g. "gpt-4o-mini"; null for client sampling. */
  model: string | null;
  score(item: OutputToJudge, rubric: Rubric, signal?: AbortSignal): Promise<OutputVerdict>;
}

/** One answer from the judge: its text and its tokens (null when unknown). */
type Ask = (system: string, user: string, signal?: AbortSignal) => Promise<{ text: string; usage: Usage | null; finish_reason?: string | null }>;

/**
 * Asks until the answer parses, at most 1 + max_retries times. A request the provider refuses as
 * bad input (400/422: e.g. a row longer than the judge's context) fails that row only; every other
 * failure (auth, quota, a server still failing after the HTTP retries) stops the run.
 */
function retryingScorer(ask: Ask, options: { used: string; model: string | null; max_retries: number }): OutputScorer {
  return {
    used: options.used,
    model: options.model,
    async score(item, rubric, signal) {
      const { system, user } = judgeOutputMessages(item, rubric);
      let usage = null as Usage | null;
      let error = '';
      let attempts = 0;
      while (attempts <= options.max_retries) {
        signal?.throwIfAborted();
        attempts++;
        let answer: Awaited<ReturnType<Ask>>;
        try {
          answer = await ask(system, user, signal);
        } catch (e) {
          if (isFinetuneError(e) && (e.code === 'INVALID_INPUT' || e.code === 'DATASET_INVALID')) return { ok: false, error: e.message, attempts, usage };
          throw e;
        }
        if (answer.usage) usage = { prompt_tokens: (usage?.prompt_tokens ?? 0) + answer.usage.prompt_tokens, completion_tokens: (usage?.completion_tokens ?? 0) + answer.usage.completion_tokens };
        const verdict = parseOutputVerdict(answer.text);
        if (verdict.ok) return { ...verdict, attempts, usage };
        error = answer.finish_reason === 'length' ? `${verdict.error} (cut at judge.max_tokens)` : verdict.error;
      }
      return { ok: false, error: `no valid verdict after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${error}`, attempts, usage };
    },
  };
}

export function inferenceOutputScorer(
  inference: InferenceProvider,
  model: string,
  options: { used: string; max_tokens: number; max_retries: number; local_model?: LocalModelFiles },
): OutputScorer {
  const ask: Ask = async (system, user, signal) => {
    const out = await inference.generate({
      model,
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: user },
      ],
      temperature: 0,
      max_tokens: options.max_tokens,
      response_format: VERDICT_FORMAT,
      signal,
      ...(options.local_model ? { local_model: options.local_model } : {}),
    });
    return { text: out.text, usage: out.usage, finish_reason: out.finish_reason };
  };
  return retryingScorer(ask, { used: options.used, model, max_retries: options.max_retries });
}

export function samplingOutputScorer(sample: (request: SamplingRequest) => Promise<string>, options: { max_tokens: number; max_retries: number }): OutputScorer {
  const ask: Ask = async (system, user) => ({ text: await sample({ system, messages: [{ role: 'user', text: user }], max_tokens: options.max_tokens }), usage: null });
  return retryingScorer(ask, { used: 'client sampling', model: null, max_retries: options.max_retries });
}
