import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { PolicyIdSchema, PolicyViewSchema } from '../src/improvement/schemas.js';

export const getImprovementPolicyTool = defineTool({
  name: 'get_improvement_policy',
  title: 'Show an improvement policy',
  description:
    'One policy: its settings, status, cursor, pool size, retraining jobs with their decisions, and its cycles (judge runs, jobs, ' +
    'evaluations, decision and reason). Next: run_improvement_policy, or monitor_training on a job it started.',
  input: {
    policy_id: PolicyIdSchema,
    cycles: z.number().int().min(0).max(1000).default(20).describe('Newest cycles to show, e.g. 20.'),
  },
  output: PolicyViewSchema.shape,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler({ policy_id, cycles }, { services }) {
    const { policyView } = await import('../src/improvement/policies.js');
    const { PolicyStore } = await import('../src/improvement/store.js');
    return policyView(services, new PolicyStore(services.workspace).get(policy_id), cycles);
  },
  summarize: (o) => `${o.name} (${o.policy_id}): ${o.status}, pool ${o.pool.unused} waiting / ${o.pool.used} trained on, ${o.cycles.length} cycle(s) shown, ${o.retrains.length} retraining(s).`,
});
