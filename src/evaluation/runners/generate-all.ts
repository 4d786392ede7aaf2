import { FinetuneError } from '../../errors.js';
import type { ToolContext } from '../../server/tool.js';
import { throwIfCancelled } from '../abort.js';
import { readCases, type EvalCase } from '../cases.js';
import type { ModelOutputs } from '../compare.js';
import { resolveModel, type ModelRefInput } from '../model-ref.js';
import type { ModelRunner } from './model-runner.js';
import { openRunner } from './open.js';

interface GenerateAllArgs {
  models?: ModelRefInput[];
  dataset_id?: string;
  path?: string;
  split?: 'train' | 'validation' | 'test';
  max_examples?: number;
  max_new_tokens: number;
}

/**
 * Runs every model (greedy) on the same cases. A fine-tune is always compared with its base, so
 * a base model is added when the list holds an adapter without its base; that base is the default baseline.
 */
export async function generateForModels(
  ctx: ToolContext,
  args: GenerateAllArgs,
  notes: string[],
): Promise<{ cases: EvalCase[]; models: ModelOutputs[]; datasetLabel: string; baseline: string }> {
  const resolved = (args.models ?? []).map((m, i) => resolveModel(ctx.services, m, `models[${i}].model_id`));
  for (const r of resolved.filter((m) => !m.is_base)) {
    if (!resolved.some((m) => m.is_base && m.base_model_id === r.base_model_id)) {
      const base = resolveModel(ctx.services, { model_id: r.base_model_id });
      resolved.unshift({ ...base, label: `base ${base.label}` });
      notes.push(`added base model ${r.base_model_id} as the baseline of ${r.label}`);
    }
  }
  const labels = resolved.map((r) => r.label);
  const duplicate = labels.find((l, i) => labels.indexOf(l) !== i);
  if (duplicate) throw new FinetuneError('INVALID_INPUT', `Two models share the label '${duplicate}'; give each a label.`, { details: { field: 'models' } });
  if (resolved.length < 2) throw new FinetuneError('INVALID_INPUT', 'compare_models needs two or more models (or one fine-tune, compared with its base).', { details: { field: 'models' } });
  const { cases, label } = await readCases(ctx.services, args, ctx.signal);
  if (cases[0].task === 'text') {
    throw new FinetuneError('INVALID_INPUT', 'Text rows have no prompts to answer; compare on completion, chat or classification rows, or use evaluate_model for perplexity.', {
      details: { field: 'dataset_id' },
    });
  }
  const total = cases.length * resolved.length;
  let done = 0;
  const models: ModelOutputs[] = [];
  const runners: ModelRunner[] = [];
  for (const model of resolved) runners.push(await openRunner(ctx.services, model));
  // Paired likelihoods only when every model has them: a delta against a model without is no delta.
  const allScore = runners.every((r) => r.canScore);
  for (const [i, model] of resolved.entries()) {
    models.push(await runModel(ctx, runners[i], model.label, cases, label, args.max_new_tokens, allScore, async () => ctx.progress(++done, total, `generated ${done}/${total}`)));
  }
  const baseline = resolved.find((r) => r.is_base)?.label ?? resolved[0].label;
  return { cases, models, datasetLabel: label, baseline };
}

export async function runModel(ctx: ToolContext, runner: ModelRunner, modelLabel: string, cases: EvalCase[], file: string, maxTokens: number, score: boolean, tick: () => Promise<void>): Promise<ModelOutputs> {
  const outputs: string[] = [];
  for (const c of cases) {
    throwIfCancelled(ctx.signal, 'Comparison');
    outputs.push(await runner.generate(c, maxTokens, ctx.signal));
    await tick();
  }
  if (!score) return { label: modelLabel, outputs };
  // Providers with token probabilities (the local engine) also give the likelihood of each reference answer, for a paired perplexity delta.
  const likelihood: number[][] = [];
  for (let i = 0; i < cases.length; i += 8) {
    throwIfCancelled(ctx.signal, 'Comparison');
    for (const s of await runner.score(cases.slice(i, i + 8), file, true, ctx.signal)) likelihood.push([s.answer_nll, s.answer_tokens]);
  }
  return { label: modelLabel, outputs, likelihood };
}
