import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReviewQueueStore } from '../../src/generation/queue-store.js';
import { commitReviewTool } from '../../tools/commit-review.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { exportDatasetTool } from '../../tools/export-dataset.js';
import { inspectDatasetTool } from '../../tools/inspect-dataset.js';
import { modelCardTool } from '../../tools/model-card.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { registerModelTool } from '../../tools/register-model.js';
import { reviewExamplesTool } from '../../tools/review-examples.js';
import { reviewQueueTool } from '../../tools/review-queue.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { writeAdapter } from '../registry/records.js';
import { createTestQueue, ids, marker, testRow } from './queues.js';

const plugins = [testBackendPlugin({ name: 'fake' })];

/** Every file under a folder, as text. */
function folderText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

function decisions(t: TestClient, queueId: string): Array<{ row_id: string; decision: string; reviewer: string; via: string; before: string | null; after: string | null; dataset_id: string | null }> {
  return t.services.workspace.db.prepare('SELECT * FROM review_decisions WHERE queue_id = ? ORDER BY id').all(queueId) as never;
}

describe('review of generated rows (issue 16)', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('approve 25, reject 15, edit one: commit_review makes a version of exactly the 25 approved rows; no rejected text in any version or export', async () => {
    t = await connectTestClient({ plugins });
    const queue = createTestQueue(t.services.workspace, { count: 40 });
    expect(queue.counts).toEqual({ pending: 40, approved: 0, rejected: 0 });
    expect(readdirSync(t.home).includes('datasets') ? readdirSync(join(t.home, 'datasets')) : []).toEqual([]);

    const page = await t.callOk(reviewQueueTool, { queue_id: queue.id, status: 'pending', limit: 10 });
    expect(page.rows).toHaveLength(10);
    expect(page.total).toBe(40);
    expect(page.next_offset).toBe(10);
    expect(page.rows[4].flags[0].code).toBe('unsupported');
    expect(page.rows[0].provenance).toMatchObject({ source: { file: '/docs/handbook.md', span: [0, 90] } });

    const edited = { messages: [{ role: 'user', content: `What does the handbook say about case ${marker(3)}?` }, { role: 'assistant', content: 'EDITED: within five working days, longer for digital goods.' }] };
    const first = await t.callOk(reviewExamplesTool, { queue_id: queue.id, approve: ids(queue.id, 1, 25), reject: ids(queue.id, 26, 40), edits: [{ id: `${queue.id}:3`, row: edited }], reviewer: 'alice' });
    expect(first).toMatchObject({ approved: 25, rejected: 15, edited: 1, unchanged: [], counts: { pending: 0, approved: 25, rejected: 15 } });
    // A second look changes nothing and records nothing.
    const again = await t.callOk(reviewExamplesTool, { queue_id: queue.id, approve: [`${queue.id}:1`], reviewer: 'bob' });
    expect(again).toMatchObject({ approved: 0, unchanged: [`${queue.id}:1`] });

    const commit = await t.callOk(commitReviewTool, { queue_id: queue.id, name: 'handbook-qa' });
    expect(commit).toMatchObject({ committed: 25, parent_rows: 0, edited: 1, rejected_left_out: 15, pending_left_out: 0, reviewers: ['alice'], counts: { rows: 25 } });
    const version = t.services.datasets.get(commit.dataset_id);
    const lines = readFileSync(join(version.dir, 'rows.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual(Array.from({ length: 25 }, (_, i) => (i === 2 ? edited : testRow('chat', i + 1))));
    expect(version.manifest.lineage.at(-1)).toMatchObject({ operation: 'generate', params: { queue_id: queue.id, approved: 25, parent_dataset_id: null } });
    expect(version.manifest.governance).toEqual([expect.objectContaining({ kind: 'generated_review', queue_id: queue.id, approved: 25, rejected: 15, reviewers: ['alice'] })]);
    const provenance = readFileSync(join(version.dir, 'provenance.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(provenance).toHaveLength(25);
    expect(provenance[2]).toMatchObject({ line: 3, review_row_id: `${queue.id}:3`, reviewer: 'alice', edited: true, provenance: { source: { chunk: 2 } } });

    // The committed version trains (its edited row's generated text is not in it).
    expect((await t.callOk(configureTrainingTool, { base_model: 'tiny-model', backend: 'fake', method: 'sft', dataset_id: commit.dataset_id })).dataset_id).toBe(commit.dataset_id);

    // No rejected text, nor the text an edit replaced, in the version folder or in an export of it.
    const exportPath = join(t.home, 'exports', 'committed.jsonl');
    await t.callOk(exportDatasetTool, { dataset_id: commit.dataset_id, path: exportPath, format: 'openai_chat' });
    const everything = folderText(join(t.home, 'datasets')) + readFileSync(exportPath, 'utf8');
    for (let n = 26; n <= 40; n++) expect(everything).not.toContain(marker(n));
    expect(everything).not.toContain(`Case ${marker(3)} is handled`);
    expect(everything).toContain(marker(25));

    // The governance log: who decided what, with the edit's before and after, and the commit per row.
    const log = decisions(t, queue.id);
    const count = (d: string) => log.filter((x) => x.decision === d).length;
    expect([count('approve'), count('reject'), count('edit'), count('commit')]).toEqual([25, 15, 1, 25]);
    const edit = log.find((x) => x.decision === 'edit')!;
    expect(JSON.parse(edit.before!)).toEqual(testRow('chat', 3));
    expect(JSON.parse(edit.after!)).toEqual(edited);
    expect(log.filter((x) => x.decision === 'commit').every((x) => x.dataset_id === commit.dataset_id)).toBe(true);
    expect(new ReviewQueueStore(t.services.workspace).get(queue.id).status).toBe('committed');

    // Committed rows keep their decision and text.
    const late = await t.call('review_examples', { queue_id: queue.id, reject: [`${queue.id}:2`], reviewer: 'bob' });
    expect(errorCode(late)).toBe('IMMUTABLE_RECORD');
    // Nothing new approved: nothing to commit.
    const empty = await t.call('commit_review', { queue_id: queue.id });
    expect(errorCode(empty)).toBe('INVALID_INPUT');
    expect(resultText(empty)).toMatch(/no approved row that is not in a version yet \(25 committed before/);
  });

  it('configure_training refuses a queue id and trains the committed version; a version holding unapproved generated rows is refused until they are approved', async () => {
    t = await connectTestClient({ plugins });
    const queue = createTestQueue(t.services.workspace, { count: 12 });
    const base = { base_model: 'tiny-model', backend: 'fake', method: 'sft' };
    const onQueue = await t.call('configure_training', { ...base, dataset_id: queue.id });
    expect(errorCode(onQueue)).toBe('INVALID_INPUT');
    expect(resultText(onQueue)).toContain('is a review queue, not a dataset; call commit_review');
    expect((onQueue._meta as { details: { field: string } }).details.field).toBe('dataset_id');

    await t.callOk(reviewExamplesTool, { queue_id: queue.id, approve: ids(queue.id, 1, 8), reject: ids(queue.id, 9, 10), reviewer: 'alice' });
    const commit = await t.callOk(commitReviewTool, { queue_id: queue.id });
    const config = await t.callOk(configureTrainingTool, { ...base, dataset_id: commit.dataset_id });
    expect(config.dataset_id).toBe(commit.dataset_id);

    // The generated rows written to a file and prepared as a dataset: 2 rejected and 2 pending rows are in it.
    const file = join(t.home, 'exports', 'leaked.jsonl');
    mkdirSync(join(t.home, 'exports'), { recursive: true });
    writeFileSync(file, Array.from({ length: 12 }, (_, i) => JSON.stringify(testRow('chat', i + 1))).join('\n') + '\n');
    const leaked = (await t.callOk(prepareDatasetTool, { path: file })).dataset_id;
    const refused = await t.call('configure_training', { ...base, dataset_id: leaked });
    expect(errorCode(refused)).toBe('INVALID_INPUT');
    expect(resultText(refused)).toContain(`holds 4 generated row(s) that were not approved in review (queue ${queue.id})`);
    expect(resultText(refused)).toMatch(/review_examples[\s\S]*commit_review/);
    // Decided now: the same version passes (the version's hashes are cached; the statuses are read again).
    await t.callOk(reviewExamplesTool, { queue_id: queue.id, approve: ids(queue.id, 9, 12), reviewer: 'alice' });
    expect((await t.callOk(configureTrainingTool, { ...base, dataset_id: leaked })).dataset_id).toBe(leaked);
  });

  it('unknown ids, an id both approved and rejected, and an invalid edit are refused with nothing written', async () => {
    t = await connectTestClient({ plugins });
    const queue = createTestQueue(t.services.workspace, { count: 5 });
    const unknown = await t.call('review_examples', { queue_id: queue.id, approve: [`${queue.id}:1`, `${queue.id}:99`, 'rq_other:1'], reviewer: 'alice' });
    expect(errorCode(unknown)).toBe('INVALID_INPUT');
    expect(resultText(unknown)).toContain(`2 id(s) are not rows of ${queue.id}: ${queue.id}:99, rq_other:1. Nothing was recorded.`);
    const both = await t.call('review_examples', { queue_id: queue.id, approve: [`${queue.id}:1`], reject: [`${queue.id}:1`], reviewer: 'alice' });
    expect(resultText(both)).toContain('both approved and rejected');
    const badEdit = await t.call('review_examples', { queue_id: queue.id, approve: [`${queue.id}:2`], edits: [{ id: `${queue.id}:2`, row: { messages: [{ role: 'user', content: 'Only a question' }] } }], reviewer: 'alice' });
    expect(errorCode(badEdit)).toBe('INVALID_INPUT');
    expect(resultText(badEdit)).toMatch(new RegExp(`The edit of ${queue.id}:2 is not a valid chat row: messages: Example has no assistant message`));
    expect((badEdit._meta as { details: { field: string; row_id: string } }).details).toMatchObject({ field: 'edits[0].row.messages', row_id: `${queue.id}:2` });
    const noReviewer = await t.call('review_examples', { queue_id: queue.id, approve: [`${queue.id}:1`], reviewer: '  ' });
    expect(noReviewer.isError).toBe(true);
    expect(decisions(t, queue.id)).toEqual([]);
    expect(new ReviewQueueStore(t.services.workspace).get(queue.id).counts).toEqual({ pending: 5, approved: 0, rejected: 0 });
  });

  it('a failure in the middle of a batch leaves the queue as it was (one transaction)', async () => {
    t = await connectTestClient({ plugins });
    const queue = createTestQueue(t.services.workspace, { count: 10 });
    const db = t.services.workspace.db;
    // The 6th decision of the batch fails as a crash would: after five rows were updated and logged.
    db.exec(`CREATE TEMP TRIGGER fail_sixth BEFORE INSERT ON review_decisions WHEN NEW.row_id = '${queue.id}:6' BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;`);
    const store = new ReviewQueueStore(t.services.workspace);
    await expect(store.decide(queue.id, { approve: ids(queue.id, 1, 10), reviewer: 'alice', via: 'tool' })).rejects.toThrow(/simulated crash/);
    db.exec('DROP TRIGGER fail_sixth');
    expect(store.get(queue.id).counts).toEqual({ pending: 10, approved: 0, rejected: 0 });
    expect(decisions(t, queue.id)).toEqual([]);
    // A crash of the commit's record transaction leaves no version record, no folder and no commit decision.
    await store.decide(queue.id, { approve: ids(queue.id, 1, 4), reviewer: 'alice', via: 'tool' });
    db.exec(`CREATE TEMP TRIGGER fail_commit BEFORE INSERT ON review_decisions WHEN NEW.decision = 'commit' AND NEW.row_id = '${queue.id}:3' BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;`);
    expect(errorCode(await t.call('commit_review', { queue_id: queue.id }))).toBe('INTERNAL');
    db.exec('DROP TRIGGER fail_commit');
    expect((db.prepare('SELECT COUNT(*) AS n FROM datasets').get() as { n: number }).n).toBe(0);
    expect(readdirSync(join(t.home, 'datasets')).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect(decisions(t, queue.id).filter((d) => d.decision === 'commit')).toEqual([]);
    expect(store.get(queue.id).status).toBe('open');
    expect((await t.callOk(commitReviewTool, { queue_id: queue.id })).committed).toBe(4);
  });

  it('a second commit appends newly approved rows to the first version; a queue with nothing approved refuses', async () => {
    t = await connectTestClient({ plugins });
    const queue = createTestQueue(t.services.workspace, { count: 6, task: 'triplet' });
    const nothing = await t.call('commit_review', { queue_id: queue.id });
    expect(errorCode(nothing)).toBe('INVALID_INPUT');
    expect(resultText(nothing)).toContain('has no approved row (6 pending, 0 rejected): nothing to commit');
    await t.callOk(reviewExamplesTool, { queue_id: queue.id, approve: ids(queue.id, 1, 2), reviewer: 'alice' });
    const v1 = await t.callOk(commitReviewTool, { queue_id: queue.id });
    await t.callOk(reviewExamplesTool, { queue_id: queue.id, approve: ids(queue.id, 3, 4), reject: [`${queue.id}:5`], reviewer: 'bob' });
    const v2 = await t.callOk(commitReviewTool, { queue_id: queue.id, parent_dataset_id: v1.dataset_id });
    expect(v2).toMatchObject({ parent_id: v1.dataset_id, committed: 2, parent_rows: 2, previously_committed: 2, counts: { rows: 4 }, reviewers: ['bob'] });
    const record = t.services.datasets.get(v2.dataset_id);
    expect(readFileSync(join(record.dir, 'rows.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([1, 2, 3, 4].map((n) => testRow('triplet', n)));
    expect(readFileSync(join(record.dir, 'provenance.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).line)).toEqual([1, 2, 3, 4]);
    // Both reviews travel with the data, and the lineage names both commits.
    expect(record.manifest.governance?.map((g) => g.kind === 'generated_review' && g.reviewers)).toEqual([['alice'], ['bob']]);
    expect(record.manifest.lineage.map((s) => s.operation)).toEqual(['generate', 'generate']);
    // A parent of another task type is refused.
    const chat = createTestQueue(t.services.workspace, { count: 2 });
    await t.callOk(reviewExamplesTool, { queue_id: chat.id, approve: [`${chat.id}:1`], reviewer: 'alice' });
    const mismatch = await t.call('commit_review', { queue_id: chat.id, parent_dataset_id: v1.dataset_id });
    expect(resultText(mismatch)).toContain(`parent_dataset_id ${v1.dataset_id} holds triplet rows; the queue's rows are chat`);
  });

  it('the review record follows the data: a split of the committed version, the model registered on it and its card carry it', async () => {
    t = await connectTestClient({ plugins });
    const queue = createTestQueue(t.services.workspace, { count: 10 });
    await t.callOk(reviewExamplesTool, { queue_id: queue.id, approve: ids(queue.id, 1, 8), reject: ids(queue.id, 9, 10), reviewer: 'alice' });
    const commit = await t.callOk(commitReviewTool, { queue_id: queue.id });
    const split = await t.callOk(splitDatasetTool, { dataset_id: commit.dataset_id, train: 0.75, validation: 0.25, test: 0 });
    const view = await t.callOk(inspectDatasetTool, { dataset_id: split.dataset_id, limit: 0 });
    expect(view.manifest.governance).toEqual([expect.objectContaining({ kind: 'generated_review', dataset_id: commit.dataset_id, queue_id: queue.id, approved: 8, rejected: 2 })]);
    expect(view.manifest.lineage.map((s) => s.operation)).toEqual(['generate', 'split']);
    const adapter = writeAdapter(join(t.home, 'exports', 'adapter'));
    const { model_version: v } = await t.callOk(registerModelTool, { name: 'handbook-bot', version: '1.0.0', adapter_path: adapter, dataset_id: split.dataset_id });
    expect(v.lineage.data_governance).toEqual([expect.objectContaining({ kind: 'generated_review', queue_id: queue.id })]);
    const card = await t.callOk(modelCardTool, { name: 'handbook-bot', version: '1.0.0' });
    expect(card.markdown).toContain(`- Generated rows reviewed by people: \`${commit.dataset_id}\` holds 8 approved row(s) of review queue \`${queue.id}\``);
    expect(card.markdown).toContain('2 rejected row(s) were left out. Reviewers: alice.');
  });

  it('review_queue without queue_id lists the queues with their counts', async () => {
    t = await connectTestClient({ plugins });
    const a = createTestQueue(t.services.workspace, { count: 3, name: 'a' });
    const b = createTestQueue(t.services.workspace, { count: 2, task: 'triplet' });
    await t.callOk(reviewExamplesTool, { queue_id: a.id, reject: [`${a.id}:1`], reviewer: 'alice' });
    const listed = await t.callOk(reviewQueueTool, {});
    expect(listed.queues.map((q) => [q.queue_id, q.kind, q.counts])).toEqual([
      [b.id, 'triplets', { pending: 2, approved: 0, rejected: 0 }],
      [a.id, 'qa', { pending: 2, approved: 0, rejected: 1 }],
    ]);
    expect(errorCode(await t.call('review_queue', { queue_id: 'rq_0000000000nothing00' }))).toBe('NOT_FOUND');
  });
});
