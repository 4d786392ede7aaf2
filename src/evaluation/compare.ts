import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import type { EvalCase } from './cases.js';
import { judgeAgainstBaseline, type JudgedModel } from './judge-cases.js';
import { bootstrapInterval, pairedBootstrap } from './metrics/bootstrap.js';
import type { Judge } from '../plugins/providers.js';
import { lowerIsBetter } from '../registry/metric-direction.js';

/** Text metrics as the comparison needs them; implemented over the metrics area's functions. */
export interface TextScorer {
  /** Corpus-level value of each metric (BLEU and chrF 0–100, ROUGE 0–1, EM/F1 0–100 …). */
  corpus(metric: string, predictions: string[], references: string[]): number;
  /** One value per example, for the examples that changed most. */
  perExample(metric: string, predictions: string[], references: string[]): number[];
  /** Paired bootstrap of candidate − baseline on the same cases: p-value and 95 % interval of the delta. */
  pairedBootstrap(metric: string, baseline: string[], candidate: string[], references: string[]): { p_value: number; ci: [number, number] };
}

export interface ModelOutputs {
  label: string;
  outputs: string[];
  /** Per case [answer NLL, answer tokens] of the reference answer, when the model exposes log-probabilities. */
  likelihood?: number[][];
}

export interface MetricDelta {
  model: string;
  metric: string;
  baseline: number;
  value: number;
  delta: number;
  /** 95 % paired-bootstrap interval of the delta. */
  ci: [number, number];
  p_value: number;
  significant: boolean;
  direction: 'better' | 'worse' | 'same';
}

export interface ChangedExample {
  model: string;
  line: number;
  prompt: string;
  reference: string;
  baseline_output: string;
  model_output: string;
  metric: string;
  baseline_score: number;
  model_score: number;
  delta: number;
}

export interface ComparisonResult {
  baseline: string;
  models: Array<{ model: string; metrics: Record<string, number> }>;
  deltas: MetricDelta[];
  changed_most: ChangedExample[];
  judge: null | { used: string; results: Array<Omit<JudgedModel, 'outcomes'>> };
  verdicts: Array<{ model: string; verdict: 'improved' | 'regressed' | 'no_significant_change'; reasons: string[] }>;
  verdict: 'improved' | 'regressed' | 'no_significant_change';
  /** Per-case judge outcomes per candidate (stored with the comparison, not returned by the tool). */
  judge_outcomes?: Record<string, JudgedModel['outcomes']>;
}

const ALPHA = 0.05;

/** Compares candidates with the baseline on the same cases: metrics, paired significance, judge win-rate, a verdict. */
async function compareOutputs(input: {
  cases: EvalCase[];
  baseline: ModelOutputs;
  candidates: ModelOutputs[];
  scorer?: TextScorer;
  metrics: string[];
  judge?: { judge: Judge; used: string; criteria?: string[] };
  changed_limit?: number;
  signal?: AbortSignal;
  onJudged?: () => Promise<void>;
  bootstrap?: { samples?: number; seed?: number };
}): Promise<ComparisonResult> {
  const references = input.cases.map((c) => c.reference);
  const all = [input.baseline, ...input.candidates];
  const metrics = input.scorer ? input.metrics : [];
  const models = all.map((m) => ({ model: m.label, metrics: Object.fromEntries(metrics.map((k) => [k, input.scorer!.corpus(k, m.outputs, references)])) }));
  const deltas: MetricDelta[] = [];
  const changed: ChangedExample[] = [];
  const withLikelihood = all.every((m) => m.likelihood?.length === input.cases.length);
  if (withLikelihood) {
    all.forEach((m, i) => (models[i].metrics.answer_perplexity = answerPerplexity(Float64Array.from(sum2(m.likelihood!)))));
  }
  for (const [index, candidate] of input.candidates.entries()) {
    if (withLikelihood) {
      // Perplexity of the reference answers, paired over the same cases.
      const r = pairedBootstrap(input.baseline.likelihood!, candidate.likelihood!, answerPerplexity, input.bootstrap);
      const joined = candidate.likelihood!.map((row, i) => [...row, ...input.baseline.likelihood![i]]);
      const ci = bootstrapInterval(joined, (s) => answerPerplexity(s.subarray(0, 2)) - answerPerplexity(s.subarray(2)), input.bootstrap);
      const delta = r.delta;
      deltas.push({ model: candidate.label, metric: 'answer_perplexity', baseline: r.baseline_score, value: r.system_score, delta, ci: [ci.low, ci.high], p_value: r.p_value, significant: r.p_value < ALPHA && delta !== 0, direction: delta === 0 ? 'same' : delta < 0 ? 'better' : 'worse' });
    }
    for (const metric of metrics) {
      const base = models[0].metrics[metric];
      const value = models[index + 1].metrics[metric];
      const { p_value, ci } = input.scorer!.pairedBootstrap(metric, input.baseline.outputs, candidate.outputs, references);
      const delta = value - base;
      const significant = p_value < ALPHA && delta !== 0;
      const improves = lowerIsBetter(metric) ? delta < 0 : delta > 0;
      deltas.push({ model: candidate.label, metric, baseline: base, value, delta, ci, p_value, significant, direction: delta === 0 ? 'same' : improves ? 'better' : 'worse' });
    }
    if (metrics.length) {
      const metric = metrics[0];
      const baseScores = input.scorer!.perExample(metric, input.baseline.outputs, references);
      const candScores = input.scorer!.perExample(metric, candidate.outputs, references);
      input.cases.forEach((c, i) =>
        changed.push({
          model: candidate.label,
          line: c.line,
          prompt: c.prompt,
          reference: c.reference,
          baseline_output: input.baseline.outputs[i],
          model_output: candidate.outputs[i],
          metric,
          baseline_score: baseScores[i],
          model_score: candScores[i],
          delta: candScores[i] - baseScores[i],
        }),
      );
    }
  }
  const changed_most = changed
    .filter((c) => c.delta !== 0)
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || a.line - b.line)
    .slice(0, input.changed_limit ?? 5);

  let judged: JudgedModel[] = [];
  if (input.judge) {
    judged = await judgeAgainstBaseline({
      judge: input.judge.judge,
      cases: input.cases,
      baseline: input.baseline.outputs,
      candidates: input.candidates.map((c) => ({ model: c.label, outputs: c.outputs })),
      criteria: input.judge.criteria,
      signal: input.signal,
      onCase: input.onJudged,
    });
  }
  const verdicts = input.candidates.map((c) => verdictFor(c.label, deltas, judged.find((j) => j.model === c.label)));
  const verdict = verdicts.some((v) => v.verdict === 'regressed') ? 'regressed' : verdicts.some((v) => v.verdict === 'improved') ? 'improved' : 'no_significant_change';
  return {
    baseline: input.baseline.label,
    models,
    deltas,
    changed_most,
    judge: input.judge ? { used: input.judge.used, results: judged.map(({ outcomes: _outcomes, ...rest }) => rest) } : null,
    verdicts,
    verdict,
    ...(input.judge ? { judge_outcomes: Object.fromEntries(judged.map((j) => [j.model, j.outcomes])) } : {}),
  };
}

function answerPerplexity(s: Float64Array): number {
  return s[1] > 0 ? Math.exp(s[0] / s[1]) : Number.NaN;
}

function sum2(rows: number[][]): [number, number] {
  return rows.reduce<[number, number]>((acc, r) => [acc[0] + r[0], acc[1] + r[1]], [0, 0]);
}

function verdictFor(model: string, deltas: MetricDelta[], judged: JudgedModel | undefined): ComparisonResult['verdicts'][number] {
  const mine = deltas.filter((d) => d.model === model && d.significant);
  const worse = mine.filter((d) => d.direction === 'worse').map((d) => `${d.metric} ${fmt(d.delta)} (p=${fmt(d.p_value)})`);
  const better = mine.filter((d) => d.direction === 'better').map((d) => `${d.metric} ${fmt(d.delta)} (p=${fmt(d.p_value)})`);
  if (judged && judged.p_value < ALPHA) {
    const text = `judge win-rate ${fmt(judged.win_rate)} (${judged.wins}-${judged.losses}-${judged.ties}, p=${fmt(judged.p_value)})`;
    if (judged.losses > judged.wins) worse.push(text);
    else if (judged.wins > judged.losses) better.push(text);
  }
  if (worse.length) return { model, verdict: 'regressed', reasons: worse.map((w) => `worse: ${w}`) };
  if (better.length) return { model, verdict: 'improved', reasons: better.map((b) => `better: ${b}`) };
  return { model, verdict: 'no_significant_change', reasons: ['no metric or judge difference is significant at p < 0.05'] };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(3);
}

interface ComparisonRecordInput {
  services: Services;
  cases: EvalCase[];
  dataset_label: string;
  models: ModelOutputs[];
  baseline?: string;
  metrics: string[];
  scorer?: TextScorer;
  judge?: { judge: Judge; used: string; criteria?: string[] };
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => Promise<void>;
  bootstrap?: { samples?: number; seed?: number };
}

/** Runs compareOutputs and stores the result (record + folder with every case) atomically. */
export async function compareAndStore(input: ComparisonRecordInput): Promise<ComparisonResult & { comparison_id: string; cases: number; dir: string }> {
  const baselineLabel = input.baseline ?? input.models[0].label;
  const baseline = input.models.find((m) => m.label === baselineLabel);
  if (!baseline) {
    throw new FinetuneError('INVALID_INPUT', `baseline '${baselineLabel}' is not one of the models (${input.models.map((m) => m.label).join(', ')}).`, { details: { field: 'baseline' } });
  }
  const candidates = input.models.filter((m) => m !== baseline);
  const total = input.judge ? input.cases.length * candidates.length : 1;
  let judgedCount = 0;
  const result = await compareOutputs({
    cases: input.cases,
    baseline,
    candidates,
    scorer: input.scorer,
    metrics: input.metrics,
    judge: input.judge,
    signal: input.signal,
    bootstrap: input.bootstrap,
    onJudged: async () => {
      judgedCount++;
      await input.progress?.(judgedCount, total, `judged ${judgedCount}/${total} pairs (both orders)`);
    },
  });
  const { workspace } = input.services;
  const id = workspace.newId('comparison');
  const dir = workspace.artifactPath('evaluations', id);
  const perCase = input.cases.map((c, i) => ({ line: c.line, prompt: c.prompt, reference: c.reference, outputs: Object.fromEntries(input.models.map((m) => [m.label, m.outputs[i]])) }));
  await workspace.writeDir(dir, (tmp) => {
    workspace.writeFile(`${tmp}/comparison.json`, JSON.stringify(result, null, 2));
    workspace.writeFile(`${tmp}/cases.jsonl`, perCase.map((c) => JSON.stringify(c)).join('\n') + '\n');
  });
  workspace.db
    .prepare('INSERT INTO comparisons (id, models, dataset, result, dir, created_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(id, JSON.stringify(input.models.map((m) => m.label)), input.dataset_label, JSON.stringify(result), dir, new Date().toISOString());
  return { ...result, comparison_id: id, cases: input.cases.length, dir };
}
