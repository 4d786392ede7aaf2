import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { estimateConfig } from '../src/training/estimate.js';
import { EstimateSchema } from '../src/training/schemas.js';

/** "A10G" for one device, "8×H100" for several. */
const devicesText = (count: number, device: string) => (count > 1 ? `${count}×${device}` : device);

export const estimateResourcesTool = defineTool({
  name: 'estimate_resources',
  title: 'Estimate training resources',
  description:
    'For a training config: memory (weights by dtype, LoRA parameters, optimizer states, activations, DPO reference, QLoRA ' +
    'quantisation), training tokens from the dataset\'s real token counts × epochs, FLOPs and time on each device the backend offers, ' +
    'cost as the backend quotes it (its list price per token or GPU-hour), and the recommended device. Every figure carries its formula; assumptions are listed. ' +
    'calibrate=true asks the backend for its own figures: the local trainer measures a short run; a remote backend is contacted ' +
    '(Together receives the training file for a price quote, then it is deleted). Without calibrate nothing leaves this machine. ' +
    'Spends nothing. Next: plan_training.',
  input: {
    config_id: z.string().describe('Config id from configure_training, e.g. "cfg_01hx…".'),
    calibrate: z
      .boolean()
      .default(false)
      .describe('Ask the backend for its own figures: a short measured run (local) or a quote from the provider (remote: contacts it, e.g. uploads the training file to Together). Default false.'),
  },
  output: EstimateSchema.shape,
  // Annotations are per tool, so they tell what calibrate may do: upload the training file to a provider
  // (Together prices a job from an uploaded file, deleted afterwards) — not read-only, open world, and it
  // destroys nothing of the user's. A client must not run it unasked as it would a pure read.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler({ config_id, calibrate }, { services }) {
    return (await estimateConfig(services, config_id, { calibrate })) as z.infer<typeof EstimateSchema>;
  },
  summarize: (o) =>
    `~${o.memory.per_device_gb.toFixed(2)} GB per device, ${o.tokens.total.value} tokens in ${o.tokens.steps.value} steps, ~${o.time.value} s and ~$${o.cost.value.toFixed(2)} on ${devicesText(o.device_count, o.device)}` +
    `${o.recommended_device ? ` (recommended: ${devicesText(o.recommended_count ?? 1, o.recommended_device)})` : ' (no listed device fits)'}.`,
});
