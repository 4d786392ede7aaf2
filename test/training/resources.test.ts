import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectFast, ended, startJob, waitFor } from './jobs-helpers.js';

describe('job resources', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('lists and reads jobs, and sends resources/updated to subscribers of a job and of the list', async () => {
    t = await connectFast([testBackendPlugin()]);
    const updated: string[] = [];
    t.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    const job = await startJob(t, { overrides: { max_steps: 6 }, backend_options: { step_ms: 30 } });
    const uri = `finetune://jobs/${job.job_id}`;
    await t.client.subscribeResource({ uri });
    await t.client.subscribeResource({ uri: 'finetune://jobs' });
    await waitFor(t, job.job_id, ended);
    await t.services.jobs.tick();
    expect(updated.filter((u) => u === uri).length).toBeGreaterThan(0);
    expect(updated).toContain('finetune://jobs');

    const listed = await t.client.listResources();
    expect(listed.resources.map((r) => r.uri)).toContain(uri);
    const read = await t.client.readResource({ uri });
    const doc = JSON.parse((read.contents[0] as { text: string }).text) as { status: string; step: number; checkpoints: unknown[]; metrics: Record<string, unknown> };
    expect([doc.status, doc.step]).toEqual(['succeeded', 6]);
    expect(doc.metrics).toHaveProperty('loss');
    const all = JSON.parse(((await t.client.readResource({ uri: 'finetune://jobs' })).contents[0] as { text: string }).text) as { total: number; jobs: Array<{ job_id: string }> };
    expect(all.jobs.map((j) => j.job_id)).toEqual([job.job_id]);

    await t.client.unsubscribeResource({ uri });
    await t.client.unsubscribeResource({ uri: 'finetune://jobs' });
    const before = updated.length;
    const second = await startJob(t, { overrides: { max_steps: 3 } });
    await waitFor(t, second.job_id, ended);
    await t.services.jobs.tick();
    expect(updated.length).toBe(before);
  });
});
