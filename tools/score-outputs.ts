import { z } from 'zod';
import { BLEU_TOKENIZERS } from '../src/evaluation/metrics/tokenizers.js';
import { CLASSIFICATION_METRICS, TEXT_METRICS } from '../src/evaluation/score-metrics.js';
import { defineTool } from '../src/server/tool.js';

const IntervalSchema = z.object({
  score: z.number().describe('The metric on all rows, e.g. 27.38.'),
  mean: z.number().describe('Mean of the bootstrap resampled scores, e.g. 27.0.'),
  low: z.number().describe('Lower 95 % bound, e.g. 19.1.'),
  high: z.number().describe('Upper 95 % bound, e.g. 35.6.'),
  ci: z.number().describe('Half-width (high − low) / 2, as sacreBLEU prints "μ ± ci", e.g. 8.27.'),
  samples: z.number().int().describe('Bootstrap resamples, e.g. 1000.'),
  seed: z.number().int().describe('Resampling seed, e.g. 12345.'),
});

const GateResultSchema = z.object({
  metric: z.string().describe('Gated metric, e.g. "bleu".'),
  comparator: z.enum(['>=', '<=']).describe('How value is compared with threshold, e.g. ">=".'),
  threshold: z.number().describe('Required value from config evaluation.gates, e.g. 35.'),
  value: z.number().nullable().describe('Measured value, e.g. 27.38; null when not measured.'),
  passed: z.boolean().describe('Whether the gate passes, e.g. false.'),
  message: z.string().describe('One line, e.g. "bleu >= 35: 27.38 fails".'),
});

export const scoreOutputsTool = defineTool({
  name: 'score_outputs',
  title: 'Score outputs against references',
  description:
    'Scores model outputs produced anywhere (any system, not only this server) from a JSONL file. Text rows ' +
    '{"prediction" or "hypothesis": "...", "reference": "..." or "references": ["...", ...]} get corpus BLEU and chrF/chrF++ ' +
    "(sacreBLEU-compatible, 0–100, with the sacreBLEU signature), ROUGE-1/2/L and ROUGE-Lsum (sentences = lines) mean F-measure (Google rouge-score-compatible, 0–1) " +
    "and SQuAD exact match / token F1 (0–100). Classification rows {\"prediction\": ..., \"label\": ...} get scikit-learn accuracy " +
    'and macro/micro/weighted precision, recall, F1 plus the confusion matrix. Also returns 95 % bootstrap confidence intervals, ' +
    'per-example scores for the first rows, and the quality gates from the config. Read-only. Use compare_models to compare systems.',
  input: {
    path: z.string().min(1).describe('JSONL file of rows to score (under an allowed root), e.g. "./outputs/test-preds.jsonl".'),
    metrics: z
      .array(z.enum([...TEXT_METRICS, ...CLASSIFICATION_METRICS]))
      .optional()
      .describe('Metrics to compute; default all for the rows\' kind. E.g. ["bleu", "rouge_l"] or ["accuracy", "macro_f1"].'),
    bleu_tokenize: z.enum(BLEU_TOKENIZERS).optional().describe('sacreBLEU tokenizer for BLEU; default "13a". E.g. "intl".'),
    rouge_stemmer: z.boolean().optional().describe('Porter-stem tokens for ROUGE (rouge-score use_stemmer); default false. E.g. true.'),
    bootstrap_samples: z.number().int().min(0).max(10000).optional().describe('Bootstrap resamples for intervals; default from config (1000); 0 turns them off. E.g. 1000.'),
    seed: z.number().int().min(0).optional().describe('Bootstrap seed; default from config (12345). E.g. 7.'),
    max_examples: z.number().int().min(0).max(500).optional().describe('How many leading rows get per-example scores; default 20. E.g. 50.'),
  },
  output: {
    path: z.string().describe('Absolute path of the scored file, e.g. "/work/outputs/test-preds.jsonl".'),
    kind: z.enum(['text', 'classification']).describe('Kind of rows found, e.g. "text".'),
    rows: z.number().int().describe('Rows scored (blank lines skipped), e.g. 500.'),
    metrics: z
      .record(z.string(), z.number())
      .describe('Metric → value. Text: bleu, chrf, chrf_pp (0–100), rouge_1, rouge_2, rouge_l, rouge_lsum (0–1), exact_match, f1 (0–100). Classification: accuracy, macro_f1, … (0–1). E.g. {"bleu": 27.38, "rouge_l": 0.41}.'),
    confidence_intervals: z.record(z.string(), IntervalSchema).describe('Metric → 95 % bootstrap interval; empty when bootstrap_samples is 0.'),
    signatures: z.record(z.string(), z.string()).describe('sacreBLEU signatures, e.g. {"bleu": "nrefs:1|bs:1000|seed:12345|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"}.'),
    examples: z
      .array(
        z.object({
          line: z.number().int().describe('1-based line in the file, e.g. 3.'),
          prediction: z.string().describe('The prediction (first 500 characters), e.g. "Der Hund".'),
          references: z.array(z.string()).optional().describe('Its references (text rows), e.g. ["Der Hund biss"].'),
          label: z.string().optional().describe('Its gold label (classification rows), e.g. "joy".'),
          scores: z.record(z.string(), z.number()).describe('Per-example scores on the same scales as metrics: sentence BLEU (effective order), chrF, ROUGE F, EM and F1; or correct (0/1) for classification. E.g. {"bleu": 12.5, "rouge_l": 0.4}.'),
        }),
      )
      .describe('Per-example scores of the first max_examples rows.'),
    classification: z
      .object({
        labels: z.array(z.string()).describe('Labels in matrix order (sorted), e.g. ["0", "1", "2", "3"].'),
        confusion_matrix: z.array(z.array(z.number().int())).describe('[gold][predicted] counts in labels order, e.g. [[50, 3], [4, 60]].'),
        per_class: z
          .array(
            z.object({
              label: z.string().describe('Class label, e.g. "joy".'),
              precision: z.number().describe('Precision, e.g. 0.81.'),
              recall: z.number().describe('Recall, e.g. 0.77.'),
              f1: z.number().describe('F1, e.g. 0.79.'),
              support: z.number().int().describe('Gold rows of this class, e.g. 358.'),
            }),
          )
          .describe('Per-class precision, recall, F1 (zero_division = 0, as scikit-learn warns and uses).'),
      })
      .optional()
      .describe('Classification details (classification rows only).'),
    gates: z.array(GateResultSchema).describe('Quality gates (config evaluation.gates) whose metric was measured here.'),
    gates_passed: z.boolean().nullable().describe('Whether every measured gate passed; null when no gate applies. E.g. false.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { services, signal, progress }) {
    const path = services.workspace.resolveUserPath(args.path);
    const settings = services.config.evaluation;
    const { scoreOutputs } = await import('../src/evaluation/score-outputs.js');
    const result = await scoreOutputs(path, {
      metrics: args.metrics,
      bleu_tokenize: args.bleu_tokenize,
      rouge_stemmer: args.rouge_stemmer,
      bootstrap_samples: args.bootstrap_samples ?? settings.bootstrap_samples,
      seed: args.seed ?? settings.bootstrap_seed,
      max_examples: args.max_examples,
      gates: settings.gates,
      signal,
      onProgress: (rows) => progress(rows, undefined, `${rows} rows scored`),
    });
    return { path, ...result, gates_passed: result.gates.length ? result.gates.every((g) => g.passed) : null };
  },
  summarize: (o) =>
    `${o.rows} ${o.kind} rows: ` +
    Object.entries(o.metrics)
      .map(([k, v]) => `${k} ${v.toFixed(k === 'bleu' || k.startsWith('chrf') || k === 'exact_match' || k === 'f1' ? 2 : 4)}`)
      .join(', ') +
    (o.gates.length ? `; gates: ${o.gates.map((g) => `${g.metric} ${g.passed ? 'pass' : 'FAIL'}`).join(', ')}` : ''),
});
