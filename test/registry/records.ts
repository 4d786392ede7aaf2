import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../../src/models/files/safetensors.js';
import type { TrainingHyperparameters } from '../../src/plugins/providers.js';
import type { Services } from '../../src/services.js';
import { PolicySchema, HyperparametersSchema } from '../../src/training/config-schema.js';
import { JobLedger } from '../../src/training/ledger.js';

/**
 * Builders of the records other areas own (a PEFT adapter folder, a dataset version folder, a
 * succeeded job in the control plane's ledger), made through their real code and documented layouts.
 */

/** A small PEFT LoRA adapter for a 64-wide model (q_proj and v_proj of 2 layers; v_proj out = kv_dim), seeded values. */
export function writeAdapter(dir: string, options: { r?: number; seed?: number; base?: string; kv_dim?: number } = {}): string {
  const r = options.r ?? 4;
  let state = options.seed ?? 1;
  const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.02;
  const tensors = new Map<string, TensorToWrite>();
  for (let layer = 0; layer < 2; layer++) {
    for (const proj of ['q_proj', 'v_proj']) {
      const prefix = `base_model.model.model.layers.${layer}.self_attn.${proj}`;
      tensors.set(`${prefix}.lora_A.weight`, { shape: [r, 64], data: Float32Array.from({ length: r * 64 }, next) });
      const out = proj === 'v_proj' ? (options.kv_dim ?? 64) : 64;
      tensors.set(`${prefix}.lora_B.weight`, { shape: [out, r], data: Float32Array.from({ length: out * r }, next) });
    }
  }
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
  writeFileSync(
    join(dir, 'adapter_config.json'),
    JSON.stringify({ peft_type: 'LORA', base_model_name_or_path: options.base ?? 'stories260K', r, lora_alpha: 2 * r, target_modules: ['q_proj', 'v_proj'], lora_dropout: 0, bias: 'none', task_type: 'CAUSAL_LM' }),
  );
  return dir;
}

/** A dataset version: its folder in the documented layout (manifest.json, rows files) and its record through the datasets service. */
export function writeDatasetVersion(services: Services, id: string, contentHash: string, rows?: { test?: object[]; task_type?: string }): string {
  const dir = join(services.workspace.root, 'datasets', id);
  mkdirSync(dir, { recursive: true });
  const test = rows?.test;
  const manifest = {
    dataset_id: id,
    parent_id: null,
    task_type: rows?.task_type ?? 'completion',
    source: { path: 'stories.jsonl', format: 'jsonl', sha256: contentHash },
    content_hash: contentHash,
    counts: test ? { rows: test.length, train: 0, validation: 0, test: test.length } : { rows: 10, train: 8, test: 2 },
    token_stats: { tokenizer: 'none', total: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, max: 0 },
    created_at: new Date().toISOString(),
    lineage: [],
  };
  const lines = (test ?? []).map((r) => JSON.stringify(r)).join('\n') + (test?.length ? '\n' : '');
  for (const name of ['rows.jsonl', 'test.jsonl', 'train.jsonl', 'validation.jsonl']) writeFileSync(join(dir, name), name === 'train.jsonl' || name === 'validation.jsonl' ? '' : lines);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  services.datasets.insert(manifest as never, 'split', dir);
  return dir;
}

/** A succeeded job in the ledger with a frozen config, loss series and its output adapter on disk (or one that ended `failed`, without it). */
export function makeSucceededJob(services: Services, options: { dataset_id: string; base_model?: string; learning_rate?: number; seed?: number; losses?: number[]; kv_dim?: number; status?: 'succeeded' | 'failed' }): string {
  const ledger = new JobLedger(services.workspace.db);
  const config_id = services.workspace.newId('config');
  const hyperparameters: TrainingHyperparameters = HyperparametersSchema.parse({
    epochs: 1, max_steps: 3, learning_rate: options.learning_rate ?? 2e-4, batch_size: 4, gradient_accumulation: 1, max_seq_length: 128,
    warmup_ratio: 0, lr_scheduler: 'constant', weight_decay: 0, adam_beta1: 0.9, adam_beta2: 0.999, adam_epsilon: 1e-8, max_grad_norm: 1,
    lora_r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], use_rslora: false, on_missing_target: 'error', dpo_beta: 0.1,
    loss_on: 'completion', packing: false, eval_steps: 0, save_steps: 0, save_total_limit: 1, early_stopping_patience: 0, early_stopping_min_delta: 0, seed: 1,
  }) as TrainingHyperparameters;
  const policy = PolicySchema.parse({});
  ledger.insertConfig({
    config_id,
    base_model: options.base_model ?? 'mdl_stories260k',
    dataset_id: options.dataset_id,
    method: 'sft',
    approach: 'lora',
    backend: 'local',
    template: 'completion',
    hyperparameters,
    backend_options: {},
    policy,
    parent_config_id: null,
  });
  const job = ledger.create({ config_id, backend: 'local', policy });
  for (const to of ['preparing', 'running'] as const) ledger.transition(job.job_id, to);
  (options.losses ?? [2.5, 1.9, 1.4]).forEach((loss, i) => {
    ledger.addMetric(job.job_id, 'loss', i + 1, loss);
    ledger.addMetric(job.job_id, 'tokens_per_s', i + 1, 1000 + i);
  });
  if (options.status === 'failed') {
    ledger.transition(job.job_id, 'failed', { error_code: 'TRAINING_DIVERGED', message: 'loss became NaN' });
    return job.job_id;
  }
  writeAdapter(join(services.workspace.root, 'jobs', job.job_id, 'output', 'adapter'), { seed: options.seed ?? 7, kv_dim: options.kv_dim });
  ledger.transition(job.job_id, 'succeeded');
  return job.job_id;
}

/** A stored evaluation row, as evaluate_model writes them, so registration can cite it. */
export function insertEvaluation(services: Services, metrics: Record<string, number>, ci: Record<string, { low: number; high: number }> = {}): string {
  const id = services.workspace.newId('evaluation');
  services.workspace.db
    .prepare('INSERT INTO evaluations (id, model, dataset, metrics, ci, gates, examples, dir, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .run(id, '{}', 'ds_stories/test', JSON.stringify(metrics), JSON.stringify(ci), '[]', 2, services.workspace.root, new Date().toISOString());
  return id;
}
