/**
 * Learning-rate schedules as in Hugging Face transformers' `get_scheduler`: linear warmup from 0
 * over `warmup_steps`, then cosine (half a period to 0), linear (to 0) or constant. The rate used by
 * optimizer step k (0-based) is `base · factor(k)`, as the HF Trainer steps its LambdaLR after each
 * optimizer step.
 */
type ScheduleKind = 'cosine' | 'linear' | 'constant';

export interface Schedule {
  kind: ScheduleKind;
  base_lr: number;
  warmup_steps: number;
  total_steps: number;
}

/** transformers' `TrainingArguments.get_warmup_steps`: ceil(total × ratio). */
export function warmupSteps(totalSteps: number, warmupRatio: number): number {
  return Math.ceil(totalSteps * warmupRatio);
}

export function learningRateAt(schedule: Schedule, step: number): number {
  const { kind, base_lr, warmup_steps, total_steps } = schedule;
  if (step < warmup_steps) return (base_lr * step) / Math.max(1, warmup_steps);
  if (kind === 'constant') return base_lr;
  if (kind === 'linear') return base_lr * Math.max(0, (total_steps - step) / Math.max(1, total_steps - warmup_steps));
  const progress = (step - warmup_steps) / Math.max(1, total_steps - warmup_steps);
  return base_lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
