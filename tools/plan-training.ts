import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { planTraining } from '../src/training/plan.js';
import { EstimateSchema, ValidationIssueSchema } from '../src/training/schemas.js';

const EstimateSummarySchema = z.object({
  device: z.string().describe('Device the time and cost are for, e.g. "A100-80GB" or "cpu".'),
  fits: z.boolean().describe('Whether the run fits that device.'),
  recommended_device: z.string().nullable().describe('Cheapest device that fits, or null when none does.'),
  device_count: z.number().int().describe('Devices the job runs on, e.g. 1.'),
  recommended_count: z.number().int().nullable().describe('How many recommended_device the run needs, e.g. 16.'),
  time_s: z.number().describe('Estimated wall time in seconds, e.g. 420.'),
  cost_usd: z.number().describe('Estimated cost in USD, e.g. 2.4.'),
  memory_gb: z.number().describe('Estimated training memory in GB, e.g. 17.3.'),
  trainable_parameters: z.number().describe('Parameters that train, e.g. 4194304.'),
  tokens: z.number().describe('Tokens the whole run trains on, e.g. 300000.'),
  steps: z.number().describe('Optimizer steps, e.g. 60.'),
});

function summarizeEstimate(e: z.infer<typeof EstimateSchema>): z.infer<typeof EstimateSummarySchema> {
  return {
    device: e.device,
    fits: e.fits,
    recommended_device: e.recommended_device,
    device_count: e.device_count,
    recommended_count: e.recommended_count,
    time_s: e.time.value,
    cost_usd: e.cost.value,
    memory_gb: e.memory.total_gb,
    trainable_parameters: e.trainable_parameters.value,
    tokens: e.tokens.total.value,
    steps: e.tokens.steps.value,
  };
}

export const planTrainingTool = defineTool({
  name: 'plan_training',
  title: 'Pre-flight a training run',
  description:
    "Pre-flight check of a config before anything is spent: the backend's validation of the data and model, the resource " +
    'estimate, and the budget (max_cost_usd, max_runtime_s) in one call. Returns a plan_id and a verdict ("go" or "no_go") with ' +
    'reasons, each led by a stable code, and the estimate\'s headline figures (detail=true adds the whole estimate with formulas and ' +
    'the validation issues). Next: start_training {plan_id} when the verdict is go; otherwise fix what the reasons name.',
  input: {
    config_id: z.string().describe('Config id from configure_training, e.g. "cfg_01hx…".'),
    max_cost_usd: z.number().positive().optional().describe('Refuse (and later stop) the run above this cost in USD, e.g. 10.'),
    max_runtime_s: z.number().positive().optional().describe('Refuse (and later stop) the run above this many seconds, e.g. 3600.'),
    detail: z.boolean().default(false).describe('Also return the whole estimate (every figure with its formula, all devices) and the validation issues. Default false.'),
  },
  output: {
    plan_id: z.string().describe('The stored plan, e.g. "plan_01hx…".'),
    config_id: z.string().describe('The config it checks.'),
    verdict: z.enum(['go', 'no_go']).describe('"go" when nothing blocks the run.'),
    reasons: z.array(z.string()).describe('Why: blocking problems first ("[CODE] …"), then warnings.'),
    budget: z.object({ max_cost_usd: z.number().optional().describe('Cost cap in USD.'), max_runtime_s: z.number().optional().describe('Time cap in seconds.') }).describe('The budget the job will be held to.'),
    estimate: EstimateSummarySchema.describe('Headline figures of the resource estimate (estimate_resources gives each with its formula).'),
    estimate_detail: EstimateSchema.optional().describe('The whole resource estimate, as estimate_resources returns it; only with detail: true.'),
    validation: z.array(ValidationIssueSchema).optional().describe('Every issue the checks found (the reasons carry each one); only with detail: true.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const { plan, estimate } = await planTraining(services, args);
    const full = estimate as z.infer<typeof EstimateSchema>;
    const detail = args.detail ? { estimate_detail: full, validation: plan.validation } : {};
    return { plan_id: plan.plan_id, config_id: plan.config_id, verdict: plan.verdict, reasons: plan.reasons, budget: plan.budget, estimate: summarizeEstimate(full), ...detail };
  },
  summarize: (o) => `Plan ${o.plan_id}: ${o.verdict.toUpperCase()}. ${o.reasons.join(' ')}${o.verdict === 'go' ? ` Next: start_training {plan_id: "${o.plan_id}"}.` : ''}`,
});
