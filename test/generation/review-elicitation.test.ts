import { ElicitRequestSchema, type ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ReviewQueueStore } from '../../src/generation/queue-store.js';
import { reviewExamplesTool } from '../../tools/review-examples.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { createTestQueue, marker } from './queues.js';

describe('review_examples interactive (MCP elicitation)', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('asks the user about up to 5 pending rows in one form and records the answers via elicitation', async () => {
    t = await connectTestClient({ clientCapabilities: { capabilities: { elicitation: {} } } });
    const queue = createTestQueue(t.services.workspace, { count: 7 });
    const asked: ElicitRequest['params'][] = [];
    let action: 'accept' | 'decline' = 'accept';
    t.client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params);
      // The user approves rows 1 and 3, rejects 2, leaves 4 for later and does not touch 5.
      return action === 'accept' ? { action, content: { row_1: 'approve', row_2: 'reject', row_3: 'approve', row_4: 'skip' } } : { action };
    });
    const out = await t.callOk(reviewExamplesTool, { queue_id: queue.id, reviewer: 'erin', interactive: true });
    expect(out).toMatchObject({ via: 'elicitation', user_action: 'accept', approved: 2, rejected: 1, counts: { pending: 4, approved: 2, rejected: 1 } });
    expect(out.asked).toEqual([1, 2, 3, 4, 5].map((n) => `${queue.id}:${n}`));
    expect(out.skipped).toEqual([`${queue.id}:4`, `${queue.id}:5`]);
    const form = asked[0] as { message: string; requestedSchema: { properties: Record<string, { title: string; description: string; oneOf: Array<{ const: string }> }> } };
    expect(Object.keys(form.requestedSchema.properties)).toEqual(['row_1', 'row_2', 'row_3', 'row_4', 'row_5']);
    expect(form.requestedSchema.properties.row_1.description).toContain(`question: What does the handbook say about case ${marker(1)}?`);
    expect(form.requestedSchema.properties.row_5.title).toBe(`${queue.id}:5 (flagged: unsupported)`);
    expect(form.requestedSchema.properties.row_5.oneOf.map((o) => o.const)).toEqual(['approve', 'reject', 'skip']);
    const log = t.services.workspace.db.prepare('SELECT row_id, decision, reviewer, via FROM review_decisions ORDER BY id').all();
    expect(log).toEqual([
      { row_id: `${queue.id}:1`, decision: 'approve', reviewer: 'erin', via: 'elicitation' },
      { row_id: `${queue.id}:3`, decision: 'approve', reviewer: 'erin', via: 'elicitation' },
      { row_id: `${queue.id}:2`, decision: 'reject', reviewer: 'erin', via: 'elicitation' },
    ]);
    // The next form shows the rows still pending; a declined form records nothing.
    action = 'decline';
    const declined = await t.callOk(reviewExamplesTool, { queue_id: queue.id, reviewer: 'erin', interactive: true });
    expect(declined).toMatchObject({ user_action: 'decline', approved: 0, asked: [4, 5, 6, 7].map((n) => `${queue.id}:${n}`) });
    expect(new ReviewQueueStore(t.services.workspace).get(queue.id).counts).toEqual({ pending: 4, approved: 2, rejected: 1 });
  });

  it('a client without elicitation is told to pass ids instead', async () => {
    t = await connectTestClient();
    const queue = createTestQueue(t.services.workspace, { count: 2 });
    const result = await t.call('review_examples', { queue_id: queue.id, reviewer: 'erin', interactive: true });
    expect(errorCode(result)).toBe('CAPABILITY_UNSUPPORTED');
  });
});
