import { toFinetuneError } from '../../../src/errors.js';
import type { Logger } from '../../../src/observability/logger.js';
import type { JobSink } from '../../../src/plugins/providers.js';

/**
 * Ends a failed job from inside its worker. The ledger comes first: on a full disk (DISK_FULL, with
 * the path that could not be written) the worker's state file may not be writable, and the job must
 * still end as failed with its cause. If the ledger cannot be written either, this throws, the worker
 * exits 1, and the server that watches it records "exited with code 1" (never "server restart").
 */
export function reportWorkerFailure(error: unknown, sink: JobSink, writeState: (state: string, detail: Record<string, unknown>) => void, logger: Logger): void {
  const failure = toFinetuneError(error);
  logger.error({ err: error }, 'training failed');
  sink.event('error', failure.message, { code: failure.code, ...failure.details });
  sink.status('failed', { message: failure.message, error_code: failure.code });
  try {
    writeState('failed', { error_code: failure.code, message: failure.message });
  } catch (stateError) {
    logger.warn({ err: stateError }, 'could not write the worker state file');
  }
}
