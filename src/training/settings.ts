import { z } from 'zod';

/**
 * The `training` section of the server config. Device speeds are datasheet figures at the time of
 * writing (2025); override them in the config file when they change. Prices are each backend's
 * own (its quote()), not the core's.
 */

/** Dense BF16/FP16 tensor throughput (TFLOP/s, no sparsity) and memory (GB), from NVIDIA datasheets. */
const DEFAULT_DEVICES: Record<string, { tflops: number; memory_gb: number; mfu?: number }> = {
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
}).strict(); // a key not listed here is refused by name (a typo, or a removed setting: see REMOVED_KEYS in src/config.ts)

export type TrainingSettings = z.infer<typeof TrainingSettingsSchema>;
