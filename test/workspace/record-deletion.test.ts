/**
 * delete_model, delete_dataset and delete_job (issue 13 item 13): a record and its folder go
 * together, never one without the other; anything still named by a derived version, a training
 * job or a registered model version is refused with the referrer named; a crash mid-deletion is
 * finished (or undone) on the next start.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { JobLedger } from '../../src/training/ledger.js';
import { deleteRecord, finishInterruptedDeletions } from '../../src/workspace/record-deletion.js';
import { deleteDatasetTool } from '../../tools/delete-dataset.js';
import { deleteJobTool } from '../../tools/delete-job.js';
import { deleteModelTool } from '../../tools/delete-model.js';
import { listJobsTool } from '../../tools/list-jobs.js';
import { listModelsTool } from '../../tools/list-models.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { registerModelTool } from '../../tools/register-model.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { makeSucceededJob, writeDatasetVersion } from '../registry/records.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;

let t: TestClient;
afterEach(async () => t?.close());

async function importStories(client: TestClient): Promise<string> {
  const { model } = await client.services.models.import(join(ASSETS, 'stories260K.bin'), { tokenizer: join(ASSETS, 'tok512.bin') });
  return model.id;
}

async function refusedWith(name: string, args: Record<string, unknown>, code: string, text: RegExp): Promise<void> {
  const result = await t.call(name, args);
  expect(result.isError, resultText(result)).toBe(true);
  expect(errorCode(result)).toBe(code);
  expect(resultText(result)).toMatch(text);
}

const count = (sql: string, ...params: unknown[]) => t.services.workspace.db.prepare(sql).pluck().get(...params) as number;
const trash = (area: string) => readdirSync(join(t.home, area)).filter((n) => n.startsWith('.'));

describe('delete_model', () => {
  it('removes the record and its folder together, including a record list_models cannot show', async () => {
    t = await connectTestClient();
    const id = await importStories(t);
    // A record written before import checked headers: 2^80 parameters broke list_models for the whole workspace.
    const bad = 'mdl_legacy_bad';
    t.services.workspace.db
      .prepare(
        `INSERT INTO models (id, name, source, source_kind, revision, sha256, content_hash, architecture, model_type, parameters, context_length, dir, created_at)
         VALUES (?, 'bad', '/x', 'folder', NULL, 'x', 'x', 'llama', 'llama', ?, 512, ?, ?)`,
      )
      .run(bad, 2 ** 80, join(t.home, 'models', bad), new Date().toISOString());
    mkdirSync(join(t.home, 'models', bad));
    writeFileSync(join(t.home, 'models', bad, 'model.safetensors'), 'xx');
    // list_models shows the sound records and names the one it cannot show, instead of failing for the whole workspace.
    const listed = await t.callOk(listModelsTool);
    expect(listed.models.map((m) => m.model_id)).toEqual([id]);
    expect(listed.unreadable).toEqual([{ model_id: bad, problem: expect.stringMatching(/^parameters: Too big/) }]);

    expect(await t.callOk(deleteModelTool, { model_id: bad })).toEqual({ model_id: bad, name: 'bad', files_removed: 1, bytes_freed: 2 });
    expect(await t.callOk(listModelsTool)).toEqual({ models: [expect.objectContaining({ model_id: id })] });

    const deleted = await t.callOk(deleteModelTool, { model_id: id });
    expect(deleted).toMatchObject({ model_id: id, name: 'stories260K', files_removed: 5 });
    expect(deleted.bytes_freed).toBeGreaterThan(1_000_000);
    expect((await t.callOk(listModelsTool)).models).toEqual([]);
    expect(readdirSync(join(t.home, 'models'))).toEqual([]);
    await refusedWith('delete_model', { model_id: id }, 'NOT_FOUND', /No model/);
    // The same files import again as a new record.
    expect(await importStories(t)).not.toBe(id);
  });
});

describe('deletion refuses what is still referenced', () => {
  it('a model and dataset a job trained on, and a job a registered version was made from, each naming the referrer', async () => {
    t = await connectTestClient();
    const model = await importStories(t);
    writeDatasetVersion(t.services, 'ds_used', 'hash-used');
    const job = makeSucceededJob(t.services, { dataset_id: 'ds_used', base_model: model, kv_dim: 32 });
    await refusedWith('delete_model', { model_id: model }, 'STATE_CONFLICT', new RegExp(`training job ${job} \\(succeeded\\) used it[^]*delete_job`));
    await refusedWith('delete_dataset', { dataset_id: 'ds_used' }, 'STATE_CONFLICT', new RegExp(`training job ${job} \\(succeeded\\)`));

    const version = (await t.callOk(registerModelTool, { name: 'story-bot', version: '1.0.0', job_id: job })).model_version;
    await refusedWith('delete_job', { job_id: job }, 'STATE_CONFLICT', new RegExp(`model version story-bot 1\\.0\\.0 \\(${version.version_id}\\) names it`));
    // Nothing changed: rows and folders are all still there.
    expect(count('SELECT COUNT(*) FROM jobs WHERE job_id = ?', job)).toBe(1);
    expect(count('SELECT COUNT(*) FROM job_metrics WHERE job_id = ?', job)).toBeGreaterThan(0);
    for (const dir of [['models', model], ['datasets', 'ds_used'], ['jobs', job]]) expect(existsSync(join(t.home, ...dir)), dir.join('/')).toBe(true);
    expect([...trash('models'), ...trash('datasets'), ...trash('jobs')]).toEqual([]);
  });

  it('a queued job is refused until cancelled; an ended job goes with its history, then the dataset and model it used', async () => {
    t = await connectTestClient();
    const model = await importStories(t);
    writeDatasetVersion(t.services, 'ds_used', 'hash-used');
    const job = makeSucceededJob(t.services, { dataset_id: 'ds_used', base_model: model });
    const ledger = new JobLedger(t.services.workspace.db);
    const queued = ledger.create({ config_id: ledger.get(job).config_id, backend: 'local', policy: ledger.get(job).policy }).job_id;
    await refusedWith('delete_job', { job_id: queued }, 'STATE_CONFLICT', /is queued[^]*cancel_training/);
    ledger.transition(queued, 'cancelled');
    expect(await t.callOk(deleteJobTool, { job_id: queued })).toEqual({ job_id: queued, status: 'cancelled', files_removed: 0, bytes_freed: 0 });

    // An ended job whose worker still runs (it may be writing its last files) is refused until the worker is gone.
    const setWorker = (pid: number) => t.services.workspace.db.prepare('UPDATE jobs SET worker_pid = ? WHERE job_id = ?').run(pid, job);
    setWorker(process.ppid);
    await refusedWith('delete_job', { job_id: job }, 'STATE_CONFLICT', /still exiting[^]*again in a few seconds/);
    setWorker(999_999);
    const removed = await t.callOk(deleteJobTool, { job_id: job });
    expect(removed).toMatchObject({ job_id: job, status: 'succeeded', files_removed: 2 });
    expect(existsSync(join(t.home, 'jobs', job))).toBe(false);
    expect((await t.callOk(listJobsTool)).jobs).toEqual([]);
    for (const table of ['job_events', 'job_metrics', 'job_checkpoints', 'job_artifacts']) expect(count(`SELECT COUNT(*) FROM ${table} WHERE job_id = ?`, job), table).toBe(0);
    await refusedWith('delete_job', { job_id: job }, 'NOT_FOUND', /No training job/);

    expect(await t.callOk(deleteDatasetTool, { dataset_id: 'ds_used' })).toMatchObject({ dataset_id: 'ds_used', files_removed: 5 });
    expect((await t.callOk(deleteModelTool, { model_id: model })).model_id).toBe(model);
    await refusedWith('delete_dataset', { dataset_id: 'ds_used' }, 'NOT_FOUND', /No dataset version/);
  });

  it('a dataset version another derives from is refused until the derived one is deleted', async () => {
    t = await connectTestClient();
    const file = join(t.home, 'pairs.jsonl');
    writeFileSync(file, Array.from({ length: 20 }, (_, i) => JSON.stringify({ prompt: `Q${i}?`, completion: ` A${i}.` })).join('\n'));
    const parent = (await t.callOk(prepareDatasetTool, { path: file })).dataset_id;
    const child = (await t.callOk(splitDatasetTool, { dataset_id: parent })).dataset_id;
    await refusedWith('delete_dataset', { dataset_id: parent }, 'STATE_CONFLICT', new RegExp(`version ${child} derives from it`));
    await t.callOk(deleteDatasetTool, { dataset_id: child });
    await t.callOk(deleteDatasetTool, { dataset_id: parent });
    expect(readdirSync(join(t.home, 'datasets'))).toEqual([]);
  });
});

describe('a deletion is atomic', () => {
  it('puts the folder back when the rows cannot be deleted', async () => {
    t = await connectTestClient();
    const model = await importStories(t);
    expect(() =>
      deleteRecord(t.services.workspace, {
        area: 'models',
        id: model,
        check: () => undefined,
        deleteRows: () => {
          throw new Error('disk I/O error');
        },
      }),
    ).toThrow(/disk I\/O error/);
    expect(readdirSync(join(t.home, 'models'))).toEqual([model]);
    expect((await t.callOk(listModelsTool)).models.map((m) => m.model_id)).toEqual([model]);
  });

  it('the next start restores a folder whose row was not deleted and removes one whose row was', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-deletion-'));
    onTestFinished(() => rmSync(home, { recursive: true, force: true }));
    t = await connectTestClient({ home });
    const kept = await importStories(t);
    writeDatasetVersion(t.services, 'ds_gone', 'hash-gone');
    // Crashed deletions (pid 999999 is not running): one before its commit, one after.
    renameSync(join(t.home, 'models', kept), join(t.home, 'models', `.deleting-999999-${kept}`));
    renameSync(join(t.home, 'datasets', 'ds_gone'), join(t.home, 'datasets', '.deleting-999999-ds_gone'));
    t.services.workspace.db.prepare("DELETE FROM datasets WHERE id = 'ds_gone'").run();
    // A deletion in progress in a live process is left alone.
    mkdirSync(join(t.home, 'jobs', `.deleting-${process.ppid}-job_x`));
    await t.close();

    t = await connectTestClient({ home });
    expect(readdirSync(join(home, 'models'))).toEqual([kept]);
    expect(readdirSync(join(home, 'datasets'))).toEqual([]);
    expect(readdirSync(join(home, 'jobs'))).toEqual([`.deleting-${process.ppid}-job_x`]);
    expect((await t.callOk(listModelsTool)).models.map((m) => m.model_id)).toEqual([kept]);
    expect(finishInterruptedDeletions(t.services.workspace)).toBe(0);
  });
});
