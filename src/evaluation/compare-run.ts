import { FinetuneError } from '../errors.js';
import type { ToolContext } from '../server/tool.js';
import { compareAndStore, type ModelOutputs } from './compare.js';
import { selectJudge, type JudgeChoice } from './judges/select.js';
import { readOutputsFile } from './outputs-file.js';
import { generateForModels } from './runners/generate-all.js';
import { textScorer, defaultTextMetrics } from './text-scorer.js';
import type { EvalCase } from './cases.js';

interface CompareArgs {
  models?: Array<{ model_id?: string; job_id?: string; adapter_path?: string; version?: string; label?: string }>;
  outputs_path?: string;
  baseline?: string;
  dataset_id?: string;
  path?: string;
  split?: 'train' | 'validation' | 'test';
  max_examples?: number;
  metrics?: string[];
  judge: string;
  criteria?: string[];
  max_new_tokens: number;
}

/** compare_models: gathers the cases and every model's outputs, then compares and stores. */
export async function runComparison(ctx: ToolContext, args: CompareArgs) {
  const { services } = ctx;
  const notes: string[] = [];
  let cases: EvalCase[];
  let models: ModelOutputs[];
  let datasetLabel: string;
  let baseline = args.baseline;
  if (args.outputs_path) {
    const path = services.workspace.resolveUserPath(args.outputs_path, 'outputs_path');
    ({ cases, models } = await readOutputsFile(path, ctx.signal, args.max_examples));
    datasetLabel = path;
  } else if (args.models?.length) {
    const generated = await generateForModels(ctx, args, notes);
    ({ cases, models, datasetLabel } = generated);
    baseline ??= generated.baseline;
  } else {
    throw new FinetuneError('INVALID_INPUT', 'Pass models (with dataset_id or path) to run, or outputs_path with outputs made elsewhere.', { details: { field: 'models' } });
  }
  const judgeChoice = parseJudgeChoice(args.judge);
  const judge = await selectJudge(services, judgeChoice, ctx.sample, ctx.signal);
  if (!judge && judgeChoice === 'auto') notes.push('no judge: the client cannot sample and judge.base_url / judge.api_key are not set in the config');
  const withReferences = cases.every((c) => c.reference !== '');
  const metrics = withReferences ? (args.metrics ?? defaultTextMetrics(cases[0].task)) : [];
  if (!withReferences) notes.push('no text metrics: some cases have no reference answer');
  // Significance needs resamples: a config that turned intervals off (0) still gets sacreBLEU's 1000 here.
  const settings = services.config.evaluation;
  const bootstrap = { samples: settings.bootstrap_samples || 1000, seed: settings.bootstrap_seed };
  const result = await compareAndStore({
    services,
    cases,
    dataset_label: datasetLabel,
    models,
    baseline,
    metrics,
    scorer: metrics.length ? textScorer(metrics, bootstrap) : undefined,
    bootstrap,
    judge: judge ? { ...judge, criteria: args.criteria } : undefined,
    signal: ctx.signal,
    progress: (done, total, message) => ctx.progress(done, total, message),
  });
  return {
    comparison_id: result.comparison_id,
    dataset: datasetLabel,
    cases: result.cases,
    baseline: result.baseline,
    models: result.models,
    deltas: result.deltas,
    changed_most: result.changed_most,
    judge: result.judge,
    verdicts: result.verdicts,
    verdict: result.verdict,
    notes,
  };
}

function parseJudgeChoice(value: string): JudgeChoice {
  if (['auto', 'none', 'sampling', 'endpoint'].includes(value) || /^plugin:[a-z0-9][a-z0-9-]*$/.test(value)) return value as JudgeChoice;
  throw new FinetuneError('INVALID_INPUT', `judge '${value}' is not one of auto, none, sampling, endpoint or plugin:<name>.`, { details: { field: 'judge' } });
}
