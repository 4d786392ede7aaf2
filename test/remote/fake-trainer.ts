import { EVENT_LINE_PREFIX } from '../../src/plugin-sdk/index.js';

/** Where a fake job's "trainer" is: how far it got, and how it ends. */
export interface FakeTrainerRun {
  steps: number;
  /** Steps done so far. */
  step: number;
  /** The job folder as the trainer sees it (--job-dir). */
  dir: string;
  fail?: { at: number; code: string; message: string };
  stopped: boolean;
}

/**
 * The container trainer's output so far, as a fake provider's log holds it: library lines among the
 * event lines (trainer/EVENTS.md) of one step each, a checkpoint every 4 steps, and the end.
 */
export function fakeTrainerLog(run: FakeTrainerRun): string {
  let seq = 0;
  const event = (fields: Record<string, unknown>, withSeq = true) => `${EVENT_LINE_PREFIX}${JSON.stringify({ v: 1, ...(withSeq ? { seq: ++seq } : {}), time: 1764928800 + seq, ...fields })}\n`;
  let log = event({ type: 'status', state: 'running', message: 'Training started.' });
  for (let s = 1; s <= run.step; s++) {
    log += `{'loss': ${lossAt(s)}, 'learning_rate': 0.0002, 'epoch': ${s / run.steps}}\n`;
    log += event({ type: 'progress', step: s, total_steps: run.steps }, false);
    log += event({ type: 'metric', name: 'loss', step: s, value: lossAt(s) });
    if (s % 4 === 0) log += event({ type: 'checkpoint', step: s, path: `${run.dir}/checkpoints/checkpoint-${s}` });
  }
  if (run.fail && run.step >= run.fail.at) log += event({ type: 'status', state: 'failed', message: run.fail.message, error_code: run.fail.code });
  else if (!run.stopped && run.step >= run.steps) {
    log += event({ type: 'artifact', kind: 'adapter', path: `${run.dir}/output/adapter` });
    log += event({ type: 'status', state: 'succeeded', message: `Adapter saved after ${run.step} steps.` });
  }
  return log;
}

/** The loss the fake trainer reports at a step. */
export function lossAt(step: number): number {
  return Math.round((2.5 / (1 + 0.1 * step)) * 1e4) / 1e4;
}
