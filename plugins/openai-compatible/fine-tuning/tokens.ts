import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base';
import { linearCount } from '../../../src/datasets/tokenizers.js';
import type { OpenAIChatMessage } from './format.js';

type Encoding = 'o200k_base' | 'cl100k_base';

// Linear in the length of a word (src/datasets/tokenizers.ts: long runs are counted in chunks).
const COUNTERS: Record<Encoding, (text: string) => number> = {
  o200k_base: linearCount((t) => countO200k(t, { disallowedSpecial: new Set() })),
  cl100k_base: linearCount((t) => countCl100k(t, { disallowedSpecial: new Set() })),
};

/**
 * Tokens of a chat as OpenAI counts it, by the OpenAI cookbook's `num_tokens_from_messages`:
 * 3 per message, every string value encoded, 1 more per `name`, 3 to prime the reply.
 * Tool calls are counted as their JSON (an estimate, like the cookbook's).
 */
export function countChatTokens(messages: readonly OpenAIChatMessage[], encoding: Encoding): number {
  const count = COUNTERS[encoding];
  let total = 3;
  for (const message of messages) {
    total += 3;
    total += count(message.role);
    if (message.content) total += count(message.content);
    if (message.name) total += count(message.name) + 1;
    if (message.tool_calls) total += count(JSON.stringify(message.tool_calls));
  }
  return total;
}
