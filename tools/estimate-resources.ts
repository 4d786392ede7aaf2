import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { estimateResources } from '../src/training/estimate.js';
import { JobLedger } from '../src/training/ledger.js';
import { EstimateSchema } from '../src/training/schemas.js';

export const estimateResourcesTool = defineTool({
  name: 'estimate_resources',
  title: 'Estimate training resources',
  description:
    'For a training config: memory (weights by dtype, LoRA parameters, optimizer states, activations, DPO reference, QLoRA ' +
    'quantisation), training tokens from the dataset\'s real token counts × epochs, FLOPs and time on each device the backend offers, ' +
    'cost from the price table, and the recommended device. Every figure carries its formula; assumptions are listed. ' +
    'calibrate=true measures a short run on backends that support it (the local trainer). Spends nothing. Next: plan_training.',
  input: {
    config_id: z.string().describe('Config id from configure_training, e.g. "cfg_01hx…".'),
    calibrate: z.boolean().default(false).describe('Measure throughput with a short real run when the backend can (local). Default false.'),
  },
  output: EstimateSchema.shape,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler({ config_id, calibrate }, { services }) {
    const config = new JobLedger(services.workspace.db).getConfig(config_id);
    return (await estimateResources(services, config, { calibrate })) as z.infer<typeof EstimateSchema>;
  },
  summarize: (o) =>
    `~${o.memory.total_gb.toFixed(2)} GB, ${o.tokens.total.value} tokens in ${o.tokens.steps.value} steps, ~${o.time.value} s and ~$${o.cost.value.toFixed(2)} on ${o.device}` +
    `${o.recommended_device ? ` (recommended: ${o.recommended_device})` : ' (no listed device fits)'}.`,
});
