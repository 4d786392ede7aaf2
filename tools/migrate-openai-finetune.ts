import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

export const migrateOpenAIFinetuneTool = defineTool({
  name: 'migrate_openai_finetune',
  title: 'Move an OpenAI fine-tune to an open model',
  description:
    'OpenAI stops taking new fine-tuning jobs after 2027-01-06. This re-creates one of its fine-tunes on an open base model: it reads ' +
    'the OpenAI job (method, epochs, beta, seed), downloads its training (and validation) file through the API, prepares them as ' +
    'dataset versions, configures the same method on another backend (local, together, modal), plans it, and starts it when the ' +
    'plan is a go. Returns the new ids and how parity with the OpenAI model is measured. Next: monitor_training {job_id}, then ' +
    'evaluate_model / compare_models on the held-out rows.',
  input: {
    openai_job_id: z.string().describe('The OpenAI fine-tuning job to move, e.g. "ftjob-abc123".'),
    base_model: z.string().describe('Open base model to train: a model id from list_models (e.g. "mdl_01hx…") or a Hugging Face id for remote backends (e.g. "Qwen/Qwen2.5-1.5B-Instruct").'),
    backend: z.string().describe('Backend to train on (not openai), e.g. "local", "together" or "modal".'),
    approach: z.enum(['lora', 'qlora', 'full']).optional().describe('lora (default), qlora or full.'),
    template: z.enum(['efficient', 'quality', 'smoke']).optional().describe('Starting hyperparameters, e.g. "efficient" (default).'),
    backend_options: z.record(z.string(), z.unknown()).optional().describe('Options for the target backend, e.g. {"hf_model": "Qwen/Qwen2.5-1.5B-Instruct"}.'),
    max_cost_usd: z.number().positive().optional().describe('Budget for the plan, e.g. 20.'),
    start: z.boolean().default(true).describe('Start the job when the plan is a go (default true); false stops after planning.'),
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
    dataset_id: z.string().describe('Dataset version made from its training file, e.g. "ds_01hx…".'),
    validation_dataset_id: z.string().nullable().describe('Dataset version made from its validation file, when it had one.'),
    rows: z.number().describe('Rows in the training dataset, e.g. 240.'),
    config_id: z.string().describe('The new training config, e.g. "cfg_01hx…".'),
    plan_id: z.string().describe('Its pre-flight plan, e.g. "plan_01hx…".'),
    verdict: z.enum(['go', 'no_go']).describe('The plan verdict.'),
    reasons: z.array(z.string()).describe('Why go or no-go, with warnings.'),
    job_id: z.string().nullable().describe('The started job, e.g. "job_01hx…", or null when not started.'),
    parity: z
      .object({
        openai_model_uri: z.string().nullable().describe('The OpenAI model to compare against, e.g. "openai:ft:gpt-4o-mini…".'),
        steps: z.array(z.string()).describe('How parity is measured, step by step.'),
      })
      .describe('How to show the open model matches the OpenAI one.'),
    notes: z.array(z.string()).describe('Deprecation notice and anything worth knowing.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, { services }) {
    // The OpenAI SDK and tokenizers load only when a migration runs, not at server start.
    const { migrateOpenAIFinetune } = await import('../plugins/openai/migrate.js');
    return migrateOpenAIFinetune(services, args);
  },
  summarize: (o) =>
    `OpenAI job ${o.openai_job.id} (${o.openai_job.method}, ${o.openai_job.model}) → dataset ${o.dataset_id} (${o.rows} rows), config ${o.config_id}, ` +
    `plan ${o.verdict}${o.job_id ? `, job ${o.job_id} started` : ''}. Parity: ${o.parity.steps.join(' ')}`,
});
