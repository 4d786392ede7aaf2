import { FinetuneError, isFinetuneError, type ErrorCode } from '../../src/errors.js';
import { openAISdk } from './sdk.js';

/** Where a remote call happened, so the message says which request failed and for which file. */
export interface UpstreamContext {
  provider: string;
  /** e.g. "uploading the training file", "creating the fine-tuning job". */
  action: string;
  /** Local JSONL file the request was about, so a line number in the answer can be located. */
  file?: string;
}

/** A line number named in an upstream file-validation message ("line 12", "Line 3:"). */
export function lineNamedIn(message: string): number | undefined {
  const match = /\bline[\s#:]*(\d+)/i.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** Picks our code from an HTTP status and the upstream message. Shared by every remote backend. */
export function codeForStatus(status: number | undefined, message: string, aboutFile: boolean): ErrorCode {
  if (status === 401 || status === 403) return 'AUTH_INVALID';
  if (status === 429) return /quota|billing|insufficient/i.test(message) ? 'QUOTA_EXCEEDED' : 'RATE_LIMITED';
  if (status === 402) return 'QUOTA_EXCEEDED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 408) return 'TIMEOUT';
  if (status !== undefined && status >= 500) return 'UPSTREAM_ERROR';
  // A refusal that names a config field (`config.method: …`, `hyperparameters.lora_r: …`) is the config's fault.
  if ((status === 400 || status === 422) && /^(config|hyperparameters)\.[\w.]+:/.test(message)) return 'CONFIG_INVALID';
  if (status === 400 || status === 422) return aboutFile || /\bfile\b|jsonl|\bline\b|example/i.test(message) ? 'DATASET_INVALID' : 'INVALID_INPUT';
  return 'UPSTREAM_ERROR';
}

/** Builds the one FinetuneError of an upstream failure: what, where, and the request id. */
export function upstreamError(
  context: UpstreamContext,
  status: number | undefined,
  message: string,
  requestId: string | null | undefined,
  cause?: unknown,
): FinetuneError {
  const code = codeForStatus(status, message, context.file !== undefined);
  const line = code === 'DATASET_INVALID' ? lineNamedIn(message) : undefined;
  const where = context.file ? ` (${context.file}${line ? ` line ${line}` : ''})` : '';
  const rid = requestId ? ` [request id ${requestId}]` : '';
  const statusText = status === undefined ? 'no response' : `HTTP ${status}`;
  return new FinetuneError(code, `${context.provider} refused ${context.action}${where}: ${statusText}: ${message}${rid}`, {
    details: { provider: context.provider, status, request_id: requestId ?? undefined, ...(context.file ? { file: context.file } : {}), ...(line ? { line } : {}) },
    cause,
  });
}

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
