import { z } from 'zod';
import { ModelVersionSchema } from '../src/registry/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const registerModelTool = defineTool({
  name: 'register_model',
  title: 'Register a model version',
  description:
    'Registers a fine-tuned model as an immutable version (name + semantic version) in the model registry, from a succeeded ' +
    "training job's output or a PEFT adapter folder. The registry keeps its own copy of the weights and the lineage: base model, " +
    'dataset version and its content hash, training config, job, metrics and evaluation ids (lineage.missing lists what could not be ' +
    'recorded). Versions never change; register a higher version instead. Next: model_card, compare_versions, promote_model.',
  input: {
    name: z.string().describe('Model name, letters/digits/._-, e.g. "support-bot".'),
    version: z.string().describe('Semantic version, unique per name, e.g. "1.0.0" or "1.1.0-rc.1".'),
    job_id: z.string().optional().describe('Succeeded training job whose output adapter to register, e.g. "job_01j…".'),
    adapter_path: z.string().optional().describe('Or a PEFT adapter folder (adapter_config.json + adapter_model.safetensors), e.g. "./out/adapter".'),
    base_model: z.string().optional().describe('Base model id or name when neither the job nor the adapter config names it, e.g. "mdl_01j…".'),
    dataset_id: z.string().optional().describe('Dataset version trained on, when not taken from the job, e.g. "ds_01j…".'),
    evaluation_ids: z.array(z.string()).optional().describe('Evaluations whose metrics to record with the version, e.g. ["eval_01j…"].'),
    comparison_id: z.string().optional().describe('A compare_models run (this model vs its base, with a judge) whose win-rate to record as win_rate, e.g. "cmp_01j…".'),
    human_eval_id: z.string().optional().describe('A human review (record_human_eval done) whose verdicts to record as human_win_rate and human_win_rate_<criterion>, e.g. "he_01j…".'),
    metrics: z.record(z.string(), z.number()).optional().describe('Extra metrics measured elsewhere, e.g. {"win_rate": 0.7}.'),
    description: z.string().max(2000).optional().describe('What changed in this version, e.g. "More refund examples".'),
  },
  output: { model_version: ModelVersionSchema.describe('The registered version.') },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const { registryOf } = await import('../src/registry/index.js');
    return { model_version: await registryOf(services).register(args) };
  },
  summarize: ({ model_version: v }) =>
    `Registered ${v.name}@${v.version} (${v.version_id}).` +
    (v.lineage.missing.length ? ` Lineage missing: ${v.lineage.missing.join(', ')}.` : ' Lineage complete.') +
    ' Next: promote_model or model_card.',
});
