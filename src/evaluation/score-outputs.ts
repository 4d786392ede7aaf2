/**
 * Scores outputs produced anywhere: a JSONL file of `{prediction | hypothesis, reference |
 * references}` rows (text metrics) or `{prediction, label}` rows (classification metrics),
 * read as a stream. Each row becomes per-example sufficient statistics, so corpus scores,
 * per-example scores and bootstrap intervals all come from one definition, as in sacreBLEU.
 */
import { existsSync, statSync } from 'node:fs';
import { readLines } from '../datasets/line-reader.js';
import { FinetuneError } from '../errors.js';
import { throwIfCancelled } from './abort.js';
import { checkGates, type Gate, type GateResult } from './gates.js';
import { parseRow, rowError, type Row } from './score-outputs-rows.js';
import { Bleu, type BleuTokenizer } from './metrics/bleu.js';
import { bootstrapInterval, bootstrapIntervals, scoreStats, StatsMatrix, type BootstrapInterval, type StatsScorer } from './metrics/bootstrap.js';
import { Chrf } from './metrics/chrf.js';
import { classificationReport, sortedLabels } from './metrics/classification.js';
import { RougeScorer } from './metrics/rouge.js';
import { exactMatch, maxOverReferences, tokenF1 } from './metrics/squad.js';
import { CLASSIFICATION_METRICS, TEXT_METRICS } from './score-metrics.js';


/** score_outputs metric name → rouge-score type. */
const ROUGE_TYPES = { rouge_1: 'rouge1', rouge_2: 'rouge2', rouge_l: 'rougeL', rouge_lsum: 'rougeLsum' } as const;
type ScoreMetric = (typeof TEXT_METRICS)[number] | (typeof CLASSIFICATION_METRICS)[number];

interface ScoreOutputsOptions {
  /** Which metrics; default: every metric of the file's kind. */
  metrics?: readonly string[];
  bleu_tokenize?: BleuTokenizer;
  /** Porter stemming for ROUGE (rouge-score's use_stemmer); default false as rouge-score. */
  rouge_stemmer?: boolean;
  /** Bootstrap resamples for the intervals (0: none). */
  bootstrap_samples?: number;
  seed?: number;
  /** How many rows get per-example scores in the result. */
  max_examples?: number;
  gates?: readonly Gate[];
  signal?: AbortSignal;
  onProgress?: (rows: number) => void | Promise<void>;
}

interface ScoredExample {
  line: number;
  prediction: string;
  references?: string[];
  label?: string;
  scores: Record<string, number>;
}

interface ScoreOutputsResult {
  kind: 'text' | 'classification';
  rows: number;
  metrics: Record<string, number>;
  confidence_intervals: Record<string, BootstrapInterval>;
  signatures: Record<string, string>;
  examples: ScoredExample[];
  classification?: {
    labels: string[];
    confusion_matrix: number[][];
    per_class: Array<{ label: string; precision: number; recall: number; f1: number; support: number }>;
  };
  gates: GateResult[];
}

const MAX_LINE_BYTES = 16 << 20;
const EXAMPLE_TEXT_CHARS = 500;

/** Per-metric: per-example statistics and how a summed vector becomes the corpus score. */
interface MetricTrack {
  stats?: StatsMatrix;
  score: StatsScorer;
}

export async function scoreOutputs(path: string, options: ScoreOutputsOptions = {}): Promise<ScoreOutputsResult> {
  try {
    return await scoreFile(path, options);
  } catch (error) {
    // readLines and the bootstrap stop with the signal's AbortError; the model reads CANCELLED.
    throwIfCancelled(options.signal, 'score_outputs');
    throw error;
  }
}

async function scoreFile(path: string, options: ScoreOutputsOptions): Promise<ScoreOutputsResult> {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new FinetuneError('FILE_ERROR', `path '${path}' is not a readable file.`, { details: { field: 'path', file: path } });
  }
  const maxExamples = options.max_examples ?? 20;
  let kind: Row['kind'] | undefined;
  let firstLine = 0;
  let scorer: TextRowScorer | undefined;
  const gold: Array<string | number> = [];
  const predicted: Array<string | number> = [];
  const examples: ScoredExample[] = [];
  const refCounts = new Set<number>();
  let rows = 0;

  for await (const raw of readLines(path, { maxLineBytes: MAX_LINE_BYTES, signal: options.signal })) {
    if (raw.too_long) throw rowError(path, raw.line, undefined, `is longer than ${MAX_LINE_BYTES >> 20} MiB`);
    const text = raw.bytes.toString('utf8').trim();
    if (!text) continue;
    const row = parseRow(path, raw.line, text);
    if (kind === undefined) {
      kind = row.kind;
      firstLine = row.line;
      if (row.kind === 'text') scorer = new TextRowScorer(selectMetrics(options.metrics, TEXT_METRICS, 'text'), options);
      else selectMetrics(options.metrics, CLASSIFICATION_METRICS, 'classification');
    } else if (row.kind !== kind) {
      throw rowError(path, raw.line, row.kind === 'text' ? 'label' : 'reference', `is a ${row.kind} row but the first row (line ${firstLine}) is a ${kind} row; one file holds one kind`);
    }
    if (row.kind === 'text') {
      refCounts.add(row.references.length);
      const scores = scorer!.add(row.prediction, row.references, examples.length < maxExamples);
      if (scores) examples.push({ line: row.line, prediction: clip(row.prediction), references: row.references.map(clip), scores });
    } else {
      gold.push(row.label);
      predicted.push(row.prediction);
      if (examples.length < maxExamples) {
        examples.push({ line: row.line, prediction: clip(String(row.prediction)), label: String(row.label), scores: { correct: String(row.prediction) === String(row.label) ? 1 : 0 } });
      }
    }
    rows++;
    if (rows % 1000 === 0) {
      options.signal?.throwIfAborted();
      await options.onProgress?.(rows);
    }
  }
  if (rows === 0 || kind === undefined) {
    throw new FinetuneError('DATASET_INVALID', `${path} holds no rows.`, {
      recovery: 'Write one JSON object a line: {"prediction": "...", "reference": "..."} or {"prediction": "...", "label": "..."}.',
      details: { file: path, field: 'path' },
    });
  }
  const result = kind === 'text' ? scorer!.finish(refCounts) : scoreClassification(gold, predicted, options);
  const gates = checkGates(result.metrics, options.gates ?? [], { onlyMeasured: true });
  return { kind, rows, ...result, examples, gates };
}

/** Accumulates the statistics of every text metric row by row; keeps numbers, never the texts. */
class TextRowScorer {
  private readonly tracks = new Map<string, MetricTrack>();
  private readonly bleu: Bleu;
  private readonly sentenceBleu: Bleu;
  private readonly chrf = new Chrf();
  private readonly chrfPP = new Chrf({ word_order: 2 });
  private readonly rouge: RougeScorer | undefined;
  private readonly rougeMetrics: Array<keyof typeof ROUGE_TYPES>;

  constructor(
    metrics: readonly ScoreMetric[],
    private readonly options: ScoreOutputsOptions,
  ) {
    this.bleu = new Bleu({ tokenize: options.bleu_tokenize });
    this.sentenceBleu = new Bleu({ tokenize: options.bleu_tokenize, effective_order: true });
    this.rougeMetrics = metrics.filter((m): m is keyof typeof ROUGE_TYPES => m in ROUGE_TYPES);
    this.rouge = this.rougeMetrics.length
      ? new RougeScorer({ types: this.rougeMetrics.map((m) => ROUGE_TYPES[m]), use_stemmer: options.rouge_stemmer ?? false })
      : undefined;
    const mean = (scale: number): StatsScorer => (s) => (s[1] > 0 ? (scale * s[0]) / s[1] : 0);
    for (const metric of metrics) {
      const score: StatsScorer =
        metric === 'bleu' ? (s) => this.bleu.scoreFromStats(s).score
        : metric === 'chrf' ? (s) => this.chrf.fScore(s)
        : metric === 'chrf_pp' ? (s) => this.chrfPP.fScore(s)
        : metric === 'exact_match' || metric === 'f1' ? mean(100)
        : mean(1);
      this.tracks.set(metric, { score });
    }
  }

  /** Adds one row; returns its per-example scores when asked. */
  add(prediction: string, references: string[], wantScores: boolean): Record<string, number> | undefined {
    const rowStats: Record<string, number[]> = {};
    if (this.tracks.has('bleu')) rowStats.bleu = this.bleu.segmentStats(prediction, references);
    if (this.tracks.has('chrf_pp')) {
      // chrF++'s character statistics are chrF's: extract the n-grams once for both.
      const perReference = this.chrfPP.statsPerReference(prediction, references);
      rowStats.chrf_pp = this.chrfPP.best(perReference);
      if (this.tracks.has('chrf')) rowStats.chrf = this.chrf.best(perReference);
    } else if (this.tracks.has('chrf')) {
      rowStats.chrf = this.chrf.segmentStats(prediction, references);
    }
    if (this.rouge) {
      const r = this.rouge.scoreMulti(references, prediction);
      for (const metric of this.rougeMetrics) rowStats[metric] = [r[ROUGE_TYPES[metric]].fmeasure, 1];
    }
    if (this.tracks.has('exact_match')) rowStats.exact_match = [maxOverReferences(exactMatch, prediction, references), 1];
    if (this.tracks.has('f1')) rowStats.f1 = [maxOverReferences(tokenF1, prediction, references), 1];
    for (const [metric, track] of this.tracks) {
      track.stats ??= new StatsMatrix(rowStats[metric].length);
      track.stats.push(rowStats[metric]);
    }
    if (!wantScores) return undefined;
    const scores: Record<string, number> = {};
    for (const [metric, track] of this.tracks) {
      // Sentence BLEU uses effective order (sacreBLEU's sentence_score advice); the rest score the row's own stats.
      scores[metric] = metric === 'bleu' ? this.sentenceBleu.scoreFromStats(rowStats.bleu).score : track.score(Float64Array.from(rowStats[metric]));
    }
    return scores;
  }

  finish(refCounts: Set<number>): Pick<ScoreOutputsResult, 'metrics' | 'confidence_intervals' | 'signatures'> {
    const metrics: Record<string, number> = {};
    const confidence_intervals: Record<string, BootstrapInterval> = {};
    const samples = this.options.bootstrap_samples ?? 1000;
    const seed = this.options.seed;
    const tracks = [...this.tracks].map(([metric, t]) => ({ metric, stats: t.stats ?? new StatsMatrix(0), score: t.score }));
    if (samples > 0) {
      const intervals = bootstrapIntervals(tracks, { samples, seed, signal: this.options.signal });
      tracks.forEach((t, j) => {
        metrics[t.metric] = intervals[j].score;
        confidence_intervals[t.metric] = intervals[j];
      });
    } else {
      for (const t of tracks) metrics[t.metric] = scoreStats(t.stats, t.score);
    }
    const nrefs = refCounts.size === 1 ? [...refCounts][0] : 'var';
    const extra = samples > 0 ? { bs: samples, seed: seed ?? 12345 } : {};
    const signatures: Record<string, string> = {};
    if (this.tracks.has('bleu')) signatures.bleu = this.bleu.signature(nrefs, extra);
    if (this.tracks.has('chrf')) signatures.chrf = this.chrf.signature(nrefs, extra);
    if (this.tracks.has('chrf_pp')) signatures.chrf_pp = this.chrfPP.signature(nrefs, extra);
    return { metrics, confidence_intervals, signatures };
  }
}

function scoreClassification(
  gold: Array<string | number>,
  predicted: Array<string | number>,
  options: ScoreOutputsOptions,
): Pick<ScoreOutputsResult, 'metrics' | 'confidence_intervals' | 'signatures' | 'classification'> {
  const wanted = selectMetrics(options.metrics, CLASSIFICATION_METRICS, 'classification');
  // Labels compare as text ("1" and 1 are one label); they sort numerically when every value is a number.
  const numeric = [...gold, ...predicted].every((v) => typeof v === 'number');
  const labels = sortedLabels(numeric ? [...gold, ...predicted] : [...gold, ...predicted].map(String)).map(String);
  const report = classificationReport(gold.map(String), predicted.map(String), { labels });
  const all: Record<string, number> = {
    accuracy: report.accuracy,
    macro_f1: report.macro.f1, macro_precision: report.macro.precision, macro_recall: report.macro.recall,
    micro_f1: report.micro.f1, micro_precision: report.micro.precision, micro_recall: report.micro.recall,
    weighted_f1: report.weighted.f1, weighted_precision: report.weighted.precision, weighted_recall: report.weighted.recall,
  };
  const metrics = Object.fromEntries(wanted.map((m) => [m, all[m]]));
  const confidence_intervals: Record<string, BootstrapInterval> = {};
  const samples = options.bootstrap_samples ?? 1000;
  if (samples > 0 && wanted.includes('accuracy')) {
    const correct = new StatsMatrix(2, gold.length);
    gold.forEach((g, i) => correct.push([String(g) === String(predicted[i]) ? 1 : 0, 1]));
    confidence_intervals.accuracy = bootstrapInterval(correct, (s) => (s[1] > 0 ? s[0] / s[1] : 0), { samples, seed: options.seed });
  }
  return {
    metrics,
    confidence_intervals,
    signatures: {},
    classification: {
      labels: report.labels.map(String),
      confusion_matrix: report.confusion_matrix,
      per_class: report.per_class.map((c) => ({ label: String(c.label), precision: c.precision, recall: c.recall, f1: c.f1, support: c.support })),
    },
  };
}

function selectMetrics<T extends string>(requested: readonly string[] | undefined, available: readonly T[], kind: string): T[] {
  if (!requested || requested.length === 0) return [...available];
  const unknown = requested.filter((m) => !(available as readonly string[]).includes(m));
  if (unknown.length) {
    throw new FinetuneError('INVALID_INPUT', `metrics ${unknown.map((m) => `'${m}'`).join(', ')} do not apply to ${kind} rows.`, {
      recovery: `For ${kind} rows choose from: ${available.join(', ')}; or leave metrics out to get them all.`,
      details: { field: 'metrics' },
    });
  }
  return [...new Set(requested)] as T[];
}

function clip(text: string): string {
  return text.length > EXAMPLE_TEXT_CHARS ? `${text.slice(0, EXAMPLE_TEXT_CHARS)}…` : text;
}
