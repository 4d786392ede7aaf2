import { scrubDeep, scrubSecrets } from './observability/secrets.js';

/**
 * One error class with a closed set of codes. Every tool failure reaches the model as
 * `[CODE] what and where` plus `Recovery: what to do next`; unknown errors become INTERNAL.
 */
export const ERROR_CODES = {
  INVALID_INPUT: { retryable: false, recovery: 'Fix the named argument and call the tool again.' },
  NOT_FOUND: { retryable: false, recovery: 'List the records (list_datasets, list_models, list_jobs) and use an existing id.' },
  PATH_NOT_ALLOWED: { retryable: false, recovery: 'Use a path under one of the allowed roots, or add its folder to `allowed_roots` in the config.' },
  FILE_ERROR: { retryable: false, recovery: 'Check that the file exists, is readable and is the kind of file the tool expects.' },
  DISK_FULL: { retryable: true, recovery: 'Free space (or raise the quota) on the disk being written (the workspace or the output folder), e.g. delete_job / delete_dataset for records no longer needed, then call again.' },
  DATASET_INVALID: { retryable: false, recovery: 'Run validate_dataset for every problem with its line and fix, then prepare the dataset again.' },
  CONFIG_INVALID: { retryable: false, recovery: 'Correct the named configuration key and start again.' },
  CAPABILITY_UNSUPPORTED: { retryable: false, recovery: 'Choose a backend or option that list_backends shows as supported.' },
  MODEL_UNSUPPORTED: { retryable: false, recovery: 'Use a model whose architecture is supported (see inspect_model / server_info).' },
  PLUGIN_INVALID: { retryable: false, recovery: 'Fix the plugin definition (meta.name, meta.version, meta.api_version, create) and restart.' },
  PLUGIN_DUPLICATE: { retryable: false, recovery: 'Remove one of the plugins that share this name from the config.' },
  PLUGIN_API_VERSION: { retryable: false, recovery: 'Upgrade the plugin (or finetune-mcp) so both speak the same plugin API version.' },
  PLUGIN_CONFIG_INVALID: { retryable: false, recovery: "Correct the plugin's section under `plugins` in the config file." },
  PLUGIN_PROBE_FAILED: { retryable: true, recovery: 'See the reason; fix the environment (credentials, native binding) and restart.' },
  PLUGIN_LOAD_FAILED: { retryable: false, recovery: 'Install the plugin package (npm install NAME) or remove it from the config.' },
  PLUGIN_UNAVAILABLE: { retryable: false, recovery: 'Call server_info to see why the plugin is disabled and how to enable it.' },
  STATE_CONFLICT: { retryable: false, recovery: 'Read the current state (monitor_training, get_model_version) and act on it.' },
  IMMUTABLE_RECORD: { retryable: false, recovery: 'Records of this kind never change: create a new version instead.' },
  BUDGET_EXCEEDED: { retryable: false, recovery: 'Raise max_cost_usd / max_runtime_s, or reduce epochs, steps or model size.' },
  GATE_FAILED: { retryable: false, recovery: 'Improve the model or pass force=true with a reason to promote anyway.' },
  AUTH_INVALID: { retryable: false, recovery: 'Set a valid API key (environment variable or config) for this provider.' },
  RATE_LIMITED: { retryable: true, recovery: 'Wait a minute and call again; the provider is limiting requests.' },
  QUOTA_EXCEEDED: { retryable: false, recovery: "Raise the provider account's quota or billing limit." },
  UPSTREAM_ERROR: { retryable: true, recovery: 'The remote service failed; call again later. The request id is in the message.' },
  OUT_OF_MEMORY: { retryable: false, recovery: 'Lower batch_size or max_seq_length, use LoRA instead of full, or pick a smaller model.' },
  TRAINING_DIVERGED: { retryable: false, recovery: 'Lower learning_rate or enable gradient clipping (max_grad_norm) and resume from a checkpoint.' },
  TIMEOUT: { retryable: true, recovery: 'Call again with a longer time limit, or check the remote service status.' },
  CANCELLED: { retryable: false, recovery: 'The work was cancelled; resume_training or call the tool again if that was not intended.' },
  INTERNAL: { retryable: false, recovery: 'This is a bug in finetune-mcp: the server log (stderr) has the stack trace.' },
} as const satisfies Record<string, { retryable: boolean; recovery: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetails {
  /** Where the problem is: a file, 1-based line and JSON path of a field, when known. */
  file?: string;
  line?: number;
  field?: string;
  [key: string]: unknown;
}

/**
 * A brand every FinetuneError carries, under a registry-wide symbol: a plugin bundling its own copy of
 * this package throws errors that are not `instanceof` ours, yet must keep their code and recovery.
 */
const BRAND = Symbol.for('finetune-mcp.error');

export class FinetuneError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly recovery: string;
  readonly retryable: boolean;
  readonly details: ErrorDetails;

  constructor(
    code: ErrorCode,
    message: string,
    options: { recovery?: string; retryable?: boolean; details?: ErrorDetails; cause?: unknown } = {},
  ) {
    // Upstream text may echo a credential (an error body quoting the Authorization header): scrubbed here, once.
    super(scrubSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FinetuneError';
    this.code = code;
    this.recovery = scrubSecrets(options.recovery ?? ERROR_CODES[code].recovery);
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = scrubDeep(options.details ?? {});
  }

  /** The text the model reads: `[CODE] what and where` then `Recovery: …` (scrubbed again: a secret may be registered since). */
  toText(): string {
    return scrubSecrets(`[${this.code}] ${this.message}\nRecovery: ${this.recovery}`);
  }
}

/** True for a FinetuneError from this or any other copy of the package (checked by brand and code, not instanceof). */
export function isFinetuneError(error: unknown): error is FinetuneError {
  if (error instanceof FinetuneError) return true;
  const candidate = error as { [BRAND]?: unknown; code?: unknown } | null;
  return typeof candidate === 'object' && candidate !== null && candidate[BRAND] === true && typeof candidate.code === 'string' && Object.hasOwn(ERROR_CODES, candidate.code);
}

/** Wraps anything thrown into a FinetuneError; an operating-system refusal gets its own code, other failures become INTERNAL. */
export function toFinetuneError(error: unknown): FinetuneError {
  if (error instanceof FinetuneError) return error;
  if (isFinetuneError(error)) {
    // Another copy's error: rebuilt as ours, keeping what the plugin said.
    return new FinetuneError(error.code, error.message, { recovery: error.recovery, retryable: error.retryable, details: error.details, cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return fromSystemError(error) ?? new FinetuneError('INTERNAL', `Unexpected failure: ${message}`, { cause: error });
}

/** A path shown in a message: a 5,000-character one is cut to its ends. */
function shownPath(path: string): string {
  return path.length > 200 ? `${path.slice(0, 80)}…(${path.length} characters)…${path.slice(-80)}` : path;
}

/**
 * Node's errno failures that are the environment's doing, not a bug: a full disk or quota, a path too
 * long or holding a NUL byte, no permission, a read-only filesystem, too many open files.
 */
function fromSystemError(error: unknown): FinetuneError | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, path, syscall } = error as NodeJS.ErrnoException;
  const file = typeof path === 'string' ? shownPath(path) : undefined;
  const where = file ? ` '${file}'` : '';
  const details: ErrorDetails = { ...(file ? { file } : {}), ...(code ? { errno: code } : {}) };
  const options = { details, cause: error };
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'SQLITE_FULL': // the workspace database, on the same full disk
      return new FinetuneError('DISK_FULL', `${code === 'EDQUOT' ? 'Disk quota exceeded' : 'No space left on the device'} while writing${where || ' a file'} (${syscall ?? 'write'}).`, options);
    case 'ENAMETOOLONG':
      return new FinetuneError('INVALID_INPUT', `A path is too long for the filesystem${where} (a name over 255 bytes or a path over 4,096).`, {
        ...options,
        recovery: 'Use a shorter path (shorter folder and file names).',
      });
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_INVALID_ARG_TYPE':
      if (/null bytes/.test(error.message)) return new FinetuneError('INVALID_INPUT', 'A path contains a NUL byte (\\u0000).', { ...options, recovery: 'Remove the NUL byte from the path and call again.' });
      return undefined;
    case 'EACCES':
    case 'EPERM':
      return new FinetuneError('FILE_ERROR', `Permission denied${where} (${syscall ?? 'access'}).`, { ...options, recovery: 'Give the server user access to the file or folder, or use another path.' });
    case 'EROFS':
      return new FinetuneError('FILE_ERROR', `The filesystem is read-only${where}.`, { ...options, recovery: 'Write to a folder on a writable filesystem.' });
    case 'EMFILE':
    case 'ENFILE':
      return new FinetuneError('FILE_ERROR', `Too many open files (${code})${where}.`, { ...options, retryable: true, recovery: 'Call again when fewer calls run at once, or raise the open-file limit (ulimit -n).' });
    default:
      return undefined;
  }
}
