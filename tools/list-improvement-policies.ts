import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { PolicyViewSchema } from '../src/improvement/schemas.js';

export const listImprovementPoliciesTool = defineTool({
  name: 'list_improvement_policies',
  title: 'List improvement policies',
  description: 'Every improvement policy with its status, cursor, pool size, retraining jobs and its last cycle. Next: get_improvement_policy for all cycles.',
  input: {},
  output: { policies: z.array(PolicyViewSchema).describe('Oldest first.') },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(_args, { services }) {
    const { policyView } = await import('../src/improvement/policies.js');
    const { PolicyStore } = await import('../src/improvement/store.js');
    return { policies: new PolicyStore(services.workspace).list().map((p) => policyView(services, p, 1)) };
  },
  summarize: (o) => (o.policies.length ? o.policies.map((p) => `${p.name} (${p.policy_id}): ${p.status}, pool ${p.pool.unused}`).join('; ') : 'No improvement policies yet: create_improvement_policy makes one.'),
});
