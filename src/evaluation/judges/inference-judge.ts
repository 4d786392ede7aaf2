import type { InferenceProvider, Judge } from '../../plugins/providers.js';
import { JUDGE_SYSTEM, judgeUserMessage, parseVerdict } from './prompt.js';

/** A judge that asks a model on an inference provider (temperature 0) for the verdict. */
export function inferenceJudge(inference: InferenceProvider, model: string, options: { max_tokens: number; signal?: AbortSignal }): Judge {
  return {
    async compare(input) {
      const out = await inference.generate({
        model,
        messages: [
          { role: 'system', content: JUDGE_SYSTEM },
          { role: 'user', content: judgeUserMessage(input) },
        ],
        temperature: 0,
        max_tokens: options.max_tokens,
        signal: options.signal,
      });
      return parseVerdict(out.text);
    },
  };
}
