import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { PolicyIdSchema, PolicyViewSchema } from '../src/improvement/schemas.js';

export const runImprovementPolicyTool = defineTool({
  name: 'run_improvement_policy',
  title: 'Run one cycle of an improvement policy',
  description:
    'Runs one cycle now: decides on a retraining job that has ended (evaluate, gates, promote or record a regression), judges what is ' +
    'new since the cursor, pools rows scoring ≥ min_score, and starts one retraining job when the pool reaches the threshold. Returns ' +
    'the cycle\'s decision and the policy. Refused while another cycle of the policy runs. Next: monitor_training on a started job, ' +
    'then run again once it ends.',
  input: { policy_id: PolicyIdSchema },
  output: {
    cycle_id: z.string().describe('e.g. "cyc_01jd…".'),
    decision: z.string().describe('promoted, regression, held (a gate the loop cannot measure: the reason gives the promote_model call a person makes), retraining, waiting, pooled or nothing_new.'),
    reason: z.string().describe('Why, e.g. "judged 40, added 31; pool 31/100".'),
    policy: PolicyViewSchema.describe('The policy after the cycle.'),
  },
  // Destructive: a cycle may move the policy's alias (promote_to) to the retrained model.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handler({ policy_id }, { services, signal }) {
    const { runImprovementCycle } = await import('../src/improvement/cycle.js');
    const { policyView } = await import('../src/improvement/policies.js');
    const { PolicyStore } = await import('../src/improvement/store.js');
    const { cycle } = await runImprovementCycle(services, policy_id, { signal });
    return { cycle_id: cycle.id, decision: cycle.decision ?? 'failed', reason: cycle.reason ?? '', policy: policyView(services, new PolicyStore(services.workspace).get(cycle.policy_id), 10) };
  },
  summarize: (o) => `${o.policy.name} cycle ${o.cycle_id}: ${o.decision} (${o.reason}). Pool ${o.policy.pool.unused}.`,
});
