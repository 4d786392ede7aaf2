import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { FinetuneError } from '../../../src/errors.js';
import type { Logger } from '../../../src/observability/logger.js';
import type { JobHandle, JobSink, Quote, SpecIssue, WorkerTrainingBackend, TrainingSpec } from '../../../src/plugins/providers.js';
import type { WorkerLedger } from '../../../src/plugins/types.js';
import { signalWorker, workerAlive, type WorkerRef } from '../../../src/training/cancel-signal.js';
import { writeFileAtomic } from '../../../src/workspace/atomic-write.js';
import type { RunMeasurement } from './estimate.js';
import { validateSpec } from './validate.js';

const SPEC_FILE = 'worker-spec.json';
const LOG_FILE = 'worker.log';

interface LocalBackendOptions {
  logger: Logger;
  /** The host's worker ledger (PluginContext.workers): who runs each job. */
  workers: WorkerLedger;
  /** ONNX Runtime intra-op threads for each worker; undefined = the runtime's default (all cores). */
  threads?: number;
}

/** How to start the worker: sources under tsx (tests, dev), the build with plain node. */
function workerCommand(): { file: string; args: string[] } {
  const fromSources = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(fromSources ? './worker.ts' : './worker.js', import.meta.url));
  return { file, args: fromSources ? ['--import', import.meta.resolve('tsx'), file] : [file] };
}

/**
 * The local backend: each job runs in its own detached Node process (worker.ts) that outlives the
 * server which started it, writes into the workspace through the ledger sink and is cancelled by
 * SIGTERM or the ledger's cancel flag. remote_id is the worker's pid.
 */
export class LocalTrainingBackend implements WorkerTrainingBackend {
  constructor(private readonly options: LocalBackendOptions) {}

  async validate(spec: TrainingSpec): Promise<SpecIssue[]> {
    return validateSpec(spec);
  }

  /** A short measured run (three steps of this run's own train step): tokens/s, seconds per step, total. */
  async measure(spec: TrainingSpec): Promise<RunMeasurement> {
    const { measureRun } = await import('./estimate.js');
    return measureRun(spec, jobThreads(spec) ?? this.options.threads);
  }

  /** Training here sends no bill (the machine's power is not counted). */
  async quote(): Promise<Quote> {
    return { usd: 0, basis: 'runs on this machine: no bill (power is not counted)' };
  }

  async start(spec: TrainingSpec, sink: JobSink): Promise<JobHandle> {
    const errors = (await this.validate(spec)).filter((i) => i.severity === 'error');
    if (errors.length > 0) {
      throw new FinetuneError(errors[0].code === 'CAPABILITY_UNSUPPORTED' ? 'CAPABILITY_UNSUPPORTED' : 'CONFIG_INVALID', errors.map((e) => e.message).join(' '), {
        details: { field: errors[0].field },
      });
    }
    const specPath = join(spec.output_dir, SPEC_FILE);
    const threads = jobThreads(spec) ?? this.options.threads;
    writeFileAtomic(specPath, `${JSON.stringify({ ...spec, ...(threads ? { threads } : {}) }, null, 2)}\n`);
    const { args } = workerCommand();
    const log = openSync(join(spec.output_dir, LOG_FILE), 'a');
    let pid: number | undefined;
    try {
      const child = spawn(process.execPath, [...args, specPath], {
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, FINETUNE_MCP_HOME: spec.home },
      });
      pid = child.pid;
      child.on('error', (error) => this.options.logger.error({ err: error, job_id: spec.job_id }, 'training worker failed to start'));
      child.on('exit', (code, signal) => this.workerExited(spec.job_id, child.pid, code, signal));
      child.unref();
    } finally {
      closeSync(log);
    }
    if (!pid) throw new FinetuneError('INTERNAL', `Could not start the training worker for ${spec.job_id}.`);
    const remote_id = String(pid);
    sink.event('worker_started', `Training worker started (pid ${pid}); its log is ${join(spec.output_dir, LOG_FILE)}.`, { pid, log: join(spec.output_dir, LOG_FILE) });
    this.options.workers.record(spec.job_id, { worker_pid: pid, remote_id });
    this.options.logger.info({ job_id: spec.job_id, pid }, 'training worker started');
    return this.handle(this.recorded(spec.job_id, pid));
  }

  /** Re-adopts a live worker of this job; a dead one is reported as the state it left behind, or interrupted. */
  async attach(remoteId: string, spec: TrainingSpec, sink: JobSink): Promise<JobHandle> {
    const pid = Number(remoteId);
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new FinetuneError('INVALID_INPUT', `remote_id '${remoteId}' is not a worker pid.`, { details: { field: 'remote_id' } });
    }
    const worker = this.recorded(spec.job_id, pid);
    if (isWorkerOf(worker, spec)) return this.handle(worker);
    const statePath = join(spec.output_dir, 'worker-state.json');
    const ended = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as { pid?: number; state?: string; message?: string; error_code?: string }) : null;
    if (ended && ended.pid === pid && ended.state) {
      sink.status(ended.state, { ...(ended.message ? { message: ended.message } : {}), ...(ended.error_code ? { error_code: ended.error_code } : {}) });
    } else {
      sink.status('interrupted', { message: `Training worker ${pid} is gone without finishing; resume from the last checkpoint.` });
    }
    return { remote_id: remoteId, cancel: async () => undefined };
  }

  /** This server spawned the worker, so it sees how it ended (killed by SIGKILL, an exit code): the job manager says so. */
  private workerExited(job_id: string, pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): void {
    try {
      if (pid) this.options.workers.exited(job_id, pid, code, signal);
    } catch (error) {
      this.options.logger.warn({ err: error, job_id }, 'could not record the worker exit');
    }
  }

  /** The worker as the job records it: the pid with the start identity taken when it was recorded. */
  private recorded(job_id: string, pid: number): WorkerRef {
    const recorded = this.options.workers.recorded(job_id);
    return { worker_pid: pid, worker_start: recorded?.worker_pid === pid ? recorded.worker_start : null };
  }

  private handle(worker: WorkerRef): JobHandle {
    return {
      remote_id: String(worker.worker_pid),
      cancel: async () => {
        signalWorker(worker);
      },
    };
  }
}

/** `backend_options.threads` of the job's config, when it sets one. */
function jobThreads(spec: TrainingSpec): number | undefined {
  const threads = spec.config.backend_options?.threads;
  return typeof threads === 'number' && Number.isInteger(threads) && threads > 0 ? threads : undefined;
}

/** A live pid that runs this job's worker (not a recycled pid of another process: same start time, and its command names this job). */
function isWorkerOf(worker: WorkerRef, spec: TrainingSpec): boolean {
  if (!workerAlive(worker)) return false;
  try {
    const cmdline = readFileSync(`/proc/${worker.worker_pid}/cmdline`, 'utf8');
    return cmdline.includes(join(spec.output_dir, SPEC_FILE));
  } catch {
    return true; // no /proc (macOS): the start time alone decides
  }
}
