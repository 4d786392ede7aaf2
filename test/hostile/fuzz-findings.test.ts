/** Findings of the fuzz run (fuzz.test.ts), each reduced to one call through the in-memory client. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logExperimentTool } from '../../tools/log-experiment.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { nested } from './fuzz-args.js';

describe('fuzz findings', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await connectTestClient();
  });
  afterAll(async () => t.close());

  it('log_experiment refuses params nested 100,000 deep with INVALID_INPUT (was INTERNAL: stack overflow storing them)', async () => {
    const result = await t.call('log_experiment', { experiment: 'fuzz', params: { deep: nested(100_000, false) } });
    expect(result.isError).toBe(true);
    expect(errorCode(result)).toBe('INVALID_INPUT');
    expect((result._meta as { details?: { field?: string } }).details?.field).toBe('params');
    // 32 levels are still taken.
    const ok = await t.callOk(logExperimentTool, { experiment: 'fuzz', params: nested(31, false) as Record<string, unknown> });
    expect(ok.run.experiment).toBe('fuzz');
  });
});
