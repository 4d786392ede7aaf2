import { rmSync } from 'node:fs';
import { afterEach, expect } from 'vitest';
import type { ConfigOverrides } from '../../src/config.js';
import type { PluginDefinition } from '../../src/plugins/types.js';
import type { JobStatus } from '../../src/training/ledger.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { prepareTestDataset } from './datasets.js';

/** A test client whose job watcher runs fast (50 ms) so budget and liveness checks show quickly. */
export function connectFast(plugins: PluginDefinition<any>[], home?: string, training: ConfigOverrides['training'] = {}): Promise<TestClient> {
  return connectTestClient({ plugins, home, config: { training: { watch_interval_ms: 50, cancel_grace_ms: 3000, ...training } } });
}

export async function startJob(
  t: TestClient,
  options: { backend?: string; overrides?: Record<string, unknown>; backend_options?: Record<string, unknown>; policy?: Record<string, unknown>; dataset_id?: string } = {},
) {
  const dataset_id = options.dataset_id ?? (await prepareTestDataset(t, { rows: 60 }));
  const config = await t.callOk(configureTrainingTool, {
    base_model: 'tiny-test-model-1m',
    dataset_id,
    backend: options.backend ?? 'fake',
    template: 'smoke',
    overrides: options.overrides ?? {},
    backend_options: options.backend_options ?? {},
    policy: options.policy ?? {},
  });
  return t.callOk(startTrainingTool, { config_id: config.config_id });
}

export async function waitFor(t: TestClient, job_id: string, done: (status: JobStatus, step: number) => boolean, timeout_ms = 20_000) {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const m = await t.callOk(monitorTrainingTool, { job_id, wait_s: 0.3, events_limit: 500 });
    if (done(m.status, m.step)) return m;
    if (Date.now() > deadline) expect.fail(`job ${job_id} still ${m.status} at step ${m.step}`);
  }
}

export const ended = (s: JobStatus) => s === 'succeeded' || s === 'failed' || s === 'cancelled' || s === 'interrupted';

/** Clients and workspace folders a describe block opens, closed and removed after each test. */
export function useCleanup(): { clients: TestClient[]; homes: string[] } {
  const clients: TestClient[] = [];
  const homes: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });
  return { clients, homes };
}
