/**
 * The detached training worker: `node worker.js <spec.json>` (or `node --import tsx worker.ts` from
 * sources). It opens the workspace named by the spec's `home`, reports everything through the
 * ledger sink (so any server process on that workspace sees and controls the job), stops at the
 * next step boundary when cancel is requested (SIGTERM or the ledger flag) and exits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/observability/logger.js';
import type { TrainingSpec } from '../../../src/plugins/providers.js';
import { recordWorker, watchCancel } from '../../../src/training/cancel-signal.js';
import { createLedgerSink } from '../../../src/training/ledger-sink.js';
import { flushAlerts } from '../../../src/training/webhook.js';
import { writeFileAtomic } from '../../../src/workspace/atomic-write.js';
import { Workspace } from '../../../src/workspace/workspace.js';
import { runJob } from './job.js';
import { reportWorkerFailure } from './worker-failure.js';

/** Written at the end so attach() can tell a finished worker from a crashed one. */
const WORKER_STATE_FILE = 'worker-state.json';

async function main(specPath: string): Promise<number> {
  const logger = createLogger({ level: process.env.FINETUNE_MCP_LOG_LEVEL ?? 'info' }).child({ worker: process.pid });
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as TrainingSpec & { threads?: number };
  const workspace = Workspace.open({ root: spec.home });
  const ledgerSink = createLedgerSink(workspace, spec.job_id);
  let lastStep = 0;
  const sink: typeof ledgerSink = {
    ...ledgerSink,
    metric(name, step, value) {
      if (name === 'loss') lastStep = step;
      ledgerSink.metric(name, step, value);
    },
  };
  const finish = (state: string, detail: Record<string, unknown>) =>
    writeFileAtomic(join(spec.output_dir, WORKER_STATE_FILE), `${JSON.stringify({ pid: process.pid, state, ...detail, ended_at: new Date().toISOString() })}\n`);
  recordWorker(workspace, spec.job_id, { worker_pid: process.pid, remote_id: String(process.pid) });
  let stopRequested = false;
  const onCancel = () => {
    if (stopRequested) return;
    stopRequested = true;
    logger.info({ step: lastStep }, 'cancel requested; stopping after the current step');
    sink.event('cancel_received', `Cancel received after step ${lastStep}; stopping when the current step ends.`, { step: lastStep });
  };
  const unwatch = watchCancel(workspace, spec.job_id, onCancel, { poll_ms: 200 });
  // Every later SIGTERM (a server repeating the cancel) must also end the job cleanly, never kill it
  // mid-checkpoint: keep a handler for the whole life of the process.
  process.on('SIGTERM', onCancel);
  try {
    logger.info({ job_id: spec.job_id }, 'training worker started');
    const result = await runJob(spec, sink, { shouldStop: () => stopRequested, ...(spec.threads ? { threads: spec.threads } : {}) });
    const { outcome } = result;
    if (outcome.reason === 'cancelled') {
      finish('cancelled', { step: outcome.global_step, checkpoint: outcome.last_checkpoint });
      sink.status('cancelled', { message: `Cancelled at step ${outcome.global_step}; last checkpoint ${outcome.last_checkpoint}.` });
    } else {
      finish('succeeded', { step: outcome.global_step });
      const why = outcome.reason === 'early_stopped' ? ` (early stopping; best step ${outcome.best_step})` : '';
      sink.status('succeeded', { message: `Trained ${outcome.global_step} steps${why}.` });
    }
    return 0;
  } catch (error) {
    reportWorkerFailure(error, sink, finish, logger);
    return 1;
  } finally {
    unwatch();
    // Webhook alerts of the end (budget_exceeded, guardrail_stop, job_ended) go out before the process
    // does, within a bounded wait; what is still pending stays in the outbox for a server to send.
    const { pending } = await flushAlerts(workspace.db, spec.job_id).catch(() => ({ pending: -1 }));
    if (pending !== 0) logger.warn({ pending }, 'webhook alerts left for a server to deliver');
    workspace.close();
  }
}

const specPath = process.argv[2];
if (!specPath) {
  process.stderr.write('usage: worker <spec.json>\n');
  process.exit(2);
}
main(specPath).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`worker crashed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
