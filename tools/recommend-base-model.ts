import { z } from 'zod';
import { CATALOGUE_TASKS, CatalogueEntrySchema } from '../src/models/catalogue-schema.js';
import { defineTool } from '../src/server/tool.js';

const entry = CatalogueEntrySchema.shape;
const notMeasured = z.object({ measured: z.literal(false), why: z.string().describe('Why it was not measured and how to measure it.') });

export const recommendBaseModelTool = defineTool({
  name: 'recommend_base_model',
  title: 'Recommend a base model',
  description:
    'Choose a base model before fine-tuning: filters the dated catalogue of open-weight models (Llama, Qwen, Mistral, Gemma, Phi, SmolLM, ' +
    'OLMo, EuroLLM, Teuken; embedding and classification encoders; plus models.catalogue entries of the config) on every hard constraint ' +
    '(task, licence, size, context, languages, hardware memory for LoRA/QLoRA training and serving, budget), then ranks the rest with ' +
    'reasons. Every fact (licence with link, parameters, context, languages, chat template, tokenizer) carries its source URL; a fact ' +
    'not verified is null and fails a constraint that needs it. With dataset_id it measures tokens per example with each candidate\'s own ' +
    'tokenizer (imported models only); with dataset_id and backend it estimates training time and cost as estimate_resources does. ' +
    'Says how many models each constraint excluded and why the top one wins. Reads only. Next: import_model {source: <id>}.',
  input: {
    task: z.enum(CATALOGUE_TASKS).describe('What the model will do: "chat", "instruction", "completion", "preference" (DPO), "embedding" or "classification".'),
    languages: z.array(z.string().min(2).max(3)).optional().describe('ISO 639-1 codes the model must support, each named by its model card, e.g. ["de", "en"].'),
    max_params: z.number().positive().optional().describe('Largest parameter count allowed, e.g. 8e9.'),
    min_context: z.number().int().positive().optional().describe('Smallest context length in tokens, e.g. 8192.'),
    licence: z
      .enum(['commercial', 'research', 'any'])
      .optional()
      .describe('"commercial": the licence must allow commercial use (conditions are listed); "research" or "any": every licence. Default "any".'),
    hardware: z.string().optional().describe('GPUs for training and serving: "<count>x<GB>GB" or a device name, e.g. "1x24GB", "2x80GB", "A100-80GB".'),
    backend: z.string().optional().describe('Training backend for the time and cost estimate (with dataset_id), e.g. "together" or "local".'),
    budget_usd: z.number().positive().optional().describe('Most the training run may cost in USD, checked against the estimate (needs dataset_id and backend), e.g. 50.'),
    dataset_id: z.string().optional().describe('Dataset version whose rows are tokenized by each candidate and priced, e.g. "ds_01hx…".'),
    limit: z.number().int().min(1).max(50).default(5).describe('Candidates to return, best first. Default 5.'),
  },
  output: {
    catalogue: z
      .object({
        as_of: z.string().describe('Date the shipped facts were checked.'),
        entries: z.number().int().describe('Models considered.'),
        from_config: z.array(z.string()).describe('Ids added or replaced by the config section models.catalogue.'),
      })
      .describe('The catalogue used.'),
    constraints: z.record(z.string(), z.unknown()).describe('The hard constraints applied, as understood (hardware parsed).'),
    memory_basis: z.string().describe('How the memory figures were computed and checked against the hardware.'),
    candidates_total: z.number().int().describe('Models that satisfy every constraint.'),
    candidates: z
      .array(
        z.object({
          rank: z.number().int().describe('1 = best.'),
          id: z.string().describe('Hugging Face repo id; import_model takes it as source.'),
          family: z.string().describe('Model family.'),
          score: z.number().describe('Sum of the ranking components in reasons.'),
          reasons: z.array(z.string()).describe('Each ranking component with its points.'),
          facts: z
            .object({
              parameters: entry.parameters,
              context_length: entry.context_length,
              languages: entry.languages,
              licence: entry.licence,
              chat_template: entry.chat_template,
              tokenizer: entry.tokenizer,
              architecture: entry.architecture,
            })
            .describe('The catalogue facts, each with its source URL (null: not verified).'),
          memory: z
            .object({
              training_lora_gb: z.number().describe('LoRA training memory, bfloat16.'),
              training_qlora_gb: z.number().describe('QLoRA training memory (4-bit base).'),
              serving_gb: z.number().describe('Serving memory, bfloat16 weights plus one sequence of KV cache.'),
              assumptions: z.array(z.string()).describe('What the estimate assumed.'),
              fits: z
                .object({
                  training: z.enum(['lora', 'qlora']).nullable().describe('The approach that fits one GPU; null: none.'),
                  serving: z.boolean().describe('Serving fits the GPUs.'),
                  usable_gb_per_gpu: z.number().describe('Memory planned on per GPU (90 %, leaving headroom).'),
                })
                .optional()
                .describe('Against the hardware, when given.'),
            })
            .describe('Memory estimates.'),
          tokens_per_example: z
            .union([
              z.object({
                measured: z.literal(true),
                mean: z.number().describe('Mean tokens per example.'),
                rows: z.number().int().describe('Rows tokenized.'),
                tokenizer: z.string().describe('The tokenizer used.'),
              }),
              notMeasured,
            ])
            .describe('Tokens per example of the dataset with this model\'s own tokenizer.'),
          training_estimate: z
            .object({
              backend: z.string().describe('Backend estimated for.'),
              approach: z.enum(['lora', 'qlora']).describe('Approach estimated.'),
              device: z.string().describe('Device the estimate picked.'),
              seconds: z.number().describe('Estimated training time.'),
              cost_usd: z.number().describe('Estimated cost as the backend quotes it.'),
              tokens: z.number().describe('Training tokens.'),
              formula: z.string().describe('Time and cost formulas.'),
            })
            .nullable()
            .describe('estimate_resources figures for an SFT run of the efficient template; null without dataset_id and backend.'),
          next: z.string().describe('The call that imports it.'),
        }),
      )
      .describe('Ranked candidates, best first.'),
    why_top: z.string().describe('Why the first candidate wins over the second.'),
    excluded: z
      .object({
        total: z.number().int().describe('Models excluded.'),
        by_constraint: z.record(z.string(), z.number().int()).describe('Models each constraint excluded (a model failing two counts under both).'),
        models: z.array(z.object({ id: z.string().describe('Repo id.'), failed: z.array(z.string()).describe('Each failed constraint and why.') })).describe('Every excluded model.'),
      })
      .describe('What the constraints removed.'),
    notes: z.array(z.string()).describe('What was not checked or estimated, and why.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const { recommendBaseModel } = await import('../src/models/recommend.js');
    return recommendBaseModel(services, args);
  },
  summarize: (o) =>
    o.candidates.length
      ? `${o.candidates_total} of ${o.catalogue.entries} catalogue models satisfy every constraint (${o.excluded.total} excluded); best first: ${o.candidates.map((c) => c.id).join(', ')}. ${o.why_top}`
      : `No catalogue model satisfies every constraint (${o.excluded.total} excluded: ${Object.entries(o.excluded.by_constraint).filter(([, n]) => n > 0).map(([c, n]) => `${c} ${n}`).join(', ')}).`,
});
