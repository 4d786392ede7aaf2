import { z } from 'zod';
import { DEFAULT_SAMPLES } from '../src/evaluation/schemas.js';
import { GateSchema } from '../src/registry/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const evaluateModelTool = defineTool({
  name: 'evaluate_model',
  title: 'Evaluate a model',
  description:
    'Evaluates a model (local base, a job\'s adapter, an adapter folder, a registered version, or a served "<plugin>:<model>", text ' +
    'metrics only) on a dataset version (its test split by default) or a JSONL file of canonical rows; a job or version without either ' +
    'uses the test split it trained on. Likelihood: perplexity = exp(total NLL / predicted ' +
    'tokens) over rows tokenised with BOS and no EOS, mean_token_loss, answer_perplexity (answer tokens only). Text metrics on greedy ' +
    'generations against the references: BLEU and chrF (sacreBLEU, 0–100), ROUGE-1/2/L F (0–1), exact_match and f1 (SQuAD, 0–100); ' +
    'accuracy and macro_f1 for classification (a classifier trained with method classification predicts with its head and also ' +
    'returns the confusion matrix); recall@1/5/10, MRR@10 and nDCG@10 for triplet and pair rows (retrieval of each anchor\'s positive among ' +
    'all positives and negatives by embedding similarity); spearman_cosine and pearson_cosine for scored pairs. Gives 95 % bootstrap intervals, a few samples (texts cut at 200 characters) and the ' +
    'measured quality gates; per-example results are in per_example_path (detail: true returns the first 50 and whole texts); ' +
    'sends progress; stored as evaluation_id. Next: register_model with evaluation_ids, or compare_models against the base.',
  input: {
    model_id: z.string().optional().describe('Base model id, e.g. "mdl_01j…" (optional when job_id or version names it), or a served model "<plugin>:<model>", e.g. "openai:ft:gpt-4o-mini:acme::abc", "together:acct/model-ft".'),
    job_id: z.string().optional().describe("Evaluate this training job's output adapter on its base, e.g. \"job_01j…\"."),
    adapter_path: z.string().optional().describe('Or a PEFT adapter folder to apply to model_id, e.g. "./adapter".'),
    version: z.string().optional().describe('Or a registered version, "name@1.0.0" or "mv_01j…".'),
    dataset_id: z.string().optional().describe('Dataset version to evaluate on (test split by default), e.g. "ds_01j…". Default for a job or version: the test split of its training dataset.'),
    path: z.string().optional().describe('Or a JSONL file of canonical rows, e.g. "./eval.jsonl".'),
    split: z.enum(['train', 'validation', 'test']).optional().describe('Dataset split, e.g. "test".'),
    metrics: z.array(z.string()).optional().describe('Metrics, e.g. ["perplexity","bleu","rouge_l"] or ["recall_at_1","mrr_at_10"] for triplets and pairs; default by task.'),
    max_examples: z.number().int().min(1).max(100000).optional().describe('Evaluate at most this many rows, e.g. 100.'),
    max_new_tokens: z.number().int().min(1).max(4096).default(64).describe('Generation length for text metrics, e.g. 64.'),
    batch_size: z.number().int().min(1).max(256).default(8).describe('Rows per scoring batch, e.g. 8.'),
    samples: z.number().int().min(0).max(50).default(DEFAULT_SAMPLES).describe(`Sample outputs to return, e.g. 5. Default ${DEFAULT_SAMPLES}.`),
    detail: z.boolean().default(false).describe('Also return per_example (first 50 rows) and whole sample texts. Default false: the result stays small.'),
  },
  output: {
    evaluation_id: z.string().describe('Stored evaluation, e.g. "eval_01j…" (register_model takes it).'),
    model: z
      .object({
        label: z.string().describe('Readable name, e.g. "job_01j…" or "stories260K (mdl_…)".'),
        base_model_id: z.string().describe('Base model id, e.g. "mdl_01j…".'),
        adapter_dir: z.string().nullable().describe('Adapter merged for the evaluation, or null for the base.'),
        job_id: z.string().nullable().describe('Job of the adapter, if any.'),
        version_id: z.string().nullable().describe('Registered version, if any.'),
      })
      .describe('What was evaluated.'),
    dataset: z.string().describe('Cases source, e.g. "ds_01j…/test" or a file path.'),
    dataset_hash: z.string().nullable().describe('Content hash of the dataset version, null for files.'),
    task: z.string().describe('Row task type: chat, completion, classification, text, preference, triplet, pair or scored_pair.'),
    examples: z.number().describe('Rows evaluated, e.g. 20.'),
    metrics: z.record(z.string(), z.number()).describe('Metric values, e.g. {"perplexity": 3.3, "bleu": 12.1}.'),
    ci: z.record(z.string(), z.object({ low: z.number().describe('Lower 95 % bound.'), high: z.number().describe('Upper 95 % bound.') })).describe('Bootstrap 95 % intervals per metric.'),
    gates: z.array(GateSchema).describe('Quality gates whose metric was measured here, with pass/fail.'),
    per_example: z
      .array(
        z.object({
          line: z.number().describe('1-based line of the row.'),
          nll: z.number().nullable().describe('Total negative log-likelihood of the row (nats).'),
          tokens: z.number().nullable().describe('Predicted tokens of the row.'),
          prediction: z.string().nullable().describe('Generated answer, when text metrics ran.'),
          reference: z.string().describe('Expected answer ("" for text rows).'),
          scores: z.record(z.string(), z.number()).describe('Per-example metric values, e.g. {"chrf": 41.2}.'),
        }),
      )
      .optional()
      .describe('Per-example results, first 50, only with detail: true (all of them are in per_example_path).'),
    per_example_path: z.string().describe('Every per-example result, one JSON object a line (absolute path).'),
    samples: z.array(z.object({ line: z.number().describe('Row line.'), prompt: z.string().describe('Prompt or text start.'), reference: z.string().describe('Expected answer.'), prediction: z.string().nullable().describe('Generated answer or null.') })).describe('The first `samples` outputs; texts cut at 200 characters ("…") unless detail.'),
    confusion_matrix: z
      .object({
        labels: z.array(z.string()).describe('Label order of rows and columns, e.g. ["fluent","scrambled"].'),
        matrix: z.array(z.array(z.number())).describe('matrix[i][j]: rows of true label i predicted as label j (scikit-learn confusion_matrix), e.g. [[40,3],[2,47]].'),
      })
      .optional()
      .describe('Only for a classifier evaluated with its head.'),
    provider: z.string().describe('What ran the model: the ONNX Runtime execution provider for a local model (e.g. "cpu"), else the inference plugin (e.g. "together").'),
    seconds: z.number().describe('Wall time of the evaluation.'),
  },
  // openWorld: a remote model (openai:…) is called over the network.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, ctx) {
    const { evaluateModel } = await import('../src/evaluation/evaluate.js');
    return evaluateModel(ctx, args);
  },
  summarize: (o) =>
    `${o.evaluation_id}: ${o.model.label} on ${o.dataset} (${o.examples} rows): ` +
    Object.entries(o.metrics).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`).join(', ') +
    (o.gates.length ? `; gates ${o.gates.filter((g) => g.passed).length}/${o.gates.length} pass` : '') +
    majorityNote(o.confusion_matrix, o.metrics.accuracy),
});

/** For a classifier: what always answering the commonest gold label would score, and a warning when the model does no better. */
function majorityNote(confusion: { labels: string[]; matrix: number[][] } | undefined, accuracy: number | undefined): string {
  if (!confusion || accuracy === undefined) return '';
  const gold = confusion.matrix.map((row) => row.reduce((a, b) => a + b, 0));
  const total = gold.reduce((a, b) => a + b, 0);
  if (total === 0) return '';
  const top = gold.indexOf(Math.max(...gold));
  const baseline = gold[top]! / total;
  const note = `; always answering '${confusion.labels[top]}' would score accuracy ${baseline.toPrecision(4)}`;
  return accuracy > baseline ? note : `${note}. The classifier does no better: train longer, set class_weights "balanced", or choose a larger base model (the confusion matrix shows which labels it never predicts).`;
}
