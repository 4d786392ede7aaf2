import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { ReviewQueueStore } from '../../src/generation/queue-store.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { createTestQueue, marker } from './queues.js';

/** Runs the CLI's main in this process (the same dispatch `finetune-mcp` runs) and returns its exit code and printed text. */
async function cli(home: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  try {
    const code = await main(['--home', home, '--log-level', 'silent', ...args]);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

describe('finetune-mcp review', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('lists, shows, approves, rejects and commits from a terminal, recording decisions via cli', async () => {
    t = await connectTestClient();
    const queue = createTestQueue(t.services.workspace, { count: 8, name: 'handbook' });
    const list = await cli(t.home, 'review', 'list');
    expect(list.code).toBe(0);
    expect(list.out).toContain(`${queue.id} "handbook" qa (chat), open: 8 rows, 8 pending, 0 approved, 0 rejected; by openai-compatible:fake-generator`);

    const show = await cli(t.home, 'review', 'show', queue.id, '--limit', '5');
    expect(show.out).toContain(`${queue.id}:1 [pending]\n  question: What does the handbook say about case ${marker(1)}?\n  answer: Case ${marker(1)} is handled within five working days.\n  source: /docs/handbook.md, chunk 0, characters 0–90 (Refunds › Case 1); openai-compatible:fake-generator`);
    expect(show.out).toContain(`${queue.id}:5 [pending] ⚑ unsupported: answer shares 12%`);
    expect(show.out).not.toContain(`${queue.id}:6 [`);

    const approve = await cli(t.home, 'review', 'approve', queue.id, '1-4', '6', `${queue.id}:7`, '--reviewer', 'frank');
    expect(approve).toMatchObject({ code: 0, out: `Approved 6 row(s) of ${queue.id}; now 2 pending, 6 approved, 0 rejected. Next: finetune-mcp review commit ${queue.id}\n` });
    const reject = await cli(t.home, 'review', 'reject', queue.id, '5', '--reviewer', 'frank');
    expect(reject.out).toContain(`Rejected 1 row(s) of ${queue.id}; now 1 pending, 6 approved, 1 rejected.`);

    const noReviewer = await cli(t.home, 'review', 'approve', queue.id, '8');
    expect(noReviewer.code).toBe(2);
    expect(noReviewer.out).toContain('needs --reviewer NAME');
    const unknown = await cli(t.home, 'review', 'approve', queue.id, '99', '--reviewer', 'frank');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain(`[INVALID_INPUT] 1 id(s) are not rows of ${queue.id}: ${queue.id}:99. Nothing was recorded.`);

    const commit = await cli(t.home, 'review', 'commit', queue.id, '--name', 'handbook-qa');
    expect(commit.code).toBe(0);
    const datasetId = /into (ds_[0-9a-z]+)/.exec(commit.out)![1];
    expect(commit.out).toContain(`Committed 6 approved row(s) of ${queue.id} into ${datasetId} (6 rows; 1 rejected and 1 pending left out).`);
    const version = t.services.datasets.get(datasetId);
    expect(version.manifest.name).toBe('handbook-qa');
    expect(readFileSync(join(version.dir, 'rows.jsonl'), 'utf8')).not.toContain(marker(5));
    const via = t.services.workspace.db.prepare('SELECT DISTINCT via FROM review_decisions').all();
    expect(via).toEqual([{ via: 'cli' }]);
    expect(new ReviewQueueStore(t.services.workspace).get(queue.id).status).toBe('committed');
    expect((await cli(t.home, 'review', 'frobnicate')).code).toBe(2);
  });
});
