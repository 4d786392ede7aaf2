import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobSink, TrainingSpec } from '../../src/plugins/providers.js';
import { writeDirAtomic, writeFileAtomic } from '../../src/workspace/atomic-write.js';

/**
 * A training loop without a model, for the test backend: it walks the steps of the spec with a
 * loss that decays, writes real checkpoint folders (state.json) and an adapter folder, honours
 * resume_from, and reports everything through a JobSink exactly as a real trainer would.
 * Behaviour knobs come from `spec.config.backend_options`.
 */
export interface FakeTrainingOptions {
  step_ms: number;
  loss_start: number;
  loss_decay: number;
  /** Report failure with `fail_code` at this step. */
  fail_at_step?: number;
  fail_code?: string;
  /** Report a NaN loss at this step. */
  nan_at_step?: number;
  /** Explicit eval losses, one per eval, instead of loss × 1.1. */
  eval_losses?: number[];
  /** Report a cost_usd metric growing by this much each step. */
  cost_per_step?: number;
  /** Report these losses (and grad norms), one per step, instead of the decaying loss (a recorded run). */
  loss_series?: number[];
  grad_norm_series?: number[];
}

export function fakeOptions(spec: TrainingSpec): FakeTrainingOptions {
  const o = spec.config.backend_options as Partial<FakeTrainingOptions>;
  return { step_ms: 15, loss_start: 3, loss_decay: 0.9, ...o };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runFakeTraining(spec: TrainingSpec, sink: JobSink, stopped: () => boolean): Promise<void> {
  const o = fakeOptions(spec);
  const h = spec.config.hyperparameters;
  const total = h.max_steps || 8;
  const start = spec.resume_from ? (JSON.parse(readFileSync(join(spec.resume_from, 'state.json'), 'utf8')) as { step: number }).step : 0;
  sink.status('running');
  sink.event('progress', start ? `Resumed at step ${start}.` : 'Training started.', { total_steps: total, start_step: start });
  let evals = 0;
  for (let step = start + 1; step <= total; step++) {
    await sleep(o.step_ms);
    if (stopped()) {
      sink.status('cancelled', { message: `Stopped at step ${step - 1}.` });
      return;
    }
    const loss = step === o.nan_at_step ? Number.NaN : (o.loss_series?.[step - 1] ?? o.loss_start * o.loss_decay ** step);
    sink.metric('loss', step, loss);
    if (o.grad_norm_series?.[step - 1] !== undefined) sink.metric('grad_norm', step, o.grad_norm_series[step - 1]);
    // As the local trainer does: the rate this step used, decaying linearly from the configured one.
    sink.metric('learning_rate', step, h.learning_rate * (1 - (step - 1) / total));
    sink.metric('tokens_per_s', step, 1000);
    sink.metric('epoch', step, step / total);
    if (o.cost_per_step) sink.metric('cost_usd', step, step * o.cost_per_step);
    if (step === o.fail_at_step) {
      sink.status('failed', { error_code: o.fail_code ?? 'OUT_OF_MEMORY', message: `Simulated failure at step ${step}.` });
      return;
    }
    if (h.eval_steps && step % h.eval_steps === 0) {
      sink.metric('eval_loss', step, o.eval_losses?.[evals] ?? loss * 1.1);
      evals++;
    }
    if (h.save_steps && step % h.save_steps === 0) {
      const path = join(spec.output_dir, 'checkpoints', `step-${step}`);
      await writeDirAtomic(path, (dir) => writeFileAtomic(join(dir, 'state.json'), JSON.stringify({ step, loss })));
      sink.checkpoint({ step, path, metrics: Number.isFinite(loss) ? { loss } : {} });
    }
  }
  const adapter = join(spec.output_dir, 'output', 'adapter');
  if (!existsSync(adapter)) await writeDirAtomic(adapter, (dir) => writeFileAtomic(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: h.lora_r })));
  sink.artifact({ kind: 'adapter', path: adapter });
  sink.status('succeeded');
}
