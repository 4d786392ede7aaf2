/**
 * The detached worker of the test backend: a real process that opens the workspace by `home`,
 * records its pid, reports through the SQLite ledger sink and stops on the cancel flag or SIGTERM.
 * Run as: node --import tsx test-worker.ts <home> <job_id> <spec json>
 */
import type { TrainingSpec } from '../../src/plugins/providers.js';
import { cancelRequested, recordWorker, watchCancel } from '../../src/training/cancel-signal.js';
import { createLedgerSink } from '../../src/training/ledger-sink.js';
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
const sink = createLedgerSink(workspace, job_id);
try {
  await runFakeTraining(spec, sink, () => stop || cancelRequested(workspace, job_id));
} catch (error) {
  sink.status('failed', { error_code: 'INTERNAL', message: (error as Error).message });
} finally {
  unwatch();
  workspace.close();
}
