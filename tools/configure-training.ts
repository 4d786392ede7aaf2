import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';
import { configureTraining, exportConfig } from '../src/training/configure.js';
import { HyperparametersSchema } from '../src/training/config-schema.js';
import { TEMPLATE_NAMES } from '../src/training/templates.js';

export const configureTrainingTool = defineTool({
  name: 'configure_training',
  title: 'Configure a training run',
  description:
    'Creates an immutable training config from a base model, a dataset version, a method (sft, dpo, classification, embedding or auto), an approach ' +
    '(lora, qlora, full), a backend and a template (efficient, quality, smoke) with field-by-field overrides. method "auto" picks ' +
    'DPO for ≥ 20 preference pairs, classification for {text, label} rows, embedding for triplets and (scored) pairs and SFT for ≥ 50 examples, or says what is missing. The request is checked against the ' +
    "backend's declared capabilities (methods, approaches, and the data task types each method trains): an unsupported combination " +
    'or data the backend cannot train with that method is refused with the nearest supported option. Can import a YAML/JSON ' +
    'config (from_file or from_text) and export one (export_path). Returns config_id: call estimate_resources or plan_training next.',
  input: {
    base_model: z.string().optional().describe('Base model id from list_models (e.g. "mdl_01hx…"), or a remote model name such as "gpt-4o-mini-2024-07-18".'),
    dataset_id: z.string().optional().describe('Dataset version id, e.g. "ds_01hx…".'),
    method: z.enum(['sft', 'dpo', 'classification', 'embedding', 'auto']).optional().describe('Training method: "sft", "dpo", "classification" (a head on {text, label} rows), "embedding" (on triplets, pairs or scored pairs; see embedding_loss); "auto" (default) chooses from the data.'),
    approach: z.enum(['lora', 'qlora', 'full']).optional().describe('Adapters (lora, qlora) or all weights (full). Default "lora".'),
    backend: z.string().optional().describe('Backend name from list_backends, e.g. "local". Default "local".'),
    template: z.enum(TEMPLATE_NAMES as [string, ...string[]]).optional().describe('Starting hyperparameters: "efficient" (default), "quality" or "smoke".'),
    overrides: HyperparametersSchema.partial().strict().optional().describe('Hyperparameters that replace the template values, e.g. {"max_steps": 20, "learning_rate": 1e-4}.'),
    backend_options: z.record(z.string(), z.unknown()).optional().describe('Backend-specific options, e.g. {"gpu": "A100-80GB"}.'),
    policy: z.record(z.string(), z.unknown()).optional().describe('Budgets and watching: {"max_cost_usd": 20, "max_runtime_s": 3600, "webhook_url": "http://…", "auto_resume": true, "guardrails": {"on_nan": "stop", "eval_rising_k": 3}}.'),
    from_file: z.string().optional().describe('Import a config document (YAML or .json) from this path; explicit fields win. E.g. "configs/run.yaml".'),
    from_text: z.string().optional().describe('Import a config document given inline as YAML or JSON text.'),
    export_path: z.string().optional().describe('Also write the stored config as a document here (".json" → JSON, else YAML), e.g. "configs/run.yaml".'),
  },
  output: {
    config_id: z.string().describe('The stored config, e.g. "cfg_01hx…".'),
    base_model: z.string().describe('Base model id or name.'),
    dataset_id: z.string().describe('Dataset version id.'),
    method: z.enum(['sft', 'dpo', 'classification', 'embedding']).describe('The method chosen, e.g. "sft".'),
    method_reason: z.string().describe('Why this method, e.g. "auto: 120 chat examples (≥ 50) → SFT."'),
    approach: z.enum(['lora', 'qlora', 'full']).describe('lora, qlora or full.'),
    backend: z.string().describe('Backend name.'),
    template: z.string().describe('Template the values started from.'),
    hyperparameters: HyperparametersSchema.describe('Every hyperparameter as stored.'),
    policy: z.record(z.string(), z.unknown()).describe('Budgets, guardrails, webhook and auto_resume as stored.'),
    notes: z.array(z.string()).describe('Things worth knowing (truncation, unknown model, …).'),
    document: z.string().describe('The config as a YAML document that from_text accepts back.'),
    export_path: z.string().optional().describe('Where the document was written, when asked.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const { config, method_reason, notes, document_yaml } = await configureTraining(services, args);
    let export_path: string | undefined;
    if (args.export_path) {
      export_path = services.workspace.resolveUserPath(args.export_path, 'export_path');
      services.workspace.writeFile(export_path, exportConfig(config, export_path.endsWith('.json') ? 'json' : 'yaml'));
    }
    return {
      config_id: config.config_id,
      base_model: config.base_model,
      dataset_id: config.dataset_id,
      method: config.method,
      method_reason,
      approach: config.approach,
      backend: config.backend,
      template: config.template,
      hyperparameters: config.hyperparameters,
      policy: config.policy as Record<string, unknown>,
      notes,
      document: document_yaml,
      ...(export_path ? { export_path } : {}),
    };
  },
  summarize: (o) =>
    `Config ${o.config_id}: ${o.method.toUpperCase()} + ${o.approach} of ${o.base_model} on ${o.dataset_id} with backend ${o.backend} (${o.template}). ${o.method_reason}` +
    `${o.notes.length ? ` Notes: ${o.notes.join(' ')}` : ''} Next: plan_training {config_id: "${o.config_id}"}.`,
});
