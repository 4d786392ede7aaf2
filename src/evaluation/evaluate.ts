import { FinetuneError } from '../errors.js';
import { EMBEDDING_TASK_TYPES } from '../datasets/types.js';
import { gateCheckerFor } from '../registry/gate-checker.js';
import { registryOf } from '../registry/index.js';
import { lookupDataset, lookupJob } from '../registry/sources.js';
import type { Services } from '../services.js';
import type { GateOutcome } from '../registry/types.js';
import type { ToolContext } from '../server/tool.js';
import { throwIfCancelled } from './abort.js';
import { readCases, type EvalCase } from './cases.js';
import { bootstrapInterval } from './metrics/bootstrap.js';
import { classificationReport, REPORT_METRICS, reportMetrics } from './metrics/classification.js';
import { DEFAULT_SAMPLES } from './schemas.js';
import { resolveModel, type ModelRefInput, type ResolvedModel } from './model-ref.js';
import type { CaseScore } from './runners/model-runner.js';
import { openRunner } from './runners/open.js';
import { TEXT_METRICS, textScorer } from './text-scorer.js';

interface EvaluateArgs extends ModelRefInput {
  dataset_id?: string;
  path?: string;
  split?: 'train' | 'validation' | 'test';
  metrics?: string[];
  max_examples?: number;
  max_new_tokens: number;
  batch_size: number;
  /** Sample outputs to return (texts cut at SAMPLE_CHARS unless detail). */
  samples?: number;
  /** Return per-example results (first 50) and whole sample texts. */
  detail?: boolean;
}

/** How much of each text a sample shows without detail. */
const SAMPLE_CHARS = 200;
const DETAIL_PER_EXAMPLE = 50;

interface PerExample {
  line: number;
  nll: number | null;
  tokens: number | null;
  prediction: string | null;
  reference: string;
  scores: Record<string, number>;
}

export const SCORE_METRICS = ['perplexity', 'mean_token_loss', 'answer_perplexity'] as const;
export const CLASSIFICATION_METRICS = REPORT_METRICS;

/** Metrics by task when none are asked for: likelihood always; text or label metrics when rows carry answers. */
function defaultMetrics(task: string): string[] {
  if (task === 'text') return ['perplexity', 'mean_token_loss'];
  if (task === 'classification') return ['perplexity', 'mean_token_loss', 'accuracy', 'macro_f1'];
  return ['perplexity', 'mean_token_loss', 'answer_perplexity', 'bleu', 'chrf', 'rouge_1', 'rouge_2', 'rouge_l', 'exact_match', 'f1'];
}

/**
 * evaluate_model: scores a model on cases. Perplexity is exp(total NLL / predicted tokens) over rows
 * tokenised with BOS and no EOS (every token after BOS is predicted); answer_perplexity counts only
 * the answer tokens. Text metrics compare greedy generations with the references. Stored as eval_….
 */
export async function evaluateModel(ctx: ToolContext, args: EvaluateArgs) {
  const { services } = ctx;
  const started = performance.now();
  const resolved = resolveModel(services, args);
  const source = args.dataset_id || args.path ? args : { ...args, ...trainedOnTestSplit(services, resolved, args.split) };
  // The provider first: a disabled plugin is refused before any rows are read.
  const runner = await openRunner(services, resolved);
  const { cases, label: datasetLabel, task, dataset_hash } = await readCases(services, source, ctx.signal);
  // A classifier predicts labels with its head; triplets and pairs are scored as retrieval with embeddings, scored pairs by rank correlation.
  const headModel = await runner.head();
  const headData = { classification: 'classification rows {text, label}', embedding: 'triplet or pair rows {anchor, positive[, negative]}, or scored pairs {sentence1, sentence2, score}' } as const;
  const embeddingRows = EMBEDDING_TASK_TYPES.includes(task);
  if (headModel && (headModel.task === 'classification' ? task !== 'classification' : !embeddingRows)) {
    // A head model has no language-model head to score or generate text with: its numbers would mean nothing.
    throw new FinetuneError('INVALID_INPUT', `${resolved.label} is a${headModel.task === 'embedding' ? 'n embedding' : ' classification'} model; ${datasetLabel} holds ${task} rows, which it cannot be scored on.`, {
      recovery: `Evaluate it on ${headData[headModel.task]} (dataset_id or path).`,
      details: { field: args.path ? 'path' : 'dataset_id' },
    });
  }
  if (embeddingRows || headModel?.task === 'classification') {
    const settings = services.config.evaluation;
    const { classifierMetrics, retrievalMetrics, similarityMetrics } = await import('./head-eval.js');
    const head = await (task === 'scored_pair' ? similarityMetrics : embeddingRows ? retrievalMetrics : classifierMetrics)(runner, cases, args.metrics, { samples: settings.bootstrap_samples, seed: settings.bootstrap_seed }, ctx.signal);
    return finish(ctx, args, { resolved, cases, datasetLabel, dataset_hash, task, started, provider: runner.provider }, { values: head.values, ci: head.ci, predictions: head.predictions, perExampleScores: head.per_example, scores: [], metrics: Object.keys(head.values) }, head.confusion_matrix);
  }
  const metrics = args.metrics ?? defaultMetrics(task).filter((m) => runner.canScore || !(SCORE_METRICS as readonly string[]).includes(m));
  validateMetrics(metrics, task);
  if (!runner.canScore && metrics.some((m) => (SCORE_METRICS as readonly string[]).includes(m))) {
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', `${resolved.label} is served by the ${runner.plugin} plugin without token log-probabilities: perplexity and token loss need a local model.`, {
      recovery: 'Ask for text or label metrics (bleu, chrf, rouge_l, exact_match, f1, accuracy), or evaluate a local model.',
      details: { field: 'metrics' },
    });
  }
  if (!metrics.length) throw new FinetuneError('INVALID_INPUT', `No metric applies to ${task} rows on a model without token log-probabilities (${runner.plugin}).`, { details: { field: 'metrics' } });
  const wantsScores = metrics.some((m) => (SCORE_METRICS as readonly string[]).includes(m));
  const wantsGeneration = metrics.some((m) => !(SCORE_METRICS as readonly string[]).includes(m));
  const file = datasetLabel;
  const total = (wantsScores ? cases.length : 0) + (wantsGeneration ? cases.length : 0);
  let done = 0;
  const step = async (n: number, what: string) => {
    done += n;
    await ctx.progress(done, total, what);
  };

  const scores: CaseScore[] = [];
  if (wantsScores) {
    for (let i = 0; i < cases.length; i += args.batch_size) {
      throwIfCancelled(ctx.signal, 'Evaluation');
      const batch = cases.slice(i, i + args.batch_size);
      scores.push(...(await runner.score(batch, file, metrics.includes('answer_perplexity'), ctx.signal)));
      await step(batch.length, `scored ${Math.min(i + batch.length, cases.length)}/${cases.length} rows`);
    }
  }
  const predictions: string[] = [];
  if (wantsGeneration) {
    for (const c of cases) {
      throwIfCancelled(ctx.signal, 'Evaluation');
      predictions.push(await runner.generate(c, args.max_new_tokens, ctx.signal));
      await step(1, `generated ${predictions.length}/${cases.length} answers`);
    }
  }

  const settings = services.config.evaluation;
  const bootstrap = { samples: settings.bootstrap_samples, seed: settings.bootstrap_seed };
  const values: Record<string, number> = {};
  const ci: Record<string, { low: number; high: number }> = {};
  const perExampleScores: Array<Record<string, number>> = cases.map(() => ({}));
  if (wantsScores) likelihoodMetrics(metrics, scores, values, ci, bootstrap);
  if (wantsGeneration) {
    const references = cases.map((c) => c.reference);
    const textMetrics = metrics.filter((m) => (TEXT_METRICS as readonly string[]).includes(m));
    const scorer = textScorer(textMetrics, bootstrap);
    for (const m of textMetrics) {
      values[m] = scorer.corpus(m, predictions, references);
      if (bootstrap.samples > 0) {
        const interval = scorer.interval(m, predictions, references);
        ci[m] = { low: interval.low, high: interval.high };
      }
      scorer.perExample(m, predictions, references).forEach((v, i) => (perExampleScores[i][m] = v));
    }
    if (task === 'classification') Object.assign(values, labelMetrics(metrics, predictions, references));
  }
  return finish(ctx, args, { resolved, cases, datasetLabel, dataset_hash, task, started, provider: runner.provider }, { values, ci, predictions, perExampleScores, scores, metrics });
}

interface Evaluated {
  resolved: ResolvedModel;
  cases: EvalCase[];
  datasetLabel: string;
  dataset_hash: string | null;
  task: string;
  started: number;
  provider: string;
}

/** Gates, samples, per-example rows and the stored record: shared by every kind of evaluation. */
async function finish(
  ctx: ToolContext,
  args: EvaluateArgs,
  run: Evaluated,
  measured: { values: Record<string, number>; ci: Record<string, { low: number; high: number }>; predictions: string[]; perExampleScores: Array<Record<string, number>>; scores: CaseScore[]; metrics: string[] },
  confusion_matrix?: { labels: string[]; matrix: number[][] },
) {
  const { services } = ctx;
  const { resolved, cases, datasetLabel, dataset_hash, task, started } = run;
  const { values, ci, predictions, perExampleScores, scores, metrics } = measured;
  const gates: GateOutcome[] = gateCheckerFor(services)(values).filter((g) => g.value !== null);
  const perExample: PerExample[] = cases.map((c, i) => ({
    line: c.line,
    nll: scores[i]?.nll ?? null,
    tokens: scores[i]?.tokens ?? null,
    prediction: predictions[i] ?? null,
    reference: c.reference,
    scores: perExampleScores[i],
  }));
  const cut = (text: string) => (args.detail || text.length <= SAMPLE_CHARS ? text : `${text.slice(0, SAMPLE_CHARS)}…`);
  const samples = cases.slice(0, args.samples ?? DEFAULT_SAMPLES).map((c, i) => ({
    line: c.line,
    prompt: cut(c.prompt || (c.text ?? '')),
    reference: cut(c.reference),
    prediction: predictions[i] === undefined ? null : cut(predictions[i]),
  }));
  const model = describeModel(resolved);
  const evaluation_id = await store(ctx, { model, datasetLabel, dataset_hash, values, ci, gates, perExample, metrics, ...(confusion_matrix ? { confusion_matrix } : {}) });
  return {
    evaluation_id,
    model,
    dataset: datasetLabel,
    dataset_hash,
    task,
    examples: cases.length,
    metrics: values,
    ci,
    gates,
    ...(args.detail ? { per_example: perExample.slice(0, DETAIL_PER_EXAMPLE) } : {}),
    per_example_path: `${ctx.services.workspace.artifactPath('evaluations', evaluation_id)}/per_example.jsonl`,
    samples,
    ...(confusion_matrix ? { confusion_matrix } : {}),
    provider: run.provider,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * With no dataset_id or path, a job (or a version registered from one) is evaluated on the held-out
 * test split of the dataset version it trained on. Without a test split every row was a training
 * row, so that is refused rather than reported as a flattering score.
 */
function trainedOnTestSplit(services: Services, model: ResolvedModel, split: EvaluateArgs['split']): { dataset_id: string; split: 'train' | 'validation' | 'test' } {
  const datasetId = model.version_id ? registryOf(services).get({ version_id: model.version_id }).lineage.dataset_id : model.job_id ? (lookupJob(services, model.job_id).config?.dataset_id ?? null) : null;
  if (!datasetId) {
    throw new FinetuneError('INVALID_INPUT', `Pass dataset_id (a dataset version) or path (a JSONL file of rows): ${model.job_id || model.version_id ? `${model.label} records no training dataset` : 'a base model or adapter folder knows no dataset of its own'}.`, {
      recovery: 'Call list_datasets and pass the dataset_id of a version with a test split.',
      details: { field: 'dataset_id' },
    });
  }
  const counts = (lookupDataset(services, datasetId).manifest.counts ?? {}) as Record<string, number | undefined>;
  if (!split && !counts.test) {
    throw new FinetuneError('DATASET_INVALID', `${model.label} trained on ${datasetId}, which has no test split: every row is a training row, so scores on it would flatter the model.`, {
      recovery: `Pass dataset_id (or path) of held-out rows, or split: "train" to score the training rows knowingly; split_dataset makes a test split for the next run.`,
      details: { field: 'dataset_id' },
    });
  }
  return { dataset_id: datasetId, split: split ?? 'test' };
}

function validateMetrics(metrics: string[], task: string): void {
  const known = new Set<string>([...SCORE_METRICS, ...TEXT_METRICS, ...CLASSIFICATION_METRICS]);
  for (const m of metrics) {
    if (!known.has(m)) throw new FinetuneError('INVALID_INPUT', `Unknown metric '${m}'; use ${[...known].join(', ')}.`, { details: { field: 'metrics' } });
    if (task === 'text' && !(SCORE_METRICS as readonly string[]).includes(m)) {
      throw new FinetuneError('INVALID_INPUT', `Metric '${m}' needs reference answers, but text rows have none; use perplexity or mean_token_loss.`, { details: { field: 'metrics' } });
    }
    if ((CLASSIFICATION_METRICS as readonly string[]).includes(m) && m !== 'accuracy' && task !== 'classification') {
      throw new FinetuneError('INVALID_INPUT', `Metric '${m}' is for classification rows ({text, label}); these rows are ${task}.`, { details: { field: 'metrics' } });
    }
  }
}

function likelihoodMetrics(metrics: string[], scores: CaseScore[], values: Record<string, number>, ci: Record<string, { low: number; high: number }>, bootstrap: { samples: number; seed: number }): void {
  const all = scores.map((s) => [s.nll, s.tokens]);
  const answers = scores.map((s) => [s.answer_nll, s.answer_tokens]);
  const ppl = (s: Float64Array) => (s[1] > 0 ? Math.exp(s[0] / s[1]) : Number.NaN);
  const loss = (s: Float64Array) => (s[1] > 0 ? s[0] / s[1] : Number.NaN);
  const add = (name: string, stats: number[][], score: (s: Float64Array) => number) => {
    const totals = Float64Array.from([stats.reduce((a, r) => a + r[0], 0), stats.reduce((a, r) => a + r[1], 0)]);
    if (totals[1] === 0) throw new FinetuneError('DATASET_INVALID', `No tokens to score for ${name}: every row is shorter than two tokens.`, { details: { field: 'metrics' } });
    values[name] = score(totals);
    if (bootstrap.samples > 0) {
      const interval = bootstrapInterval(stats, score, bootstrap);
      ci[name] = { low: interval.low, high: interval.high };
    }
  };
  if (metrics.includes('perplexity')) add('perplexity', all, ppl);
  if (metrics.includes('mean_token_loss')) add('mean_token_loss', all, loss);
  if (metrics.includes('answer_perplexity')) add('answer_perplexity', answers, ppl);
}

function labelMetrics(metrics: string[], predictions: string[], references: string[]): Record<string, number> {
  const report = classificationReport(references, predictions, { labels: [...new Set(references)].sort() });
  const out: Record<string, number> = {};
  const table = reportMetrics(report);
  for (const m of metrics) if (m in table) out[m] = table[m as keyof typeof table];
  return out;
}

function describeModel(r: ResolvedModel) {
  return { label: r.label, base_model_id: r.base_model_id, adapter_dir: r.adapter_dir, job_id: r.job_id, version_id: r.version_id };
}

async function store(
  ctx: ToolContext,
  record: {
    model: ReturnType<typeof describeModel>;
    datasetLabel: string;
    dataset_hash: string | null;
    values: Record<string, number>;
    ci: Record<string, unknown>;
    gates: GateOutcome[];
    perExample: PerExample[];
    metrics: string[];
    confusion_matrix?: { labels: string[]; matrix: number[][] };
  },
): Promise<string> {
  const { workspace } = ctx.services;
  const id = workspace.newId('evaluation');
  const dir = workspace.artifactPath('evaluations', id);
  await workspace.writeDir(dir, (tmp) => {
    workspace.writeFile(`${tmp}/per_example.jsonl`, record.perExample.map((e) => JSON.stringify(e)).join('\n') + '\n');
    workspace.writeFile(`${tmp}/summary.json`, JSON.stringify({ model: record.model, dataset: record.datasetLabel, dataset_hash: record.dataset_hash, metrics: record.values, ci: record.ci, gates: record.gates, ...(record.confusion_matrix ? { confusion_matrix: record.confusion_matrix } : {}) }, null, 2));
  });
  workspace.db
    .prepare('INSERT INTO evaluations (id, model, dataset, metrics, ci, gates, examples, dir, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .run(id, JSON.stringify(record.model), record.datasetLabel, JSON.stringify(record.values), JSON.stringify(record.ci), JSON.stringify(record.gates), record.perExample.length, dir, new Date().toISOString());
  return id;
}

