import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FinetuneError } from '../../src/errors.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import type { RemoteJobContext, RemotePoll, RemoteTrainingBackend, TrainingSpec } from '../../src/plugins/providers.js';
import { createRemoteJobRunner } from '../../src/plugins/remote-jobs.js';
import { definePlugin, PLUGIN_API_VERSION } from '../../src/plugins/types.js';
import { cancelTrainingTool } from '../../tools/cancel-training.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { chatRows, makeSpec, RecordingSink } from '../remote/support.js';
import { connectFast, ended, startJob, useCleanup, waitFor } from '../training/jobs-helpers.js';

/**
 * A tiny provider in memory: each job plays a script, one entry per poll (the last repeats); an
 * entry that is an Error makes that poll throw. The backend keeps a cursor in ctx.state, as a
 * plugin following a provider's event list would.
 */
class ScriptedProvider {
  readonly jobs = new Map<string, { script: Array<RemotePoll | Error>; polls: number; cancels: number; submitted: { files: { train: string; validation?: string } } }>();
  script: Array<RemotePoll | Error> = [{ status: 'succeeded', result: { model_ref: 'scripted:model' } }];
  /** A provider that takes the cancel request but never stops the job. */
  ignoresCancel = false;
  private ids = 0;

  backend(): RemoteTrainingBackend {
    return {
      kind: 'remote',
      poll_interval_ms: { initial: 5, max: 20 },
      validate: async (spec) => (spec.config.hyperparameters.lora_r > 64 ? [{ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'lora_r', message: 'lora_r ≤ 64 here.' }] : []),
      submit: async (job, ctx) => {
        const remote_id = `rj-${++this.ids}`;
        this.jobs.set(remote_id, { script: [...this.script], polls: 0, cancels: 0, submitted: { files: job.files } });
        ctx.state.cursor = 0;
        return { remote_id };
      },
      poll: async (remote_id, ctx) => {
        const job = this.jobs.get(remote_id)!;
        job.polls++;
        const next = job.script.length > 1 ? job.script.shift()! : job.script[0];
        if (next instanceof Error) throw next;
        ctx.state.cursor = (ctx.state.cursor as number) + 1;
        return { ...next, events: [...(next.events ?? []), { type: 'remote_event', message: `poll at cursor ${String(ctx.state.cursor)}` }] };
      },
      cancel: async (remote_id: string, _ctx: RemoteJobContext) => {
        const job = this.jobs.get(remote_id)!;
        job.cancels++;
        if (!this.ignoresCancel) job.script = [{ status: 'cancelled' }];
      },
    };
  }
}

const running = (step: number, extra: Partial<RemotePoll> = {}): RemotePoll => ({ status: 'running', step, total_steps: 10, metrics: { loss: 2 / step }, ...extra });
const logger = createSilentLogger();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function newSpec(): TrainingSpec {
  return makeSpec({ backend: 'scripted', base_model: 'tiny', rows: chatRows(3), validation: chatRows(1) });
}

describe('the host remote job loop (RemoteTrainingBackend → JobSink)', () => {
  it('maps statuses, reports an unknown one once, dedupes points, and records the model before succeeded', async () => {
    const provider = new ScriptedProvider();
    provider.script = [
      { status: 'queued' },
      { status: 'warming_up' },
      { status: 'warming_up' },
      running(1, { metric_points: [{ name: 'lr', step: 1, value: 1e-4 }] }),
      running(1, { metric_points: [{ name: 'lr', step: 1, value: 1e-4 }] }),
      running(5, { checkpoints: [{ step: 5, model_ref: 'scripted:ckpt-5', metrics: { loss: 0.4 } }], events: [{ type: 'remote_warning', message: 'slow node', level: 'warning' }] }),
      running(10, { checkpoints: [{ step: 5, model_ref: 'scripted:ckpt-5' }] }),
      { status: 'succeeded', result: { model_ref: 'scripted:acct/model-ft', meta: { tokens: 1234 } } },
    ];
    const runner = createRemoteJobRunner(provider.backend(), { name: 'scripted', logger });
    const spec = newSpec();
    const sink = new RecordingSink();
    const handle = await runner.start(spec, sink);
    await handle.followed;
    const job = provider.jobs.get(handle.remote_id)!;
    expect(job.submitted.files).toEqual({ train: spec.dataset.train_path, validation: spec.dataset.validation_path });
    expect(sink.states).toEqual(['preparing', 'running', 'succeeded']);
    expect(sink.statuses.every((s) => s.detail?.remote_id === handle.remote_id)).toBe(true);
    expect(sink.events.filter((e) => e.type === 'remote_status_unknown')).toEqual([expect.objectContaining({ data: { remote_status: 'warming_up' } })]);
    expect(sink.events.filter((e) => e.type === 'progress')).toEqual([expect.objectContaining({ data: { step: 1, total_steps: 10 } })]);
    expect(sink.series('progress')).toEqual([[1, 0.1], [5, 0.5], [10, 1]]);
    expect(sink.series('loss')).toEqual([[1, 2], [5, 0.4], [10, 0.2]]);
    expect(sink.series('lr')).toEqual([[1, 1e-4]]);
    expect(sink.events.find((e) => e.type === 'remote_warning')?.data).toEqual({ level: 'warning' });
    expect(sink.checkpoints).toEqual([{ step: 5, path: 'scripted:ckpt-5', metrics: { loss: 0.4 } }]);
    expect(sink.artifacts).toEqual([{ kind: 'remote_model', uri: 'scripted:acct/model-ft', meta: { provider: 'scripted', remote_id: handle.remote_id, tokens: 1234 } }]);
    expect(sink.calls.slice(-2)).toEqual(['artifact', 'status']);
    const saved = JSON.parse(readFileSync(join(spec.output_dir, 'remote-job.json'), 'utf8'));
    expect(saved).toMatchObject({ remote_id: handle.remote_id, state: { cursor: 8 }, status: 'succeeded', unknown_statuses: ['warming_up'], checkpoint_steps: [5] });
  });

  it('ends a failed job with the provider’s code when it is ours, else UPSTREAM_ERROR with the provider’s word kept', async () => {
    const provider = new ScriptedProvider();
    const runner = createRemoteJobRunner(provider.backend(), { name: 'scripted', logger });
    provider.script = [{ status: 'failed', error_code: 'DATASET_INVALID', message: 'line 3 is not JSON' }];
    const known = new RecordingSink();
    await (await runner.start(newSpec(), known)).followed;
    expect(known.statuses.at(-1)).toMatchObject({ state: 'failed', detail: { error_code: 'DATASET_INVALID', message: expect.stringContaining('line 3 is not JSON') } });

    provider.script = [{ status: 'failed', error_code: 'GPU_MELTED', message: 'node lost' }];
    const unknown = new RecordingSink();
    await (await runner.start(newSpec(), unknown)).followed;
    expect(unknown.statuses.at(-1)).toMatchObject({ state: 'failed', detail: { error_code: 'UPSTREAM_ERROR', message: expect.stringMatching(/node lost.*GPU_MELTED/) } });
  });

  it('keeps polling through a retryable poll error, and interrupts the job (re-attachable) on any other', async () => {
    const provider = new ScriptedProvider();
    const runner = createRemoteJobRunner(provider.backend(), { name: 'scripted', logger });
    provider.script = [running(1), new FinetuneError('RATE_LIMITED', 'slow down', { retryable: true }), running(2), { status: 'succeeded', result: { model_ref: 'scripted:m' } }];
    const retried = new RecordingSink();
    await (await runner.start(newSpec(), retried)).followed;
    expect(retried.events.filter((e) => e.type === 'poll_retry')).toEqual([expect.objectContaining({ data: { code: 'RATE_LIMITED' } })]);
    expect(retried.states.at(-1)).toBe('succeeded');

    provider.script = [running(1), new FinetuneError('AUTH_INVALID', 'key revoked'), running(2)];
    const fatal = new RecordingSink();
    const handle = await runner.start(newSpec(), fatal);
    await handle.followed;
    expect(fatal.statuses.at(-1)).toMatchObject({ state: 'interrupted', detail: { error_code: 'AUTH_INVALID', remote_id: handle.remote_id } });
    expect(provider.jobs.get(handle.remote_id)!.polls).toBe(2);
  });

  it('refuses to submit a spec the backend’s own validate() refuses', async () => {
    const provider = new ScriptedProvider();
    const runner = createRemoteJobRunner(provider.backend(), { name: 'scripted', logger });
    const spec = makeSpec({ backend: 'scripted', base_model: 'tiny', rows: chatRows(3), hyperparameters: { lora_r: 128 } });
    await expect(runner.start(spec, new RecordingSink())).rejects.toMatchObject({ code: 'CAPABILITY_UNSUPPORTED', details: { field: 'lora_r' } });
    expect(provider.jobs.size).toBe(0);
  });

  it('cancel reaches the provider once, however often it is asked, and not after the end', async () => {
    const provider = new ScriptedProvider();
    const runner = createRemoteJobRunner(provider.backend(), { name: 'scripted', logger });
    provider.script = [running(1)];
    const sink = new RecordingSink();
    const handle = await runner.start(newSpec(), sink);
    await sink.waitFor('running');
    await Promise.all([handle.cancel(), handle.cancel()]).catch(() => undefined);
    await handle.cancel();
    await handle.followed;
    await handle.cancel();
    expect(provider.jobs.get(handle.remote_id)!.cancels).toBe(1);
    expect(sink.states.at(-1)).toBe('cancelled');
    expect(sink.events.filter((e) => e.type === 'remote_cancel_requested')).toHaveLength(1);
  });

  it('detach stops polling; attach in a new runner picks up the persisted id and ctx.state', async () => {
    const provider = new ScriptedProvider();
    provider.script = [{ status: 'mystery' }, running(1), running(2), running(3)];
    const spec = newSpec();
    const first = new RecordingSink();
    const handle = await createRemoteJobRunner(provider.backend(), { name: 'scripted', logger }).start(spec, first);
    await first.waitFor('running');
    handle.detach();
    await handle.followed;
    const job = provider.jobs.get(handle.remote_id)!;
    const pollsAtDetach = job.polls;
    await sleep(60);
    expect(job.polls).toBe(pollsAtDetach);

    job.script = [{ status: 'mystery' }, running(4), { status: 'succeeded', result: { model_ref: 'scripted:m' } }];
    const second = new RecordingSink();
    const again = await createRemoteJobRunner(provider.backend(), { name: 'scripted', logger }).attach(handle.remote_id, spec, second);
    await again.followed;
    // The cursor went on from where the first server left it; the unknown status was already reported.
    expect(second.events.filter((e) => e.type === 'remote_event').map((e) => e.message)[0]).toBe(`poll at cursor ${pollsAtDetach + 1}`);
    expect(second.events.some((e) => e.type === 'remote_status_unknown')).toBe(false);
    expect(second.states).toEqual(['succeeded']);
    expect(second.series('loss')).toEqual([[4, 0.5]]);
  });
});

describe('remote backends run through the job manager', () => {
  const { clients, homes } = useCleanup();

  const pluginFor = (provider: ScriptedProvider) =>
    definePlugin({
      meta: { name: 'scripted', version: '1.0.0', api_version: PLUGIN_API_VERSION, description: 'Scripted remote backend.' },
      provides: ['training_backend'],
      capabilities: { training: { methods: ['sft', 'dpo'], approaches: ['lora', 'full'], resume: false, cancel: true, devices: ['scripted-hosted'], remote: true, inference: false, max_concurrent_jobs: 2 } },
      create: () => ({ training_backend: provider.backend() }),
    });

  it('trains to succeeded, survives a restart by remote id, and stops polling when the server closes', async () => {
    const provider = new ScriptedProvider();
    provider.script = [{ status: 'queued' }, ...Array.from({ length: 30 }, (_, i) => running(Math.min(10, i + 1))), { status: 'succeeded', result: { model_ref: 'scripted:acct/ft' } }];
    const home = mkdtempSync(join(tmpdir(), 'ftm-remote-jobs-'));
    homes.push(home);
    const first = await connectFast([pluginFor(provider)], home);
    const job = await startJob(first, { backend: 'scripted' });
    await waitFor(first, job.job_id, (s, step) => s === 'running' && step >= 2);
    const remote = provider.jobs.get(first.services.jobs.jobLedger.get(job.job_id).remote_id!)!;
    await first.close();
    const pollsAtClose = remote.polls;
    await sleep(80);
    expect(remote.polls, 'no follower polls after the server closed').toBe(pollsAtClose);

    const second = await connectFast([pluginFor(provider)], home);
    clients.push(second);
    const end = await waitFor(second, job.job_id, ended);
    expect(end.status).toBe('succeeded');
    expect(end.artifacts).toEqual([expect.objectContaining({ kind: 'remote_model', uri: 'scripted:acct/ft' })]);
    expect(end.events.filter((e) => e.type === 'reattached')).toHaveLength(1);
    expect(end.total_steps).toBe(10);
    const cursors = end.events.filter((e) => e.type === 'remote_event').map((e) => Number(/cursor (\d+)/.exec(e.message)![1]));
    expect(cursors).toEqual(cursors.map((_, i) => i + 1));
  });

  it('cancel_training reaches the provider’s cancel and ends the job cancelled', async () => {
    const provider = new ScriptedProvider();
    provider.script = [running(1)];
    const t = await connectFast([pluginFor(provider)]);
    clients.push(t);
    const job = await startJob(t, { backend: 'scripted' });
    await waitFor(t, job.job_id, (s) => s === 'running');
    await t.callOk(cancelTrainingTool, { job_id: job.job_id });
    const end = await waitFor(t, job.job_id, ended);
    expect(end.status).toBe('cancelled');
    const remote = provider.jobs.get(t.services.jobs.jobLedger.get(job.job_id).remote_id!)!;
    expect(remote.cancels).toBe(1);
    const again = await t.callOk(cancelTrainingTool, { job_id: job.job_id });
    expect(again.already_ended).toBe(true);
    expect(remote.cancels).toBe(1);
    expect((await t.callOk(monitorTrainingTool, { job_id: job.job_id })).status).toBe('cancelled');
  });

  it('a remote job whose state file is gone is still followed after a restart, from the ledger’s remote id', async () => {
    const provider = new ScriptedProvider();
    provider.script = [running(1), ...Array.from({ length: 20 }, () => running(2)), { status: 'succeeded', result: { model_ref: 'scripted:x' } }];
    const home = mkdtempSync(join(tmpdir(), 'ftm-remote-jobs-'));
    homes.push(home);
    const first = await connectFast([pluginFor(provider)], home);
    const job = await startJob(first, { backend: 'scripted' });
    await waitFor(first, job.job_id, (s) => s === 'running');
    await first.close();
    const record = join(home, 'jobs', job.job_id, 'remote-job.json');
    expect(existsSync(record)).toBe(true);
    rmSync(record);
    const second = await connectFast([pluginFor(provider)], home);
    clients.push(second);
    expect((await waitFor(second, job.job_id, ended)).status).toBe('succeeded');
  });

  it('a job the provider does not stop within the grace period ends cancelled here, and its follower stops polling', async () => {
    const provider = new ScriptedProvider();
    provider.script = [running(1)];
    provider.ignoresCancel = true;
    const t = await connectFast([pluginFor(provider)], undefined, { cancel_grace_ms: 300 });
    clients.push(t);
    const job = await startJob(t, { backend: 'scripted' });
    await waitFor(t, job.job_id, (s) => s === 'running');
    await t.callOk(cancelTrainingTool, { job_id: job.job_id });
    const end = await waitFor(t, job.job_id, ended);
    expect([end.status, end.error_message]).toEqual(['cancelled', expect.stringMatching(/grace period/)]);
    const remote = provider.jobs.get(t.services.jobs.jobLedger.get(job.job_id).remote_id!)!;
    const polls = remote.polls;
    await sleep(100);
    expect(remote.polls).toBe(polls);
  });
});
