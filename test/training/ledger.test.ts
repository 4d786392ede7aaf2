import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelRequested, requestCancel, recordWorker } from '../../src/training/cancel-signal.js';
import { LEGAL_TRANSITIONS, JOB_STATUSES, type JobLedger } from '../../src/training/ledger.js';
import { createLedgerSink } from '../../src/training/ledger-sink.js';
import type { Workspace } from '../../src/workspace/workspace.js';
import { insertTestConfig, tempLedger } from './helpers.js';

describe('JobLedger', () => {
  let env: ReturnType<typeof tempLedger>;
  let ledger: JobLedger;
  let workspace: Workspace;
  beforeEach(() => {
    env = tempLedger();
    ledger = env.ledger;
    workspace = env.workspace;
  });
  afterEach(() => env.cleanup());

  const newJob = () => ledger.create({ config_id: insertTestConfig(ledger), backend: 'fake', policy: { ...ledger.getConfig(insertTestConfig(ledger)).policy } });

  it('walks the legal path and refuses every illegal move with STATE_CONFLICT', () => {
    const job = newJob();
    expect(job.status).toBe('queued');
    ledger.transition(job.job_id, 'preparing');
    const running = ledger.transition(job.job_id, 'running');
    expect(running.started_at).not.toBeNull();
    const done = ledger.transition(job.job_id, 'succeeded');
    expect(done.finished_at).not.toBeNull();
    for (const to of JOB_STATUSES) expect(() => ledger.transition(job.job_id, to)).toThrow(/cannot go from 'succeeded'/);
    // every pair outside the table is refused, every pair inside is accepted
    for (const from of JOB_STATUSES) {
      for (const to of JOB_STATUSES) {
        const j = newJob();
        ledger.db.prepare('UPDATE jobs SET status = ? WHERE job_id = ?').run(from, j.job_id);
        const legal = LEGAL_TRANSITIONS[from].includes(to);
        if (legal) expect(ledger.transition(j.job_id, to).status).toBe(to);
        else expect(() => ledger.transition(j.job_id, to)).toThrow(expect.objectContaining({ code: 'STATE_CONFLICT' }));
      }
    }
  });

  it('appends events in order and pages them by cursor', () => {
    const job = newJob();
    for (let i = 0; i < 5; i++) ledger.appendEvent(job.job_id, 'log', `line ${i}`, { i });
    const first = ledger.eventsSince(job.job_id, 0, 3);
    expect(first.events.map((e) => e.type)).toEqual(['status', 'log', 'log']);
    const rest = ledger.eventsSince(job.job_id, first.next_cursor, 100);
    expect(rest.events.map((e) => e.data?.i)).toEqual([2, 3, 4]);
    const seqs = [...first.events, ...rest.events].map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(() => ledger.db.prepare('UPDATE job_events SET message = ? WHERE seq = ?').run('x', seqs[0])).toThrow(/IMMUTABLE_RECORD/);
  });

  it('keeps metric series, checkpoints, artifacts and progress', () => {
    const job = newJob();
    ledger.addMetric(job.job_id, 'loss', 1, 2.5);
    ledger.addMetric(job.job_id, 'loss', 2, 2.1);
    ledger.addMetric(job.job_id, 'epoch', 2, 0.5);
    ledger.addMetric(job.job_id, 'loss', 3, Number.NaN);
    expect(ledger.metricSeries(job.job_id, 'loss').map((p) => p.value)).toEqual([2.5, 2.1, Number.NaN]);
    expect(ledger.latestMetrics(job.job_id).epoch).toEqual({ step: 2, value: 0.5 });
    ledger.addCheckpoint(job.job_id, { step: 2, path: '/x/step-2', metrics: { loss: 2.1 } });
    ledger.addArtifact(job.job_id, { kind: 'adapter', path: '/x/adapter' });
    const after = ledger.get(job.job_id);
    expect([after.step, after.epoch]).toEqual([3, 0.5]);
    expect(ledger.allCheckpoints(job.job_id)).toMatchObject([{ step: 2, path: '/x/step-2', metrics: { loss: 2.1 } }]);
    expect(ledger.artifacts(job.job_id)).toMatchObject([{ kind: 'adapter', path: '/x/adapter' }]);
  });

  it('lists with filters and paging, newest first', () => {
    const jobs = [newJob(), newJob(), newJob()];
    ledger.transition(jobs[0].job_id, 'cancelled');
    expect(ledger.list({ status: 'queued' }).total).toBe(2);
    expect(ledger.list({ status: ['cancelled'] }).jobs.map((j) => j.job_id)).toEqual([jobs[0].job_id]);
    const page = ledger.list({ limit: 2, offset: 2 });
    expect(page.total).toBe(3);
    expect(page.jobs).toHaveLength(1);
    expect(ledger.list({ backend: 'other' }).total).toBe(0);
  });

  it('configs are immutable records', () => {
    const id = insertTestConfig(ledger);
    expect(() => ledger.db.prepare("UPDATE training_configs SET backend = 'x' WHERE config_id = ?").run(id)).toThrow(/IMMUTABLE_RECORD/);
  });

  it('a stop request with a code turns the reported cancel into a failure with that code', () => {
    const job = newJob();
    const sink = createLedgerSink(workspace, job.job_id);
    sink.status('running', { remote_id: 'r-1' });
    recordWorker(workspace, job.job_id, { worker_pid: 999_999 });
    expect(cancelRequested(workspace, job.job_id)).toBe(false);
    requestCancel(workspace, job.job_id, { code: 'BUDGET_EXCEEDED', reason: 'cost budget used up' });
    expect(cancelRequested(workspace, job.job_id)).toBe(true);
    sink.status('cancelled');
    const ended = ledger.get(job.job_id);
    expect([ended.status, ended.error_code, ended.error_message, ended.remote_id]).toEqual(['failed', 'BUDGET_EXCEEDED', 'cost budget used up', 'r-1']);
    // a late terminal report keeps the first end and leaves an event
    sink.status('succeeded');
    expect(ledger.get(job.job_id).status).toBe('failed');
    expect(ledger.eventsSince(job.job_id).events.at(-1)?.type).toBe('late_status');
    // resume starts a new attempt and clears the stop flag
    const again = ledger.requeue(job.job_id, '/ckpt/step-4', 'resume');
    expect([again.status, again.attempt, again.resume_from, again.cancel_requested_at, again.stop_code]).toEqual(['queued', 2, '/ckpt/step-4', null, null]);
  });

  it('a failure always ends with a code from the closed set', () => {
    const cases: Array<[string | undefined, string, RegExp]> = [
      ['OUT_OF_MEMORY', 'OUT_OF_MEMORY', /^oom$/],
      ['CUDA_LAUNCH_FAILURE', 'UPSTREAM_ERROR', /^\(backend code CUDA_LAUNCH_FAILURE\) oom$/],
      [undefined, 'INTERNAL', /^oom$/],
    ];
    for (const [given, code, message] of cases) {
      const job = newJob();
      const sink = createLedgerSink(workspace, job.job_id);
      sink.status('running');
      sink.status('failed', { message: 'oom', ...(given ? { error_code: given } : {}) });
      const ended = ledger.get(job.job_id);
      expect(ended.error_code).toBe(code);
      expect(ended.error_message).toMatch(message);
    }
  });

  it('the sink refuses an illegal status from a backend', () => {
    const job = newJob();
    const sink = createLedgerSink(workspace, job.job_id);
    sink.status('running');
    sink.status('succeeded');
    expect(() => sink.status('running')).toThrow(/cannot go from 'succeeded' to 'running'/);
  });
});
