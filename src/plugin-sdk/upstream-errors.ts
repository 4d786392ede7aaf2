import { FinetuneError, type ErrorCode } from '../errors.js';

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

/** Picks our code from an HTTP status and the upstream message. Shared by every remote backend (the table plugin authors get from finetune-mcp/plugin). */
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

