import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../../src/errors.js';
import { writeDirAtomic, writeFileAtomic } from '../../../src/workspace/atomic-write.js';
import { readSafetensors, writeSafetensors } from '../../../src/models/files/safetensors.js';
import type { AdamWState } from './adamw.js';
import type { DataPosition } from './batches.js';
import type { PrngState } from '../../../src/random.js';

/**
 * A checkpoint folder `checkpoints/step-N/`, written whole or not at all (writeDirAtomic):
 * - the trainable tensors, through the caller's `writeParams` (a PEFT adapter folder for LoRA,
 *   Hugging Face weights for full fine-tuning);
 * - `optimizer.safetensors`: AdamW's exp_avg / exp_avg_sq per tensor, float32 as in memory;
 * - `trainer_state.json`: step, data position, PRNG state, eval bookkeeping and the log so far.
 */
export interface TrainerState {
  format: 'finetune-mcp.trainer/1';
  global_step: number;
  total_steps: number;
  position: DataPosition;
  prng: PrngState;
  optimizer_step: number;
  best_eval_loss: number | null;
  best_step: number | null;
  evals_without_improvement: number;
  seq_len: number;
  tensors: Array<{ name: string; shape: number[] }>;
  /** One entry per optimizer step and eval, as the HF Trainer's log_history. */
  log_history: Array<Record<string, number>>;
}

export interface ParamsIo {
  write(dir: string, params: Float32Array[]): void | Promise<void>;
  read(dir: string): Float32Array[];
}

const STATE_FILE = 'trainer_state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';

export function checkpointDir(root: string, step: number): string {
  return join(root, `step-${step}`);
}

export async function saveCheckpoint(
  root: string,
  state: TrainerState,
  params: Float32Array[],
  optimizer: AdamWState,
  io: ParamsIo,
): Promise<string> {
  const target = checkpointDir(root, state.global_step);
  if (existsSync(target)) rmSync(target, { recursive: true, force: true }); // a re-run of the same step replaces it
  await writeDirAtomic(target, async (dir) => {
    await io.write(dir, params);
    const moments = new Map<string, { shape: number[]; data: Float32Array }>();
    state.tensors.forEach((t, i) => {
      moments.set(`exp_avg.${t.name}`, { shape: t.shape, data: optimizer.exp_avg[i] });
      moments.set(`exp_avg_sq.${t.name}`, { shape: t.shape, data: optimizer.exp_avg_sq[i] });
    });
    writeSafetensors(join(dir, OPTIMIZER_FILE), moments, { optimizer: 'adamw', step: String(optimizer.step) });
    writeFileAtomic(join(dir, STATE_FILE), `${JSON.stringify(state, null, 1)}\n`);
  });
  return target;
}

export interface LoadedCheckpoint {
  state: TrainerState;
  params: Float32Array[];
  optimizer: AdamWState;
}

/** Reads a checkpoint written by saveCheckpoint; refuses one whose tensors differ from this run's. */
export function loadCheckpoint(dir: string, expected: Array<{ name: string; shape: number[] }>, io: ParamsIo): LoadedCheckpoint {
  const statePath = join(dir, STATE_FILE);
  if (!existsSync(statePath)) {
    throw new FinetuneError('NOT_FOUND', `${dir} is not a training checkpoint (no ${STATE_FILE}).`, {
      recovery: 'Pass a folder from the job\'s checkpoints list (monitor_training shows them).',
      details: { file: statePath },
    });
  }
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as TrainerState;
  const same =
    state.tensors.length === expected.length &&
    state.tensors.every((t, i) => t.name === expected[i].name && t.shape.join('x') === expected[i].shape.join('x'));
  if (!same) {
    throw new FinetuneError('STATE_CONFLICT', `Checkpoint ${dir} holds different trainable tensors than this run builds (other LoRA targets, rank or model).`, {
      recovery: 'Resume with the same config the checkpoint was trained with, or start a new job.',
      details: { file: statePath },
    });
  }
  const moments = readSafetensors(join(dir, OPTIMIZER_FILE));
  const moment = (kind: string, name: string): Float32Array => {
    const tensor = moments.get(`${kind}.${name}`);
    if (!tensor) throw new FinetuneError('FILE_ERROR', `${join(dir, OPTIMIZER_FILE)} lacks ${kind}.${name}.`, { details: { file: join(dir, OPTIMIZER_FILE), field: name } });
    return tensor.data;
  };
  return {
    state,
    params: io.read(dir),
    optimizer: {
      step: state.optimizer_step,
      exp_avg: state.tensors.map((t) => moment('exp_avg', t.name)),
      exp_avg_sq: state.tensors.map((t) => moment('exp_avg_sq', t.name)),
    },
  };
}

/** Steps of the checkpoints under `root`, ascending. */
export function listCheckpoints(root: string): number[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => /^step-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(root, m[0], STATE_FILE)))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Keeps the last `keep` checkpoints plus the best one (keep ≤ 0: all); removes the rest. Returns the removed steps. */
export function pruneCheckpoints(root: string, keep: number, bestStep: number | null): number[] {
  if (keep <= 0) return [];
  const steps = listCheckpoints(root);
  const kept = new Set(steps.slice(Math.max(0, steps.length - keep)));
  if (bestStep !== null) kept.add(bestStep);
  const removed = steps.filter((s) => !kept.has(s));
  for (const step of removed) rmSync(checkpointDir(root, step), { recursive: true, force: true });
  return removed;
}
