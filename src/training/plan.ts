import { ERROR_CODES, FinetuneError, toFinetuneError, type ErrorCode } from '../errors.js';
import type { SpecIssue } from '../plugins/providers.js';
import type { TrainingDeps } from './deps.js';
import { estimateResources, type ResourceEstimate } from './estimate.js';
import { resolveInputs, type TrainingInputs } from './inputs.js';
import { JobLedger, type PlanRecord, type StoredConfig } from './ledger.js';
import { buildSpec } from './spec.js';

interface PlanInput {
  config_id: string;
  max_cost_usd?: number;
  max_runtime_s?: number;
}

/**
 * Pre-flight: the backend's own validation of the spec, data checks, the estimate and the budget,
 * in one record with a verdict. Nothing is spent: no job is created.
 */
export async function planTraining(services: TrainingDeps, input: PlanInput): Promise<{ plan: PlanRecord; estimate: ResourceEstimate; inputs: TrainingInputs }> {
  const ledger = new JobLedger(services.workspace.db);
  const config = ledger.getConfig(input.config_id);
  // Resolved once here for validation, the backend's spec and the estimate, and returned for a start
  // to launch with (a dataset or model that is gone throws NOT_FOUND).
  const inputs = await resolveInputs(services, config);
  const validation = await validateConfig(services, config, inputs);
  const estimate = await estimateResources(services, config, { inputs });
  const budget = {
    ...(input.max_cost_usd ?? config.policy.max_cost_usd ? { max_cost_usd: input.max_cost_usd ?? config.policy.max_cost_usd } : {}),
    ...(input.max_runtime_s ?? config.policy.max_runtime_s ? { max_runtime_s: input.max_runtime_s ?? config.policy.max_runtime_s } : {}),
  };
  const reasons: string[] = [];
  for (const issue of validation.filter((i) => i.severity === 'error')) reasons.push(`[${issue.code}] ${issue.field ? `${issue.field}: ` : ''}${issue.message}`);
  if (!estimate.fits) reasons.push(outOfMemoryReason(estimate));
  if (budget.max_cost_usd !== undefined && estimate.cost.value > budget.max_cost_usd) {
    reasons.push(`[BUDGET_EXCEEDED] Estimated cost $${estimate.cost.value.toFixed(2)} is over max_cost_usd $${budget.max_cost_usd}.`);
  }
  if (budget.max_runtime_s !== undefined && estimate.time.value > budget.max_runtime_s) {
    reasons.push(`[BUDGET_EXCEEDED] Estimated time ${estimate.time.value} s is over max_runtime_s ${budget.max_runtime_s} s.`);
  }
  const verdict = reasons.length ? 'no_go' : 'go';
  if (verdict === 'go') reasons.push(`Go: ${estimate.tokens.steps.value} steps, ~${estimate.time.value} s, ~$${estimate.cost.value.toFixed(2)} on ${estimate.device}.`);
  for (const issue of validation.filter((i) => i.severity === 'warning')) reasons.push(`Warning [${issue.code}]: ${issue.message}`);
  const plan = ledger.insertPlan({
    plan_id: services.workspace.newId('plan'),
    config_id: config.config_id,
    verdict,
    reasons,
    estimate: estimate as unknown as Record<string, unknown>,
    validation,
    budget,
  });
  return { plan, estimate, inputs };
}

async function validateConfig(services: TrainingDeps, config: StoredConfig, inputs: TrainingInputs): Promise<SpecIssue[]> {
  const issues: SpecIssue[] = [];
  const { dataset } = inputs;
  try {
    const trainRows = dataset.counts.train ?? dataset.counts.rows;
    if (!trainRows) issues.push({ severity: 'error', code: 'DATASET_INVALID', field: 'dataset_id', message: `${config.dataset_id} has no training rows.` });
    if (!dataset.validation_path && config.hyperparameters.eval_steps > 0) {
      issues.push({ severity: 'warning', code: 'DATASET_INVALID', field: 'eval_steps', message: 'No validation split: eval loss cannot be measured (split the dataset to get one).' });
    }
    const backend = await services.plugins.get('training_backend', config.backend);
    const spec = await buildSpec(services, config, 'preflight', null, inputs);
    issues.push(...((await backend.validate?.(spec)) ?? []));
  } catch (thrown) {
    const error = toFinetuneError(thrown);
    issues.push({ severity: 'error', code: error.code, field: typeof error.details.field === 'string' ? error.details.field : undefined, message: error.message });
  }
  return issues;
}

/** The refusal for a no-go plan: the code of its first problem and every reason. */
export function refusePlan(plan: PlanRecord): FinetuneError {
  const first = /^\[([A-Z_]+)\]/.exec(plan.reasons[0] ?? '')?.[1];
  const code: ErrorCode = first && first in ERROR_CODES ? (first as ErrorCode) : 'INVALID_INPUT';
  return new FinetuneError(code, `Pre-flight plan ${plan.plan_id} says no-go: ${plan.reasons.join(' ')}`, {
    recovery: 'Fix what the reasons name (configure_training with new values, prepare the data again, or raise the budget), then plan_training again.',
    details: { plan_id: plan.plan_id, reasons: plan.reasons },
  });
}

/** Why the run does not fit, and the nearest option that does: another device, or more of them (sharded for a full fine-tune). */
function outOfMemoryReason(estimate: ResourceEstimate): string {
  const own = estimate.devices.find((d) => d.device === estimate.device && d.count === estimate.device_count);
  const need = `Needs ~${estimate.memory.per_device_gb.toFixed(2)} GB per device; ${estimate.device_count} × ${estimate.device} has ${own?.memory_gb ?? '?'} GB.`;
  const fit = estimate.devices.find((d) => d.device === estimate.recommended_device && d.count === estimate.recommended_count);
  if (!fit) return `[OUT_OF_MEMORY] ${need} No listed device fits: use LoRA/QLoRA, a smaller batch or a shorter max_seq_length.`;
  if (fit.count === estimate.device_count) return `[OUT_OF_MEMORY] ${need} ${fit.device} fits.`;
  const how = estimate.trainable_parameters.value === estimate.parameters.value ? ' with ZeRO-3 sharding (FSDP full_shard)' : ' (data parallel)';
  // More of the device the config names is the smallest change to it; named beside the cheapest when it differs.
  const same = estimate.devices.find((d) => d.device === estimate.device && d.count > estimate.device_count && d.fits);
  const alternative = same && same !== fit ? ` (or ${same.count}×${same.device} at ~${same.need_gb.toFixed(1)} GB each)` : '';
  return `[OUT_OF_MEMORY] ${need} ${fit.count}×${fit.device} (${fit.memory_gb} GB)${how} fits at ~${fit.need_gb.toFixed(1)} GB each${alternative}: set backend_options.num_gpus / num_nodes (ray) or instance_count on ${fit.device} machines.`;
}
