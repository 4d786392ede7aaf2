import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The OpenAI SDK (~150 modules), loaded on first use rather than at start-up. Every caller goes
 * through here, so the process holds one copy of its classes (errors.ts matches them by instanceof).
 */
export function openAISdk(): typeof import('openai') {
  return require('openai') as typeof import('openai');
}
