import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

const ParityRowsSchema = z.object({
  dataset_id: z.string().describe('Dataset version of the rows, e.g. "ds_01hx…".'),
  split: z.enum(['test']).nullable().describe('"test" for a test split of the training file; null for the whole validation file.'),
  rows: z.number().describe('Held-out rows, e.g. 6.'),
  source: z.enum(['openai_validation_file', 'test_split']).describe('The OpenAI job\'s validation file (neither model trained on it) or a test split of its training file.'),
  seen_by_openai: z.boolean().describe('True when the OpenAI model trained on these rows (its job had no validation file): its scores are then an upper bound.'),
});

export const migrateOpenAIFinetuneTool = defineTool({
  name: 'migrate_openai_finetune',
  title: 'Move an OpenAI fine-tune to an open model',
  description:
    'OpenAI stops taking new fine-tuning jobs after 2027-01-06. This re-creates one of its fine-tunes on an open base model: it reads ' +
    'the OpenAI job (method, epochs, beta, seed), downloads its training (and validation) file through the API, prepares them as ' +
    'dataset versions, configures the same method on another backend (local, together, modal), plans it, and starts it when the ' +
    'plan is a go. Rows are held out for parity: the job\'s validation file, else a test split of the training file (test_ratio, default ' +
    '10 %; the new model trains on the rest). The OpenAI model is scored on them now (exact_match, f1, rouge_l, chrf; one chat ' +
    'completion a row, up to parity_rows), and parity.compare_models holds the arguments that score both models on the same rows ' +
    'with the same metrics. Next: monitor_training {job_id}; when it succeeded, compare_models with parity.compare_models.',
  input: {
    openai_job_id: z.string().describe('The OpenAI fine-tuning job to move, e.g. "ftjob-abc123".'),
    base_model: z.string().describe('Open base model to train: a model id from list_models (e.g. "mdl_01hx…") or a Hugging Face id for remote backends (e.g. "Qwen/Qwen2.5-1.5B-Instruct").'),
    backend: z.string().describe('Backend to train on (not openai), e.g. "local", "together" or "modal".'),
    approach: z.enum(['lora', 'qlora', 'full']).optional().describe('lora (default), qlora or full.'),
    template: z.enum(['efficient', 'quality', 'smoke']).optional().describe('Starting hyperparameters, e.g. "efficient" (default).'),
    backend_options: z.record(z.string(), z.unknown()).optional().describe('Options for the target backend, e.g. {"hf_model": "Qwen/Qwen2.5-1.5B-Instruct"}.'),
    max_cost_usd: z.number().positive().optional().describe('Budget for the plan, e.g. 20.'),
    start: z.boolean().default(true).describe('Start the job when the plan is a go (default true); false stops after planning.'),
    test_ratio: z.number().min(0).max(0.5).default(0.1).describe('Share of the training file held out as a test split when the OpenAI job had no validation file, e.g. 0.1 (default); 0 trains on every row and leaves no parity rows.'),
    measure_openai: z.boolean().default(true).describe('Score the OpenAI fine-tuned model on the held-out rows now (default true; calls its chat completions).'),
    parity_rows: z.number().int().min(1).max(10000).default(100).describe('Score at most this many held-out rows, e.g. 100 (default).'),
  },
  output: {
    openai_job: z
      .object({
        id: z.string().describe('OpenAI job id, e.g. "ftjob-abc123".'),
        status: z.string().describe('Its status at OpenAI, e.g. "succeeded".'),
        model: z.string().describe('Its base model, e.g. "gpt-4o-mini-2024-07-18".'),
        fine_tuned_model: z.string().nullable().describe('The OpenAI fine-tuned model, e.g. "ft:gpt-4o-mini-2024-07-18:org::abc".'),
        method: z.enum(['sft', 'dpo']).describe('Method it used, as ours.'),
        n_epochs: z.number().nullable().describe('Epochs it ran, e.g. 3.'),
        beta: z.number().nullable().describe('DPO beta, when DPO.'),
      })
      .describe('The OpenAI job that is being moved.'),
    dataset_id: z.string().describe('Dataset version the new model trains on: the training file, split into train/test when rows were held out from it, e.g. "ds_01hx…".'),
    validation_dataset_id: z.string().nullable().describe('Dataset version made from its validation file, when it had one.'),
    rows: z.number().describe('Rows in the OpenAI training file, e.g. 240.'),
    train_rows: z.number().describe('Rows the new model trains on (the training file less the held-out test split), e.g. 216.'),
    config_id: z.string().describe('The new training config, e.g. "cfg_01hx…".'),
    plan_id: z.string().describe('Its pre-flight plan, e.g. "plan_01hx…".'),
    verdict: z.enum(['go', 'no_go']).describe('The plan verdict.'),
    reasons: z.array(z.string()).describe('Why go or no-go, with warnings.'),
    job_id: z.string().nullable().describe('The started job, e.g. "job_01hx…", or null when not started.'),
    parity: z
      .object({
        held_out: ParityRowsSchema.nullable().describe('The rows parity is measured on, or null when none were held out.'),
        metrics: z.array(z.string()).describe('Metrics both models are scored with, e.g. ["exact_match","f1","rouge_l","chrf"].'),
        max_new_tokens: z.number().describe('Generation length for both models, e.g. 256.'),
        openai: z
          .object({
            model: z.string().describe('The OpenAI model scored, e.g. "openai:ft:gpt-4o-mini:org::abc".'),
            evaluation_id: z.string().describe('Its stored evaluation, e.g. "eval_01hx…".'),
            examples: z.number().describe('Rows scored, e.g. 6.'),
            metrics: z.record(z.string(), z.number()).describe('Its scores, e.g. {"exact_match": 50, "f1": 71.2, "rouge_l": 0.62, "chrf": 58.1}.'),
          })
          .nullable()
          .describe('The OpenAI model on the held-out rows, measured now; null when not measured (see notes).'),
        compare_models: z
          .record(z.string(), z.unknown())
          .nullable()
          .describe('Arguments for compare_models once the job succeeded: both models, baseline "openai", the same rows, metrics and length.'),
        notes: z.array(z.string()).describe('What limits the comparison, e.g. that OpenAI trained on the test rows.'),
      })
      .describe('Parity with the OpenAI model, as numbers on the same held-out rows.'),
    notes: z.array(z.string()).describe('Deprecation notice and anything worth knowing.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, ctx) {
    // The OpenAI SDK and tokenizers load only when a migration runs, not at server start.
    const { migrateOpenAIFinetune } = await import('../plugins/openai/migrate.js');
    return migrateOpenAIFinetune(ctx, args);
  },
  summarize: (o) =>
    `OpenAI job ${o.openai_job.id} (${o.openai_job.method}, ${o.openai_job.model}) → dataset ${o.dataset_id} (${o.rows} rows), config ${o.config_id}, ` +
    `plan ${o.verdict}${o.job_id ? `, job ${o.job_id} started` : ''}. Parity rows: ${o.parity.held_out ? `${o.parity.held_out.rows} (${o.parity.held_out.source})` : 'none'}` +
    (o.parity.openai ? `; OpenAI model ${Object.entries(o.parity.openai.metrics).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(', ')}` : '') +
    (o.parity.compare_models ? '; next: compare_models with parity.compare_models when the job succeeded.' : '.'),
});
