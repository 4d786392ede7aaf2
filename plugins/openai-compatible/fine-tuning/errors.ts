import { FinetuneError, isFinetuneError, type ErrorCode } from '../../../src/errors.js';
import { upstreamError, type UpstreamContext } from '../../../src/plugin-sdk/upstream-errors.js';
import { openAISdk } from './sdk.js';

/** Translates anything the OpenAI SDK throws (after its own retries) into a FinetuneError, once. */
export function mapOpenAIError(error: unknown, context: UpstreamContext): FinetuneError {
  if (isFinetuneError(error)) return error;
  const { APIConnectionError, APIError } = openAISdk();
  if (error instanceof APIConnectionError) {
    return new FinetuneError('UPSTREAM_ERROR', `${context.provider} could not be reached while ${context.action}: ${error.message}`, { cause: error });
  }
  if (error instanceof APIError) {
    const body = error.error as { message?: string } | undefined;
    const message = body?.message ?? error.message;
    return upstreamError(context, error.status, message, error.requestID, error);
  }
  return new FinetuneError('INTERNAL', `Unexpected failure while ${context.action}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/**
 * A failed job's `error {code, message, param}` mapped to our code. OpenAI's codes seen in its
 * docs and SDK: invalid_training_file, invalid_validation_file, file-format problems, quota and
 * moderation refusals; anything else stays an upstream failure.
 */
export function codeForJobError(error: { code?: string | null; message?: string | null; param?: string | null } | null | undefined): ErrorCode {
  const text = `${error?.code ?? ''} ${error?.param ?? ''} ${error?.message ?? ''}`;
  if (/quota|billing|insufficient_funds|payment/i.test(text)) return 'QUOTA_EXCEEDED';
  if (/rate_limit/i.test(text)) return 'RATE_LIMITED';
  if (/training_file|validation_file|invalid_file|file_format|jsonl|invalid_n_examples|moderation|safety|\bexamples?\b/i.test(text)) return 'DATASET_INVALID';
  if (/auth|permission/i.test(text)) return 'AUTH_INVALID';
  if (/out of memory|oom/i.test(text)) return 'OUT_OF_MEMORY';
  return 'UPSTREAM_ERROR';
}
