import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { planTraining } from '../src/training/plan.js';
import { EstimateSchema, ValidationIssueSchema } from '../src/training/schemas.js';

export const planTrainingTool = defineTool({
  name: 'plan_training',
  title: 'Pre-flight a training run',
  description:
    "Pre-flight check of a config before anything is spent: the backend's validation of the data and model, the resource " +
    'estimate, and the budget (max_cost_usd, max_runtime_s) in one call. Returns a plan_id and a verdict ("go" or "no_go") with ' +
    'reasons, each led by a stable code. Next: start_training {plan_id} when the verdict is go; otherwise fix what the reasons name.',
  input: {
    config_id: z.string().describe('Config id from configure_training, e.g. "cfg_01hx…".'),
    max_cost_usd: z.number().positive().optional().describe('Refuse (and later stop) the run above this cost in USD, e.g. 10.'),
    max_runtime_s: z.number().positive().optional().describe('Refuse (and later stop) the run above this many seconds, e.g. 3600.'),
  },
  output: {
    plan_id: z.string().describe('The stored plan, e.g. "plan_01hx…".'),
    config_id: z.string().describe('The config it checks.'),
    verdict: z.enum(['go', 'no_go']).describe('"go" when nothing blocks the run.'),
    reasons: z.array(z.string()).describe('Why: blocking problems first ("[CODE] …"), then warnings.'),
    budget: z.object({ max_cost_usd: z.number().optional().describe('Cost cap in USD.'), max_runtime_s: z.number().optional().describe('Time cap in seconds.') }).describe('The budget the job will be held to.'),
    estimate: EstimateSchema.describe('The resource estimate (as estimate_resources returns it).'),
    validation: z.array(ValidationIssueSchema).describe('Every issue the checks found.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const { plan, estimate } = await planTraining(services, args);
    return { plan_id: plan.plan_id, config_id: plan.config_id, verdict: plan.verdict, reasons: plan.reasons, budget: plan.budget, estimate: estimate as z.infer<typeof EstimateSchema>, validation: plan.validation };
  },
  summarize: (o) => `Plan ${o.plan_id}: ${o.verdict.toUpperCase()}. ${o.reasons.join(' ')}${o.verdict === 'go' ? ` Next: start_training {plan_id: "${o.plan_id}"}.` : ''}`,
});
