import { z } from 'zod';

/** Output schemas the training tools share (estimate inside plan_training, events in monitor and resources). */

const FigureSchema = z.object({
  value: z.number().describe('The number, e.g. 1.25.'),
  unit: z.string().describe('Its unit, e.g. "GB", "tokens", "s", "USD".'),
  formula: z.string().describe('How it was computed, e.g. "parameters × 2 bytes".'),
});

export const EstimateSchema = z.object({
  backend: z.string().describe('Backend the estimate is for, e.g. "local".'),
  parameters: FigureSchema.describe('Parameters of the base model.'),
  trainable_parameters: FigureSchema.describe('Parameters that train (LoRA adapters, or all for full).'),
  memory: z
    .object({
      total_gb: z.number().describe('Sum of the parts in GB, e.g. 17.3.'),
      per_device_gb: z.number().describe('GB on each device (a full fine-tune on N shards, ZeRO-3), e.g. 61.2.'),
      parts: z.record(z.string(), FigureSchema).describe('weights, trainable_and_optimizer, activations, logits, reference_model (DPO).'),
    })
    .describe('Training memory on the device.'),
  tokens: z
    .object({
      per_epoch: FigureSchema.describe('Tokens in one pass over the training split.'),
      total: FigureSchema.describe('Tokens the whole run trains on.'),
      steps: FigureSchema.describe('Optimizer steps.'),
    })
    .describe('Token counts from the dataset manifest.'),
  flops: FigureSchema.describe('Training FLOPs: 6·params·tokens for full, (4·frozen + 6·trainable)·tokens for adapters.'),
  time: FigureSchema.describe('Wall time in seconds on the chosen device.'),
  cost: FigureSchema.describe("Cost in USD as the backend quotes it (its list prices, or its provider's own quote with calibrate); the formula says how."),
  device: z.string().describe('Device the time and cost are for (pinned by backend_options.gpu, else the recommended one), e.g. "A100-80GB".'),
  device_count: z.number().int().describe('Devices the job runs on, e.g. 1.'),
  recommended_device: z.string().nullable().describe('Cheapest device that fits, or null when none does.'),
  recommended_count: z.number().int().nullable().describe('How many recommended_device the run needs, e.g. 8.'),
  devices: z
    .array(
      z.object({
        device: z.string().describe('Device name, e.g. "H100".'),
        count: z.number().int().describe('How many of them, e.g. 8.'),
        fits: z.boolean().describe('Whether the memory estimate fits.'),
        memory_gb: z.number().describe('Device memory in GB.'),
        need_gb: z.number().describe('Memory each device needs with that count, in GB, e.g. 61.2.'),
        seconds: z.number().describe('Estimated time in seconds.'),
        cost_usd: z.number().describe('Estimated cost in USD.'),
      }),
    )
    .describe('Every device the backend offers, compared.'),
  fits: z.boolean().describe('Whether the run fits the chosen device.'),
  calibrated: z
    .object({
      tokens_per_s: z.number().optional().describe('Measured throughput, e.g. 10500.'),
      billed_tokens: z.number().optional().describe("Tokens the provider will bill, by its own count, e.g. 300000."),
      cost_usd: z.number().optional().describe("The provider's own cost quote in USD, e.g. 2.4."),
      source: z.string().describe('What produced these figures.'),
    })
    .optional()
    .describe("Present when calibrate=true and the backend gave figures of its own (a measured run, or the provider's token count and price)."),
  assumptions: z.array(z.string()).describe('What the estimate assumes.'),
});

export const ValidationIssueSchema = z.object({
  severity: z.enum(['error', 'warning']).describe('"error" blocks the run; "warning" does not.'),
  code: z.string().describe('Stable code, e.g. "DATASET_INVALID".'),
  field: z.string().optional().describe('The field at fault, e.g. "max_seq_length".'),
  message: z.string().describe('What is wrong and what to do.'),
});

export const JobEventSchema = z.object({
  seq: z.number().describe('Order of the event in the workspace; pass the last one as events_cursor.'),
  time: z.string().describe('ISO time.'),
  type: z.string().describe('status, checkpoint, artifact, budget_warning, budget_exceeded, guardrail_warning, guardrail_stop, log, …'),
  level: z.enum(['info', 'warning', 'error']).describe('Severity.'),
  message: z.string().describe('What happened.'),
  data: z.record(z.string(), z.unknown()).optional().describe('Details, e.g. {"from": "running", "to": "succeeded"}.'),
});
