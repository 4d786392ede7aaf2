import { FinetuneError } from '../errors.js';

/** Stops long dataset work when the client cancels the call, with the CANCELLED code (not an internal error). */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FinetuneError('CANCELLED', 'The dataset operation was cancelled by the client; nothing was written.');
}
