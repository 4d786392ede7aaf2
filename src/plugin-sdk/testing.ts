/**
 * finetune-mcp/plugin/testing: the contract a remote training backend passes, for a plugin to run
 * under vitest against itself (and a fake of its provider). vitest is a peer: the plugin's own
 * devDependency, never loaded by the server.
 *
 *   import { runRemoteBackendContract } from 'finetune-mcp/plugin/testing';
 *   runRemoteBackendContract({ plugin, config: () => ({ base_url: fake.url }), cancelReceived: (id) => fake.cancelled.has(id) });
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, isFinetuneError, toFinetuneError, type ErrorCode } from '../errors.js';
import { createSilentLogger } from '../observability/logger.js';
import { REMOTE_STATUSES, isRemoteBackend, type RemoteJobContext, type RemotePoll, type RemoteTrainingBackend, type TrainingSpec } from '../plugins/providers.js';
import { PLUGIN_API_VERSION, type PluginContext, type PluginDefinition, type WorkerLedger } from '../plugins/types.js';
import { BASE_HYPERPARAMETERS, TEMPLATES } from '../training/templates.js';

/** A way to make the provider behave one way: backend options the job is submitted with, and/or a step run just before submit. */
export interface ContractScenario {
  backend_options?: Record<string, unknown>;
  before?(): void | Promise<void>;
}

export interface RemoteContractOptions<Config> {
  plugin: PluginDefinition<Config> | (() => PluginDefinition<Config> | Promise<PluginDefinition<Config>>);
  /** The plugin's raw config section (`plugins.<name>`), read per test (a fake's URL); parsed by its own schema as the host does. */
  config?(): unknown;
  env?(): Record<string, string | undefined>;
  /** True once the provider received a cancel for this remote id (ask your fake). */
  cancelReceived(remote_id: string): boolean | Promise<boolean>;
  /** The base model name the provider trains (default 'tiny-base'). */
  base_model?: string;
  /** Options every job is submitted with, under each scenario's own. */
  backend_options?: Record<string, unknown>;
  scenarios?: {
    /** The provider fails the job: a poll reports 'failed' with this code (or throws a FinetuneError with it). */
    fail?: ContractScenario & { code: ErrorCode };
    /** The provider refuses the job: submit throws a FinetuneError with this code. */
    refuse?: ContractScenario & { code: ErrorCode };
    /** The provider reports a status outside the five, at least once, and then goes on. */
    unknown_status?: ContractScenario;
  };
  /** Wait between polls (default 20 ms) and the longest a job may take to end (default 10 s). */
  poll_ms?: number;
  timeout_ms?: number;
}

/** A worker ledger kept in memory, for tests of plugins that do not run workers. */
export function memoryWorkerLedger(): WorkerLedger {
  const jobs = new Map<string, { worker_pid: number | null; worker_start: string | null }>();
  return {
    record: (job_id, who) => void jobs.set(job_id, { worker_pid: who.worker_pid, worker_start: null }),
    recorded: (job_id) => jobs.get(job_id),
    exited: () => undefined,
  };
}

/** A PluginContext as the host builds one: a silent logger, an empty environment, a temp data folder. */
export function testPluginContext<Config>(config: Config, extra: Partial<Omit<PluginContext<Config>, 'config'>> = {}): PluginContext<Config> {
  return {
    config,
    logger: createSilentLogger(),
    env: {},
    data_dir: extra.data_dir ?? mkdtempSync(join(tmpdir(), 'plugin-data-')),
    workers: memoryWorkerLedger(),
    ...extra,
  };
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const CHAT_ROWS = [
  { messages: [{ role: 'user', content: 'What is 2 + 2?' }, { role: 'assistant', content: '4' }] },
  { messages: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: 'Paris' }] },
  { messages: [{ role: 'user', content: 'Opposite of hot?' }, { role: 'assistant', content: 'Cold' }] },
];

/** Registers the remote backend contract as a vitest describe block; call it at the top level of a test file. */
export function runRemoteBackendContract<Config>(options: RemoteContractOptions<Config>): void {
  const pollMs = options.poll_ms ?? 20;
  const timeout = options.timeout_ms ?? 10_000;
  const scenarios = options.scenarios ?? {};
  const folders: string[] = [];
  let jobCount = 0;

  afterAll(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  async function definition(): Promise<PluginDefinition<Config>> {
    return typeof options.plugin === 'function' ? options.plugin() : options.plugin;
  }

  /** A fresh backend, built the way the host builds it (config through the plugin's schema). */
  async function backend(): Promise<RemoteTrainingBackend> {
    const plugin = await definition();
    const raw = options.config?.() ?? {};
    const config = plugin.configSchema ? plugin.configSchema.parse(raw) : (raw as Config);
    const data_dir = mkdtempSync(join(tmpdir(), 'contract-data-'));
    folders.push(data_dir);
    const providers = await plugin.create(testPluginContext(config, { env: options.env?.() ?? {}, data_dir }));
    const training = providers.training_backend;
    if (!training || !isRemoteBackend(training)) throw new Error(`Plugin '${plugin.meta.name}' has no remote training backend (kind: 'remote').`);
    return training;
  }

  function newJob(scenario: ContractScenario = {}): { spec: TrainingSpec; files: { train: string; validation: string }; ctx: RemoteJobContext } {
    const job_id = `job_contract_${++jobCount}`;
    const dir = mkdtempSync(join(tmpdir(), 'contract-job-'));
    folders.push(dir);
    const train = join(dir, 'train.jsonl');
    const validation = join(dir, 'validation.jsonl');
    writeFileSync(train, CHAT_ROWS.map((row) => JSON.stringify(row)).join('\n') + '\n');
    writeFileSync(validation, `${JSON.stringify(CHAT_ROWS[0])}\n`);
    const base_model = options.base_model ?? 'tiny-base';
    const spec: TrainingSpec = {
      job_id,
      home: dir,
      output_dir: dir,
      config: {
        config_id: `cfg_${job_id}`,
        base_model,
        dataset_id: 'ds_contract',
        method: 'sft',
        approach: 'lora',
        backend: 'contract',
        template: 'smoke',
        hyperparameters: { ...BASE_HYPERPARAMETERS, ...TEMPLATES.smoke.values },
        backend_options: { ...options.backend_options, ...scenario.backend_options },
      },
      dataset: { dataset_id: 'ds_contract', task_type: 'chat', dir, train_path: train, validation_path: validation },
      model: { model_id: base_model, dir, name: base_model },
    };
    return { spec, files: { train, validation }, ctx: { job_id, output_dir: dir, state: {} } };
  }

  async function submit(remote: RemoteTrainingBackend, scenario: ContractScenario = {}) {
    const job = newJob(scenario);
    await scenario.before?.();
    const { remote_id } = await remote.submit({ job_id: job.spec.job_id, spec: job.spec, files: job.files }, job.ctx);
    expect(typeof remote_id, 'submit() answers { remote_id: string }').toBe('string');
    expect(remote_id.length).toBeGreaterThan(0);
    return { remote_id, ctx: job.ctx };
  }

  /** Polls until a terminal status, checking each answer; `swap` replaces the backend after the first poll (a restart). */
  async function pollToEnd(remote: RemoteTrainingBackend, remote_id: string, ctx: RemoteJobContext, swap?: () => Promise<RemoteTrainingBackend>) {
    const seen: RemotePoll[] = [];
    const deadline = Date.now() + timeout;
    for (;;) {
      const poll = await remote.poll(remote_id, ctx);
      checkPoll(poll);
      // What the host persists between polls must survive JSON, as it does across a restart.
      expect(JSON.parse(JSON.stringify(ctx.state)), 'ctx.state holds JSON only').toEqual(ctx.state);
      seen.push(poll);
      if (TERMINAL.has(poll.status)) return { last: poll, seen };
      if (Date.now() > deadline) throw new Error(`Job ${remote_id} did not end within ${timeout} ms; last status '${poll.status}'.`);
      if (swap && seen.length === 1) {
        remote = await swap();
        ctx = { ...ctx, state: JSON.parse(JSON.stringify(ctx.state)) as Record<string, unknown> };
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  describe('remote training backend contract (finetune-mcp/plugin/testing)', () => {
    it('declares plugin API 2 and a remote training backend, and takes its config through its own schema', async () => {
      const plugin = await definition();
      expect(plugin.meta.api_version).toBe(PLUGIN_API_VERSION);
      expect(plugin.provides).toContain('training_backend');
      expect(plugin.capabilities.training?.remote).toBe(true);
      const remote = await backend();
      expect(remote.kind).toBe('remote');
    });

    it('submit → poll reaches succeeded with a result model_ref, also when a fresh instance polls after a restart', async () => {
      const remote = await backend();
      const { remote_id, ctx } = await submit(remote);
      const { last, seen } = await pollToEnd(remote, remote_id, ctx, backend);
      expect(last.status).toBe('succeeded');
      expect(typeof last.result?.model_ref, 'a succeeded poll names the trained model').toBe('string');
      expect(last.result!.model_ref.length).toBeGreaterThan(0);
      const steps = seen.map((p) => p.step).filter((s): s is number => s !== undefined);
      expect(steps, 'steps never go back').toEqual([...steps].sort((a, b) => a - b));
    }, timeout * 2);

    it('cancel reaches the provider, is idempotent, and the job ends cancelled', async () => {
      const remote = await backend();
      const { remote_id, ctx } = await submit(remote);
      await remote.cancel(remote_id, ctx);
      await remote.cancel(remote_id, ctx);
      expect(await options.cancelReceived(remote_id), 'the provider received the cancel').toBe(true);
      const { last } = await pollToEnd(remote, remote_id, ctx);
      expect(last.status).toBe('cancelled');
      await expect(remote.cancel(remote_id, ctx), 'cancelling an ended job is not an error').resolves.toBeUndefined();
    }, timeout * 2);

    it('polling an id the provider does not know fails with a FinetuneError, not a crash', async () => {
      const remote = await backend();
      const error = await remote.poll('no-such-remote-job', newJob().ctx).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expectFinetuneError(error);
    });

    it.skipIf(!scenarios.fail)('a job the provider fails ends failed with an error code, or throws one', async () => {
      const { code, ...scenario } = scenarios.fail!;
      const remote = await backend();
      const { remote_id, ctx } = await submit(remote, scenario);
      const ended = await pollToEnd(remote, remote_id, ctx).catch((thrown: unknown) => thrown);
      if (isFinetuneError(ended)) return expectFinetuneError(ended, code);
      const { last } = ended as Awaited<ReturnType<typeof pollToEnd>>;
      expect(last.status).toBe('failed');
      expect(last.error_code).toBe(code);
      expect(last.message, 'a failed poll says why').toBeTruthy();
    }, timeout * 2);

    it.skipIf(!scenarios.refuse)('a refused submit throws a FinetuneError with its code and recovery', async () => {
      const { code, ...scenario } = scenarios.refuse!;
      const remote = await backend();
      const error = await submit(remote, scenario).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expectFinetuneError(error, code);
    });

    it.skipIf(!scenarios.unknown_status)('a status outside the five comes through as the provider word and polling goes on', async () => {
      const remote = await backend();
      const { remote_id, ctx } = await submit(remote, scenarios.unknown_status);
      const { last, seen } = await pollToEnd(remote, remote_id, ctx);
      expect(seen.some((p) => !(REMOTE_STATUSES as readonly string[]).includes(p.status)), 'at least one unknown status was seen').toBe(true);
      expect(TERMINAL.has(last.status)).toBe(true);
    }, timeout * 2);

    it('quote(), when present, is a typed price with its basis', async () => {
      const remote = await backend();
      if (!remote.quote) return;
      const quote = await remote.quote(newJob().spec, { tokens: 100_000, seconds: 600, device: 'gpu', calibrate: false });
      expect(Number.isFinite(quote.usd) && quote.usd >= 0, `usd ${quote.usd} is a price`).toBe(true);
      expect(typeof quote.basis).toBe('string');
      expect(quote.basis.length).toBeGreaterThan(0);
    });
  });
}

function checkPoll(poll: RemotePoll): void {
  expect(typeof poll.status, 'poll() answers { status: string, … }').toBe('string');
  if (poll.step !== undefined) expect(Number.isInteger(poll.step) && poll.step >= 0, `step ${poll.step}`).toBe(true);
  if (poll.step !== undefined && poll.total_steps !== undefined) expect(poll.step).toBeLessThanOrEqual(poll.total_steps);
  for (const [name, value] of Object.entries(poll.metrics ?? {})) expect(Number.isFinite(value), `metric ${name} = ${value}`).toBe(true);
  if (poll.error_code !== undefined) expect(Object.hasOwn(ERROR_CODES, poll.error_code), `error_code ${poll.error_code} is one of ERROR_CODES`).toBe(true);
}

/** A thrown FinetuneError (by brand: any copy of the package) that reads `[CODE] … Recovery: …`. */
function expectFinetuneError(error: unknown, code?: ErrorCode): void {
  expect(isFinetuneError(error), `expected a FinetuneError, got: ${String(error)}`).toBe(true);
  const text = toFinetuneError(error).toText();
  expect(text).toMatch(/^\[[A-Z_]+\] .+\nRecovery: .+/s);
  if (code) expect(text.startsWith(`[${code}]`), text).toBe(true);
}
