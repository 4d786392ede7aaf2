import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { JOB_STATUSES } from '../src/training/ledger.js';
import { JobSummarySchema, summarizeJob } from '../src/training/views.js';

export const listJobsTool = defineTool({
  name: 'list_jobs',
  title: 'List training jobs',
  description:
    'Lists training jobs of this workspace, newest first, with status, progress, backend, worker pid / remote id and failure code. ' +
    'Filter by status or backend; page with limit and offset. Next: monitor_training {job_id} for one job.',
  input: {
    status: z.enum(JOB_STATUSES).optional().describe('Only jobs in this state, e.g. "running".'),
    backend: z.string().optional().describe('Only jobs of this backend, e.g. "local".'),
    limit: z.number().int().min(1).max(200).default(20).describe('Page size, 1–200. Default 20.'),
    offset: z.number().int().min(0).default(0).describe('Jobs to skip, for paging. Default 0.'),
  },
  output: {
    jobs: z.array(JobSummarySchema).describe('One page of jobs, newest first.'),
    total: z.number().describe('Jobs matching the filter.'),
    next_offset: z.number().nullable().describe('Offset of the next page, or null at the end.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler({ status, backend, limit, offset }, { services }) {
    const { jobs, total } = services.jobs.list({ status, backend, limit, offset });
    return { jobs: jobs.map(summarizeJob), total, next_offset: offset + jobs.length < total ? offset + jobs.length : null };
  },
  summarize: (o) => (o.jobs.length ? o.jobs.map((j) => `${j.job_id} ${j.status} ${j.backend} step ${j.step}/${j.total_steps}`).join('\n') : 'No jobs.') + (o.next_offset !== null ? `\nMore: offset ${o.next_offset}.` : ''),
});
