import { describe, expect, it } from 'vitest';
import { reportWorkerFailure } from '../../plugins/local/trainer/worker-failure.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import type { JobSink } from '../../src/plugins/providers.js';

function enospc(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: 'ENOSPC', syscall: 'open', path });
}

describe('a local worker that hits a full disk (issue 13 item 16)', () => {
  it('ends the job failed with DISK_FULL and the path, even when its state file cannot be written', () => {
    const calls: Array<[string, ...unknown[]]> = [];
    const sink: JobSink = {
      event: (...a) => calls.push(['event', ...a]),
      metric: () => undefined,
      checkpoint: () => undefined,
      artifact: () => undefined,
      status: (...a) => calls.push(['status', ...a]),
    };
    const checkpoint = '/ws/jobs/job_1/checkpoints/.step-8.tmp-1-ab/model.safetensors';
    // The disk is still full when the worker writes worker-state.json: that must not hide the cause.
    const writeState = () => {
      throw enospc('/ws/jobs/job_1/output/.worker-state.json.tmp-1-cd');
    };
    expect(() => reportWorkerFailure(enospc(checkpoint), sink, writeState, createSilentLogger())).not.toThrow();
    const status = calls.find((c) => c[0] === 'status');
    expect(status?.[1]).toBe('failed');
    expect(status?.[2]).toMatchObject({ error_code: 'DISK_FULL' });
    expect((status?.[2] as { message: string }).message).toContain(checkpoint);
    expect(calls.find((c) => c[0] === 'event')?.[3]).toMatchObject({ code: 'DISK_FULL', file: checkpoint });
  });
});
