import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localPlugin } from '../../plugins/local/index.js';
import { processAlive } from '../../src/training/cancel-signal.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { resumeTrainingTool } from '../../tools/resume-training.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { prepareTestDataset } from '../training/datasets.js';
import { STORIES_260K } from './helpers/job-fixtures.js';

const home = mkdtempSync(join(tmpdir(), 'ftm-crash-'));
const clients: TestClient[] = [];
afterAll(async () => {
  for (const t of clients) await t.close().catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
});

async function connect(): Promise<TestClient> {
  const t = await connectTestClient({ home, plugins: [localPlugin], config: { training: { watch_interval_ms: 50 } } });
  clients.push(t);
  return t;
}

async function until(t: TestClient, job_id: string, done: (m: Awaited<ReturnType<typeof monitor>>) => boolean, ms = 45_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = await monitor(t, job_id);
    if (done(m)) return m;
    if (Date.now() > deadline) throw new Error(`job ${job_id} still ${m.status} at step ${m.step}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const monitor = (t: TestClient, job_id: string) => t.callOk(monitorTrainingTool, { job_id, wait_s: 0.2 });

describe('a killed worker and a restarted server (through the MCP tools)', () => {
  it('the job comes back interrupted and resume_training finishes it from the last checkpoint', async () => {
    const first = await connect();
    const { model } = await first.services.models.import(join(STORIES_260K, 'stories260K.bin'), { tokenizer: join(STORIES_260K, 'tok512.bin') });
    const dataset_id = await prepareTestDataset(first, { rows: 40 });
    const config = await first.callOk(configureTrainingTool, {
      base_model: model.id, dataset_id, backend: 'local', method: 'sft', approach: 'lora', template: 'smoke',
      overrides: { max_steps: 40, save_steps: 5, eval_steps: 0, max_seq_length: 64 },
    });
    const plan = await first.callOk(planTrainingTool, { config_id: config.config_id });
    const { job_id } = await first.callOk(startTrainingTool, { plan_id: plan.plan_id });
    const running = await until(first, job_id, (m) => m.status === 'running' && m.checkpoints.length >= 2);
    const pid = running.worker_pid!;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await until(first, job_id, () => !processAlive(pid), 10_000);
    await first.close();
    clients.splice(clients.indexOf(first), 1);

    const second = await connect();
    const after = await monitor(second, job_id);
    expect(after.status).toBe('interrupted');
    const lastCheckpoint = after.checkpoints[after.checkpoints.length - 1];
    const resumed = await second.callOk(resumeTrainingTool, { job_id });
    expect(resumed.resumed_from).toBe(lastCheckpoint.path);
    const end = await until(second, job_id, (m) => ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(m.status));
    expect(end.status, `${end.error_code}: ${end.error_message}`).toBe('succeeded');
    expect(end.step).toBe(40);
    expect(end.artifacts.map((a) => a.kind).sort()).toEqual(['adapter', 'merged_model']);
  }, 90_000);
});
