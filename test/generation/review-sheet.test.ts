import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { ReviewQueueStore } from '../../src/generation/queue-store.js';
import { commitReviewTool } from '../../tools/commit-review.js';
import { exportReviewTool } from '../../tools/export-review.js';
import { importReviewTool } from '../../tools/import-review.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { createTestQueue, marker } from './queues.js';

/** A CSV file's records (the library import_review does not use to write, so the test reads independently of the writer). */
const records = (path: string) => parse(readFileSync(path, 'utf8'), { relax_column_count: true }) as string[][];
const csvLine = (cells: string[]) => cells.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');

describe('export_review / import_review', () => {
  let t: TestClient;
  afterEach(async () => t?.close());
  const dir = () => {
    const d = join(t.home, 'review');
    mkdirSync(d, { recursive: true });
    return d;
  };

  it('a spreadsheet round trip: decisions and an in-place edit come back through one transaction; the committed version holds only approved rows', async () => {
    t = await connectTestClient();
    const store = new ReviewQueueStore(t.services.workspace);
    const queue = createTestQueue(t.services.workspace, { count: 6 });
    // A row whose answer starts like a spreadsheet formula, and one the text columns cannot hold (a tool call).
    await store.decide(queue.id, {
      edits: [
        { id: `${queue.id}:1`, row: { messages: [{ role: 'user', content: `Steps for ${marker(1)}?` }, { role: 'assistant', content: '- open the form\n- send it' }] } },
        { id: `${queue.id}:6`, row: { messages: [{ role: 'user', content: `Look up ${marker(6)}` }, { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] }, { role: 'tool', content: 'found', tool_call_id: 'c1' }, { role: 'assistant', content: 'Found it.' }] } },
      ],
      reviewer: 'setup',
      via: 'tool',
    });
    const path = join(dir(), 'batch.csv');
    const exported = await t.callOk(exportReviewTool, { queue_id: queue.id, path, format: 'csv' });
    expect(exported.rows).toBe(6);
    expect(exported.columns).toEqual(['id', 'decision', 'status', 'flags', 'system', 'question', 'answer', 'earlier_turns', 'row_json', 'source', 'location', 'heading_path', 'generator', 'prompt_template', 'generated_at']);
    const [header, ...rows] = records(path);
    const col = (name: string) => header.indexOf(name);
    expect(rows[0][col('answer')].startsWith("'- open the form")).toBe(true);
    expect(rows[4][col('flags')]).toBe('unsupported: answer shares 12% of its words with its chunk (min 30%)');
    expect(rows[1][col('location')]).toBe('chunk 1, characters 100–190');
    expect(rows[1][col('heading_path')]).toBe('Refunds › Case 2');
    expect(rows[5][col('question')]).toBe('');
    expect(JSON.parse(rows[5][col('row_json')])).toHaveProperty('messages');

    // A reviewer fills the decision column and rewrites the answer of row 2 in place.
    rows[0][col('decision')] = 'approve';
    rows[1][col('decision')] = 'Approve';
    rows[1][col('answer')] = `Reviewed answer for ${marker(2)}.`;
    rows[2][col('decision')] = 'reject';
    rows[5][col('decision')] = 'approved';
    writeFileSync(path, [csvLine(header), ...rows.map(csvLine)].join('\r\n') + '\r\n');
    const imported = await t.callOk(importReviewTool, { queue_id: queue.id, path, reviewer: 'carol' });
    expect(imported).toMatchObject({ lines: 6, approved: 3, rejected: 1, edited: 1, counts: { pending: 2, approved: 3, rejected: 1 } });
    const row2 = store.rows(queue.id).find((r) => r.id === `${queue.id}:2`)!;
    expect(row2.row).toEqual({ messages: [{ role: 'user', content: `What does the handbook say about case ${marker(2)}?` }, { role: 'assistant', content: `Reviewed answer for ${marker(2)}.` }] });
    // The quote before "- open the form" was taken off again: no edit of row 1.
    expect(store.rows(queue.id)[0].row).toMatchObject({ messages: [{}, { content: '- open the form\n- send it' }] });
    const via = t.services.workspace.db.prepare("SELECT DISTINCT via, reviewer FROM review_decisions WHERE reviewer = 'carol'").all();
    expect(via).toEqual([{ via: 'import', reviewer: 'carol' }]);

    const commit = await t.callOk(commitReviewTool, { queue_id: queue.id });
    const text = readFileSync(join(t.services.datasets.get(commit.dataset_id).dir, 'rows.jsonl'), 'utf8');
    expect(text).toContain(marker(6));
    expect(text).not.toContain(marker(3));
    expect(text).not.toContain(`Case ${marker(2)} is handled`);
  });

  it('every bad line of a filled file is reported as file:line:column, and nothing is recorded', async () => {
    t = await connectTestClient();
    const queue = createTestQueue(t.services.workspace, { count: 4 });
    const path = join(dir(), 'bad.csv');
    await t.callOk(exportReviewTool, { queue_id: queue.id, path, format: 'csv', status: 'all' });
    const [header, ...rows] = records(path);
    rows[0][1] = 'approve';
    rows[1][1] = 'maybe';
    rows[2][1] = 'approve';
    rows[2][header.indexOf('answer')] = '';
    rows[3][0] = `${queue.id}:77`;
    rows[3][1] = 'reject';
    // A multi-line cell before the bad rows: the reported line is where each record starts in the file.
    rows[0][header.indexOf('system')] = 'Line one\nline two';
    writeFileSync(path, [csvLine(header), ...rows.map(csvLine)].join('\n') + '\n');
    const result = await t.call('import_review', { queue_id: queue.id, path, reviewer: 'carol' });
    expect(errorCode(result)).toBe('INVALID_INPUT');
    const text = resultText(result);
    expect(text).toContain('3 problem(s) in the review file; nothing was recorded');
    expect(text).toContain(`${path}:4:2: decision 'maybe' is not approve, reject or blank`);
    expect(text).toMatch(new RegExp(`${path}:5:${header.indexOf('answer') + 1}: the edited answer is not a valid chat row: messages\\[1\\]\\.content: `));
    expect(text).toContain(`${path}:6:1: '${queue.id}:77' is not a row of ${queue.id}`);
    expect(t.services.workspace.db.prepare('SELECT COUNT(*) AS n FROM review_decisions').get()).toEqual({ n: 0 });

    expect(errorCode(await t.call('import_review', { queue_id: queue.id, path: join(dir(), 'missing.csv'), reviewer: 'carol' }))).toBe('FILE_ERROR');
    expect(errorCode(await t.call('import_review', { queue_id: queue.id, path: join(dir(), 'notes.txt'), reviewer: 'carol' }))).toBe('INVALID_INPUT');
    const broken = join(dir(), 'broken.csv');
    writeFileSync(broken, `${csvLine(header)}\n${queue.id}:1,"approve"x,\n`);
    expect(resultText(await t.call('import_review', { queue_id: queue.id, path: broken, reviewer: 'carol' }))).toContain(`${broken}:2:`);
    const blank = join(dir(), 'blank.csv');
    await t.callOk(exportReviewTool, { queue_id: queue.id, path: blank, format: 'csv' });
    expect(resultText(await t.call('import_review', { queue_id: queue.id, path: blank, reviewer: 'carol' }))).toContain('holds no decision and no edit (4 row(s) read)');
  });

  it('JSONL: decisions and a changed row come back; a bad line is located; an existing file is not overwritten', async () => {
    t = await connectTestClient();
    const queue = createTestQueue(t.services.workspace, { count: 3, task: 'triplet' });
    const path = join(dir(), 'batch.jsonl');
    await t.callOk(exportReviewTool, { queue_id: queue.id, path, format: 'jsonl' });
    expect(errorCode(await t.call('export_review', { queue_id: queue.id, path, format: 'jsonl' }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('export_review', { queue_id: queue.id, path: '/etc/review.jsonl', format: 'jsonl' }))).toBe('PATH_NOT_ALLOWED');
    const entries = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(entries[0]).toMatchObject({ id: `${queue.id}:1`, decision: null, status: 'pending', row: { anchor: expect.stringContaining(marker(1)) }, provenance: { source: { chunk: 0 } } });
    entries[0].decision = 'approve';
    entries[1].decision = 'reject';
    entries[2].row = { ...entries[2].row, negative: 'A passage about something else entirely.' };
    const bad = [JSON.stringify(entries[0]), '{"id": 3, "decision": "approve"}', '{"id": "x" "decision"}'];
    writeFileSync(path, `${bad.join('\n')}\n`);
    const refused = resultText(await t.call('import_review', { queue_id: queue.id, path, reviewer: 'dan' }));
    expect(refused).toContain(`${path}:2:1: a line is an object with a string "id"`);
    expect(refused).toMatch(new RegExp(`${path}:3:\\d+: not valid JSON`));
    writeFileSync(path, `${entries.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const imported = await t.callOk(importReviewTool, { queue_id: queue.id, path, reviewer: 'dan' });
    expect(imported).toMatchObject({ approved: 1, rejected: 1, edited: 1, counts: { pending: 1, approved: 1, rejected: 1 } });
    expect(existsSync(path)).toBe(true);
  });
});
