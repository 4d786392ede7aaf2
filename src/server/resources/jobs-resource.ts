import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Services } from '../../services.js';
import { summarizeJob } from '../../training/views.js';
import { defineResource } from '../resource.js';

const LISTED = 100;

/** One job: status, progress, latest metrics, best eval, checkpoints, artifacts, policy. */
export const jobResource = defineResource({
  name: 'job',
  title: 'Training job',
  description: 'One training job as JSON: status, step/total, ETA, latest metrics, best eval, checkpoints, artifacts, budgets. Subscribe for resources/updated on every change.',
  uri: 'finetune://jobs/{job_id}',
  list: (services) =>
    services.jobs.list({ limit: LISTED }).jobs.map((job) => ({ uri: `finetune://jobs/${job.job_id}`, name: `${job.job_id} (${job.status}, ${job.backend})` })),
  read: (services, { job_id }) => services.jobs.document(job_id),
});

/** The newest jobs of the workspace. */
export const jobsListResource = defineResource({
  name: 'jobs',
  title: 'Training jobs',
  description: `The ${LISTED} newest training jobs as JSON summaries. Subscribe for resources/updated when any job changes.`,
  uri: 'finetune://jobs',
  read: (services) => {
    const { jobs, total } = services.jobs.list({ limit: LISTED });
    return { total, jobs: jobs.map(summarizeJob) };
  },
});

/**
 * resources/subscribe for job resources: a subscribed client gets notifications/resources/updated
 * for `finetune://jobs/{job_id}` when that job changes and for `finetune://jobs` when any does.
 * Changes come from the JobManager's watch loop, so jobs run by other processes count too.
 */
export function attachJobSubscriptions(server: McpServer, services: Services): void {
  const subscribed = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
  const stop = services.jobs.onChange((job) => {
    for (const uri of [`finetune://jobs/${job.job_id}`, 'finetune://jobs']) {
      if (subscribed.has(uri)) void server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
  });
  const previous = server.server.onclose;
  server.server.onclose = () => {
    stop();
    previous?.();
  };
}
