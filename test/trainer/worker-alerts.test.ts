import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTrainingBackend } from '../../plugins/local/trainer/backend.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { processAlive } from '../../src/training/cancel-signal.js';
import { defaultPolicy } from '../../src/training/config-schema.js';
import { createLedgerSink } from '../../src/training/ledger-sink.js';
import { JobLedger, type JobRecord } from '../../src/training/ledger.js';
import { jobAlerts } from '../../src/training/webhook.js';
import { Workspace } from '../../src/workspace/workspace.js';
import { receiver, type Receiver } from '../training/webhook-receiver.js';
import { convertStories260K, makeSpec, STYLE_STORIES } from './helpers/job-fixtures.js';
import { workerLedgerOf } from '../../src/training/worker-ledger.js';

/**
 * The real local worker (stories260K) with no server running: only the worker can send its alerts,
 * so the job's end reaches the webhook only if the worker drains the outbox before it exits.
 */
let home: string;
let workspace: Workspace;
let ledger: JobLedger;
let modelDir: string;
let hook: Receiver;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'ftm-worker-alerts-'));
  workspace = Workspace.open({ root: home });
  ledger = new JobLedger(workspace.db);
  modelDir = convertStories260K(home);
  hook = await receiver(1); // the first POST fails: the worker must retry
});
afterAll(async () => {
  await hook.close();
  workspace.close();
  rmSync(home, { recursive: true, force: true });
});

describe('local worker: alerts and checkpoints', () => {
  it('the end of a real local job reaches the webhook (after one failed attempt); pruned checkpoints are not listed', async () => {
    const job_id = workspace.newId('job');
    const spec = makeSpec({
      root: home,
      job_id,
      modelDir,
      train: join(STYLE_STORIES, 'train.jsonl'),
      task_type: 'text',
      hyper: { max_seq_length: 64, batch_size: 4, max_steps: 4, save_steps: 1, save_total_limit: 1, eval_steps: 0 },
    });
    const policy = { ...defaultPolicy(), webhook_url: hook.url };
    ledger.insertConfig({ ...spec.config, config_id: `cfg_${job_id}`, policy: policy as never, parent_config_id: null });
    ledger.create({ config_id: `cfg_${job_id}`, backend: 'local', policy: policy as never, job_id });
    ledger.transition(job_id, 'preparing');
    const backend = new LocalTrainingBackend({ logger: createSilentLogger(), workers: workerLedgerOf(workspace), threads: 1 });
    const handle = await backend.start(spec, createLedgerSink(workspace, job_id));
    const pid = Number(handle.remote_id);
    const deadline = Date.now() + 90_000;
    let job: JobRecord = ledger.get(job_id);
    while (processAlive(pid) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      job = ledger.get(job_id);
    }
    expect(job.status, readFileSync(join(spec.output_dir, 'worker.log'), 'utf8')).toBe('succeeded');
    // Delivered by the worker before it exited (this process sends nothing: it wrote no alert).
    expect(hook.bodies.map((b) => [b.event, b.job_id, b.status])).toEqual([['job_ended', job_id, 'succeeded']]);
    const [alert] = jobAlerts(workspace.db, job_id);
    expect(alert.deliveries.map((d) => [d.ok, d.http_status, d.pid])).toEqual([[false, 503, pid], [true, 204, pid]]);

    // save_total_limit 1 removed steps 1-3: the ledger lists only the checkpoint that exists.
    expect(ledger.allCheckpoints(job_id).map((c) => c.step)).toEqual([1, 2, 3, 4]);
    const listed = ledger.checkpoints(job_id);
    expect(listed.map((c) => c.step)).toEqual([4]);
    expect(existsSync(listed[0].path)).toBe(true);
    const removals = ledger.eventsSince(job_id, 0, 500).events.filter((e) => e.type === 'checkpoints_removed');
    expect(removals.flatMap((e) => e.data?.steps as number[])).toEqual([1, 2, 3]);
  }, 120_000);
});
