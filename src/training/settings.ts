import { z } from 'zod';

/**
 * The `training` section of the server config. Prices and device speeds are public list prices and
 * datasheet figures at the time of writing (2025); override them in the config file when they change.
 */

const DevicePriceSchema = z.object({
  /** USD per GPU-hour, by device name. */
  per_gpu_hour: z.record(z.string(), z.number().min(0)).default({}),
  /** USD per million training tokens (token-priced APIs), by model family or '*'. */
  per_million_tokens: z.record(z.string(), z.number().min(0)).default({}),
});

export const DEFAULT_PRICES: Record<string, z.input<typeof DevicePriceSchema>> = {
  // The local trainer runs on this machine: no bill (power is not counted).
  local: { per_gpu_hour: { cpu: 0 } },
  // Modal's published on-demand GPU prices (modal.com/pricing).
  modal: { per_gpu_hour: { H100: 3.95, 'A100-80GB': 2.5, 'A100-40GB': 2.1, L40S: 1.95, A10G: 1.1, L4: 0.8, T4: 0.59 } },
  // OpenAI fine-tuning prices per 1M training tokens (platform.openai.com/docs/pricing).
  openai: { per_million_tokens: { 'gpt-4.1-nano': 1.5, 'gpt-4.1-mini': 5, 'gpt-4.1': 25, 'gpt-4o-mini': 3, 'gpt-4o': 25, 'gpt-3.5-turbo': 8, '*': 25 } },
  // Together AI LoRA fine-tuning per 1M tokens by model size (together.ai/pricing).
  together: { per_million_tokens: { 'up-to-16b': 0.48, '17b-69b': 1.5, '70b-100b': 2.9, '*': 2.9 } },
};

/** Dense BF16/FP16 tensor throughput (TFLOP/s, no sparsity) and memory (GB), from NVIDIA datasheets. */
export const DEFAULT_DEVICES: Record<string, { tflops: number; memory_gb: number; mfu?: number }> = {
  H100: { tflops: 989, memory_gb: 80 },
  'A100-80GB': { tflops: 312, memory_gb: 80 },
  'A100-40GB': { tflops: 312, memory_gb: 40 },
  L40S: { tflops: 362, memory_gb: 48 },
  A10G: { tflops: 70, memory_gb: 24 },
  L4: { tflops: 121, memory_gb: 24 },
  T4: { tflops: 65, memory_gb: 16 },
  // ONNX Runtime MatMul measured at ~100 GFLOP/s on a 2-core CPU; LoRA training of a tiny Llama ran at
  // 10,500 tokens/s ≈ 24 GFLOP/s of model FLOPs, so a quarter of peak (FACTS.md).
  cpu: { tflops: 0.1, memory_gb: 8, mfu: 0.24 },
};

export const TrainingSettingsSchema = z.object({
  auto_min_preference_pairs: z.number().int().min(1).default(20).describe('method=auto picks DPO at this many preference pairs.'),
  auto_min_examples: z.number().int().min(1).default(50).describe('method=auto picks SFT at this many examples.'),
  prices: z.record(z.string(), DevicePriceSchema).default(DEFAULT_PRICES as Record<string, z.infer<typeof DevicePriceSchema>>),
  devices: z
    .record(z.string(), z.object({ tflops: z.number().positive(), memory_gb: z.number().positive(), mfu: z.number().gt(0).max(1).optional() }))
    .default(DEFAULT_DEVICES),
  /** Fraction of peak FLOP/s a training run achieves (model FLOPs utilisation). */
  mfu: z.number().gt(0).max(1).default(0.35),
  /** How often a server looks at running jobs (budgets, notifications, the queue), in ms. */
  watch_interval_ms: z.number().int().min(20).default(500),
  /** After a cancel request, how long to wait for the backend to end the job before marking it cancelled. */
  cancel_grace_ms: z.number().int().min(0).default(10_000),
  /** Webhook alerts: first retry after this many ms, doubling each attempt (capped at 5 min). */
  alert_retry_ms: z.number().int().min(10).default(1000),
  /** Webhook alerts: attempts before one is given up (marked failed in the delivery log). */
  alert_max_attempts: z.number().int().min(1).default(10),
});

export type TrainingSettings = z.infer<typeof TrainingSettingsSchema>;
