import { FinetuneError } from '../errors.js';

/** Stops long evaluation work when the client cancelled the call. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new FinetuneError('CANCELLED', `${what} was cancelled by the client; nothing was stored.`, {
      recovery: 'Call the tool again (with a smaller max_examples if it took too long).',
    });
  }
}
