import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { JobHandle, JobSink, Quote, SpecIssue, TrainingBackend, TrainingSpec } from '../../src/plugins/providers.js';
import { definePlugin, PLUGIN_API_VERSION, type PluginDefinition, type TrainingCapabilities, type WorkerLedger } from '../../src/plugins/types.js';
import { cancelRequested } from '../../src/training/cancel-signal.js';
import { Workspace } from '../../src/workspace/workspace.js';
import { runFakeTraining } from './fake-training.js';

/**
 * The test backend: a TrainingBackend without a model, in three shapes so the control plane can be
 * proven against each kind of real backend.
 * - `inprocess`: the loop runs inside the server (as a thin remote client would);
 * - `worker`: a real detached child process opens the workspace by `home` and reports through
 *   createLedgerSink (as the local trainer does), so it can be SIGKILLed;
 * - `remote`: a simulated provider keeps running the job whoever listens; attach() re-connects a
 *   new sink by remote id and replays what was missed (as OpenAI/Together jobs do).
 */
export interface TestBackendOptions {
  name?: string;
  mode?: 'inprocess' | 'worker' | 'remote';
  capabilities?: Partial<TrainingCapabilities>;
}

const WORKER_SCRIPT = fileURLToPath(new URL('./test-worker.ts', import.meta.url));

export function testBackendPlugin(options: TestBackendOptions = {}): PluginDefinition<unknown> {
  const mode = options.mode ?? 'inprocess';
  const training: TrainingCapabilities = {
    methods: ['sft', 'dpo'],
    approaches: ['lora', 'full'],
    tasks: { sft: ['chat', 'completion', 'text'], dpo: ['preference'] },
    resume: true,
    cancel: true,
    devices: ['cpu'],
    remote: mode === 'remote',
    inference: false,
    max_concurrent_jobs: 1,
    ...options.capabilities,
  };
  return definePlugin({
    meta: { name: options.name ?? 'fake', version: '1.0.0', api_version: PLUGIN_API_VERSION, description: `Test backend (${mode}).` },
    provides: ['training_backend'],
    capabilities: { training },
    create: (ctx) => ({ training_backend: createTestBackend(mode, ctx.workers) }),
  });
}

export function createTestBackend(mode: 'inprocess' | 'worker' | 'remote', workers: WorkerLedger): TrainingBackend {
  return {
    async validate(spec: TrainingSpec): Promise<SpecIssue[]> {
      const issues: SpecIssue[] = [];
      if (spec.config.hyperparameters.lora_r > 256) issues.push({ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'lora_r', message: 'The test backend supports lora_r ≤ 256.' });
      return issues;
    },
    async measure() {
      return { tokens_per_s: 1000 }; // a pretend measured run
    },
    async quote(spec, basis) {
      // backend_options.quote stands in for a provider's price API (asked when calibrating); the list price is per token.
      const provider = spec.config.backend_options.quote as Quote | undefined;
      if (basis.calibrate && provider) return provider;
      const usd_per_million = typeof spec.config.backend_options.usd_per_million_tokens === 'number' ? spec.config.backend_options.usd_per_million_tokens : 0;
      return { usd: (basis.tokens / 1e6) * usd_per_million, basis: `tokens / 1e6 × $${usd_per_million} per 1M training tokens (test list price)` };
    },
    async start(spec, sink) {
      if (mode === 'worker') return startWorker(spec, workers);
      if (mode === 'remote') return FakeProvider.submit(spec, sink);
      let stop = false;
      // Plugins get no workspace: like a thin client it opens the one at spec.home to see the cancel flag set by another process.
      const workspace = Workspace.open({ root: spec.home, sweep: false });
      void runFakeTraining(spec, sink, () => stop || cancelRequested(workspace, spec.job_id))
        .catch(() => undefined)
        .finally(() => workspace.close());
      return {
        remote_id: `inproc-${spec.job_id}`,
        async cancel() {
          stop = true;
        },
      };
    },
    async attach(remoteId, _spec, sink) {
      if (mode !== 'remote') throw new Error('only the remote test backend attaches');
      return FakeProvider.attach(remoteId, sink);
    },
  };
}

function startWorker(spec: TrainingSpec, workers: WorkerLedger): JobHandle {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, spec.home, spec.job_id, JSON.stringify(spec)], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  // As the local backend does: the spawning server records how its worker ended.
  child.on('exit', (code, signal) => workers.exited(spec.job_id, child.pid!, code, signal));
  // Recorded before start() returns, so a server restarting at once already knows who runs the job.
  workers.record(spec.job_id, { worker_pid: child.pid!, remote_id: `pid-${child.pid}` });
  return {
    remote_id: `pid-${child.pid}`,
    async cancel() {
      try {
        process.kill(child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

/** A pretend remote provider: jobs run here whether or not a server listens. */
export const FakeProvider = {
  jobs: new Map<string, { target?: JobSink; missed: Array<(sink: JobSink) => void>; stop: boolean; done: boolean }>(),

  submit(spec: TrainingSpec, sink: JobSink): JobHandle {
    const remote_id = `remote-${spec.job_id}`;
    const job = { target: sink as JobSink | undefined, missed: [] as Array<(s: JobSink) => void>, stop: false, done: false };
    FakeProvider.jobs.set(remote_id, job);
    // Every report goes to the attached sink; when it fails (its server is gone), it waits in `missed`.
    const deliver = (call: (s: JobSink) => void) => {
      if (job.target) {
        try {
          call(job.target);
          return;
        } catch {
          job.target = undefined;
        }
      }
      job.missed.push(call);
    };
    const forwarding: JobSink = {
      event: (...a) => deliver((s) => s.event(...a)),
      metric: (...a) => deliver((s) => s.metric(...a)),
      checkpoint: (...a) => deliver((s) => s.checkpoint(...a)),
      artifact: (...a) => deliver((s) => s.artifact(...a)),
      status: (...a) => deliver((s) => s.status(...a)),
    };
    sink.status('running', { remote_id });
    void runFakeTraining(spec, forwarding, () => job.stop).finally(() => {
      job.done = true;
    });
    return FakeProvider.handle(remote_id);
  },

  attach(remote_id: string, sink: JobSink): JobHandle {
    const job = FakeProvider.jobs.get(remote_id);
    if (!job) throw new Error(`no remote job ${remote_id}`);
    for (const call of job.missed.splice(0)) call(sink);
    job.target = sink;
    return FakeProvider.handle(remote_id);
  },

  /** Simulates the server going away: reports queue up until someone attaches. */
  detachAll(): void {
    for (const job of FakeProvider.jobs.values()) job.target = undefined;
  },

  handle(remote_id: string): JobHandle {
    return {
      remote_id,
      async cancel() {
        const job = FakeProvider.jobs.get(remote_id);
        if (job) job.stop = true;
      },
    };
  },
};
