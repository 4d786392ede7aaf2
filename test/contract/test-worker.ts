/**
 * The detached worker of the test backend: a real process that opens the workspace by `home`,
 * records its pid, reports through the SQLite ledger sink and stops on the cancel flag or SIGTERM.
 * Run as: node --import tsx test-worker.ts <home> <job_id> <spec json>
 */
import type { TrainingSpec } from '../../src/plugins/providers.js';
import { cancelRequested, recordWorker, watchCancel } from '../../src/training/cancel-signal.js';
import { createLedgerSink } from '../../src/training/ledger-sink.js';
import { flushAlerts } from '../../src/training/webhook.js';
import { Workspace } from '../../src/workspace/workspace.js';
import { runFakeTraining } from './fake-training.js';

const [home, job_id, specJson] = process.argv.slice(2);
const spec = JSON.parse(specJson) as TrainingSpec;
const workspace = Workspace.open({ root: home });
recordWorker(workspace, job_id, { worker_pid: process.pid });
let stop = false;
const unwatch = watchCancel(workspace, job_id, () => {
  stop = true;
}, { poll_ms: 50 });
// As the local worker does: a later SIGTERM (the server repeating a stop) ends the job cleanly, never kills it.
process.on('SIGTERM', () => {
  stop = true;
});
const sink = createLedgerSink(workspace, job_id);
try {
  await runFakeTraining(spec, sink, () => stop || cancelRequested(workspace, job_id));
} catch (error) {
  sink.status('failed', { error_code: 'INTERNAL', message: (error as Error).message });
} finally {
  unwatch();
  await flushAlerts(workspace.db, job_id, Number(process.env.FTM_TEST_ALERT_WAIT_MS ?? 10_000)); // as the local worker does
  workspace.close();
}
