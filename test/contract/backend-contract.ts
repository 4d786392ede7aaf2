import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { ERROR_CODES } from '../../src/errors.js';
import type { PluginDefinition } from '../../src/plugins/types.js';
import { LEGAL_TRANSITIONS, type JobStatus } from '../../src/training/ledger.js';
import { cancelTrainingTool } from '../../tools/cancel-training.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { listBackendsTool } from '../../tools/list-backends.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { resumeTrainingTool } from '../../tools/resume-training.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

/**
 * The contract every training backend passes (local, OpenAI, Together, Modal, the test backend):
 * legal transitions only, events in order, cancel idempotent, a server restart either lets the
 * job go on (re-attached) or interrupts it so that it resumes to success, and failures carry
 * stable codes. Runs through the real MCP tools on a temp workspace.
 *
 * Call it at the top level of a test file:
 *   runBackendContract(() => myPlugin(fakeServerConfig), { inputs: makeDatasetAndModel, restart: 'continue' });
 */
export interface BackendContractOptions {
  /** Creates (in the test's workspace) a dataset version and a base model the backend can train on. */
  inputs(t: TestClient): Promise<{ base_model: string; dataset_id: string }>;
  /** Hyperparameter overrides over the smoke template for a short run, e.g. {max_steps: 6}. */
  overrides?: Record<string, unknown>;
  backend_options?: Record<string, unknown>;
  method?: 'sft' | 'dpo' | 'auto';
  approach?: 'lora' | 'qlora' | 'full';
  /** What a server restart does to a running job: it goes on ('continue') or becomes interrupted ('interrupt'). */
  restart: 'continue' | 'interrupt';
  /** How to make this backend fail, and the error code the job must end with (the failure test runs only when given). */
  failure?: { backend_options?: Record<string, unknown>; overrides?: Record<string, unknown>; code: string };
  /** Extra server config (plugin sections pointing at fake servers, …). */
  config?: Partial<Config>;
  env?: Record<string, string | undefined>;
  /** Runs after the first server closed in the restart test (e.g. to drop in-memory connections). */
  afterServerStop?: () => void | Promise<void>;
  /** Steps of the job in the restart test: enough to catch it running after a checkpoint. Default 40. */
  restart_steps?: number;
  /** Longest a job may take to end, in ms. Default 30 000. */
  timeout_ms?: number;
}

export function runBackendContract(makeBackend: () => PluginDefinition<any> | Promise<PluginDefinition<any>>, options: BackendContractOptions): void {
  const timeout = options.timeout_ms ?? 30_000;
  const clients: TestClient[] = [];
  const homes: string[] = [];

  async function connect(home: string): Promise<{ t: TestClient; backend: string }> {
    const plugin = await makeBackend();
    const base = loadConfig({ argv: ['--home', home], env: {} });
    const t = await connectTestClient({
      home,
      plugins: [plugin],
      env: options.env,
      config: { ...options.config, training: { ...base.training, watch_interval_ms: 50, cancel_grace_ms: 3000, ...options.config?.training } },
    });
    clients.push(t);
    return { t, backend: plugin.meta.name };
  }

  async function newJob(t: TestClient, backend: string, extra: { backend_options?: Record<string, unknown>; overrides?: Record<string, unknown> } = {}) {
    const inputs = await options.inputs(t);
    const config = await t.callOk(configureTrainingTool, {
      ...inputs,
      backend,
      method: options.method ?? 'auto',
      approach: options.approach ?? 'lora',
      template: 'smoke',
      overrides: { ...options.overrides, ...extra.overrides },
      backend_options: { ...options.backend_options, ...extra.backend_options },
    });
    const plan = await t.callOk(planTrainingTool, { config_id: config.config_id });
    expect(plan.verdict, plan.reasons.join(' ')).toBe('go');
    return t.callOk(startTrainingTool, { plan_id: plan.plan_id });
  }

  async function waitUntil(t: TestClient, job_id: string, done: (status: JobStatus, step: number) => boolean) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const m = await t.callOk(monitorTrainingTool, { job_id, wait_s: 0.2 });
      if (done(m.status, m.step)) return m;
      if (['succeeded', 'failed', 'cancelled'].includes(m.status)) throw new Error(`job ${job_id} ended as ${m.status} (${m.error_code ?? ''} ${m.error_message ?? ''}) before the state the test waits for`);
      if (Date.now() > deadline) throw new Error(`job ${job_id} still ${m.status} at step ${m.step} after ${timeout} ms`);
    }
  }

  async function statusPath(t: TestClient, job_id: string): Promise<Array<[string, string]>> {
    const m = await t.callOk(monitorTrainingTool, { job_id, events_limit: 500 });
    const seqs = m.events.map((e) => e.seq);
    expect(seqs, 'events are ordered').toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    return m.events.filter((e) => e.type === 'status').map((e) => [String(e.data?.from ?? ''), String(e.data?.to)]);
  }

  function expectLegal(path: Array<[string, string]>): void {
    expect(path[0]).toEqual(['', 'queued']);
    for (let i = 1; i < path.length; i++) {
      const [from, to] = path[i];
      expect(from, `transition ${i} starts where the last ended`).toBe(path[i - 1][1]);
      expect(LEGAL_TRANSITIONS[from as JobStatus], `${from} → ${to} is legal`).toContain(to);
    }
  }

  describe(`training backend contract`, () => {
    afterEach(async () => {
      for (const t of clients.splice(0)) await t.close().catch(() => undefined);
      for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
    });
    const freshHome = () => {
      const home = mkdtempSync(join(tmpdir(), 'ftm-contract-'));
      homes.push(home);
      return home;
    };

    it('declares training capabilities that list_backends shows', async () => {
      const { t, backend } = await connect(freshHome());
      const { backends } = await t.callOk(listBackendsTool, {});
      const entry = backends.find((b) => b.name === backend);
      expect(entry?.status).toBe('enabled');
      expect(entry!.methods.length).toBeGreaterThan(0);
      expect(entry!.approaches.length).toBeGreaterThan(0);
      expect(entry!.methods.every((m) => ['sft', 'dpo', 'classification', 'embedding'].includes(m))).toBe(true);
    });

    it('runs a job to success through legal transitions only, with ordered events, metrics and an artifact', async () => {
      const { t, backend } = await connect(freshHome());
      const job = await newJob(t, backend);
      const end = await waitUntil(t, job.job_id, (s) => ['succeeded', 'failed', 'cancelled'].includes(s));
      expect(end.status, `${end.error_code}: ${end.error_message}`).toBe('succeeded');
      expect(Object.keys(end.metrics)).toContain('loss');
      expect(end.artifacts.length).toBeGreaterThan(0);
      expectLegal(await statusPath(t, job.job_id));
    });

    it('cancel is idempotent and final', async () => {
      const { t, backend } = await connect(freshHome());
      const job = await newJob(t, backend, { overrides: { max_steps: 400 } });
      await waitUntil(t, job.job_id, (s) => s === 'running');
      const first = await t.callOk(cancelTrainingTool, { job_id: job.job_id });
      const settled = await waitUntil(t, job.job_id, (s) => s !== 'running' && s !== 'preparing');
      expect(settled.status).toBe('cancelled');
      expect(settled.error_code).toBe('CANCELLED');
      const second = await t.callOk(cancelTrainingTool, { job_id: job.job_id });
      expect([first.already_ended, second.already_ended, second.status]).toEqual([false, true, 'cancelled']);
      const stepAtCancel = settled.step;
      await new Promise((r) => setTimeout(r, 300));
      const later = await t.callOk(monitorTrainingTool, { job_id: job.job_id });
      expect([later.status, later.step]).toEqual(['cancelled', stepAtCancel]);
      expectLegal(await statusPath(t, job.job_id));
    });

    it(`a server restart ${options.restart === 'continue' ? 're-attaches the running job' : 'interrupts the job, which resumes to success'}`, async () => {
      const home = freshHome();
      const first = await connect(home);
      const job = await newJob(first.t, first.backend, { overrides: { max_steps: options.restart_steps ?? 40, save_steps: 4 } });
      await waitUntil(first.t, job.job_id, (s, step) => s === 'running' && step >= 5);
      await first.t.close();
      clients.splice(clients.indexOf(first.t), 1);
      await options.afterServerStop?.();
      const second = await connect(home);
      const after = await second.t.callOk(monitorTrainingTool, { job_id: job.job_id });
      if (options.restart === 'interrupt') {
        expect(after.status).toBe('interrupted');
        const resumed = await second.t.callOk(resumeTrainingTool, { job_id: job.job_id });
        expect(resumed.resumed_from).toMatch(/step-\d+/);
      } else {
        expect(['running', 'succeeded']).toContain(after.status);
      }
      const end = await waitUntil(second.t, job.job_id, (s) => ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(s));
      expect(end.status, `${end.error_code}: ${end.error_message}`).toBe('succeeded');
      expectLegal(await statusPath(second.t, job.job_id));
    });

    const failure = options.failure;
    if (failure) it('a failure ends the job as failed with a known error code and what to do', async () => {
      const { t, backend } = await connect(freshHome());
      const job = await newJob(t, backend, { backend_options: failure.backend_options, overrides: failure.overrides });
      const end = await waitUntil(t, job.job_id, (s) => ['succeeded', 'failed', 'cancelled'].includes(s));
      expect(end.status).toBe('failed');
      expect(end.error_code).toBe(failure.code);
      expect(Object.keys(ERROR_CODES)).toContain(end.error_code);
      expect(end.recovery).toBeTruthy();
      expectLegal(await statusPath(t, job.job_id));
    });
  });
}
