import { defineTool } from '../src/server/tool.js';
import { PolicyInput, PolicyViewSchema } from '../src/improvement/schemas.js';

export const createImprovementPolicyTool = defineTool({
  name: 'create_improvement_policy',
  title: 'Create an improvement policy (judge → pool → retrain → gated release)',
  description:
    'Stores a durable loop: each cycle reads production outputs new since its cursor (a growing JSONL or Phoenix spans), judges them ' +
    '(judge_outputs), pools rows scoring ≥ min_score, and when retrain_threshold rows have gathered retrains from base_config_id on its ' +
    'data plus the pool; once that job ends, the new model and the alias holder are evaluated on eval_dataset_id and the new one is ' +
    'promoted only if it passes the gates and is no worse. Next: run_improvement_policy, or `finetune-mcp improve --policy NAME` from cron.',
  input: PolicyInput,
  output: PolicyViewSchema.shape,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const { createPolicy, policyView } = await import('../src/improvement/policies.js');
    return policyView(services, createPolicy(services, args), 0);
  },
  summarize: (o) => `Created improvement policy ${o.name} (${o.policy_id}). Next: run_improvement_policy {"policy_id": "${o.policy_id}"}.`,
});
