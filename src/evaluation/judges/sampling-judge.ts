import type { Judge } from '../../plugins/providers.js';
import type { SamplingRequest } from '../../server/tool.js';
import { JUDGE_SYSTEM, judgeUserMessage, parseVerdict } from './prompt.js';

/** A judge that asks the MCP client's own model (sampling/createMessage). */
export function samplingJudge(sample: (request: SamplingRequest) => Promise<string>, maxTokens = 512): Judge {
  return {
    async compare(input) {
      const text = await sample({ system: JUDGE_SYSTEM, messages: [{ role: 'user', text: judgeUserMessage(input) }], max_tokens: maxTokens });
      return parseVerdict(text);
    },
  };
}
