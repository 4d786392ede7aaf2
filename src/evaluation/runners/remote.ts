import { chatGenerateFromConfig, type ChatGenerate } from '../../../plugins/openai/inference.js';
import { FinetuneError } from '../../errors.js';
import type { Services } from '../../services.js';
import type { EvalCase } from '../cases.js';

/** Remote model references: `openai:<model>` (a base or an OpenAI fine-tune, e.g. `openai:ft:gpt-4o-mini:org::abc`). */
export const REMOTE_PREFIXES = ['openai:'] as const;

export function isRemoteModel(id: string | undefined): boolean {
  return Boolean(id && REMOTE_PREFIXES.some((p) => id.startsWith(p)));
}

/**
 * A model served by a backend that declares inference: it generates (chat completions, temperature
 * 0) but exposes no token log-probabilities, so it takes text and label metrics only.
 */
export class RemoteRunner {
  private constructor(
    readonly uri: string,
    private readonly chat: ChatGenerate,
  ) {}

  /** Credentials from the plugin's config section, then the server environment (as the plugin itself reads them). */
  static open(services: Services, uri: string): RemoteRunner {
    const section = (services.config.plugins.openai ?? {}) as Record<string, unknown>;
    const chat = chatGenerateFromConfig(section, process.env);
    return new RemoteRunner(uri, chat);
  }

  get provider(): string {
    return 'openai';
  }

  async generate(c: EvalCase, _file: string, maxTokens: number, signal?: AbortSignal): Promise<string> {
    if (!c.messages.length) throw new FinetuneError('INVALID_INPUT', `Row ${c.line} has no prompt for a chat model.`, { details: { line: c.line } });
    const out = await this.chat({ model: this.uri, messages: c.messages, max_tokens: maxTokens, temperature: 0, seed: 0, signal });
    return c.task === 'classification' ? out.text.trim().split('\n')[0].trim() : out.text;
  }
}
