import { z } from 'zod';

/**
 * The schema of a base-model catalogue entry: the shipped file (assets/catalogue/base-models.json)
 * and the `models.catalogue` config section both follow it. Every fact carries the URL it was read
 * from; a fact nobody verified is null, and recommend_base_model says so instead of guessing.
 */
const source = z.url().describe('Where the fact was read: the Hugging Face model card, config.json or licence text, e.g. "https://huggingface.co/Qwen/Qwen2.5-7B-Instruct".');
const fact = <T extends z.ZodType>(value: T) => z.object({ value, source }).strict().nullable();

export const CATALOGUE_TASKS = ['chat', 'instruction', 'completion', 'preference', 'embedding', 'classification'] as const;

export const CatalogueEntrySchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/, 'an id is a Hugging Face repo id, owner/name')
      .describe('Hugging Face repo id, e.g. "Qwen/Qwen2.5-7B-Instruct" (import_model takes it as source).'),
    family: z.string().min(1).describe('Model family, e.g. "Qwen2.5".'),
    tasks: z.array(z.enum(CATALOGUE_TASKS)).min(1).describe('Tasks the model is a base for, e.g. ["chat", "instruction"].'),
    parameters: fact(z.number().positive()).describe('Parameter count, e.g. {value: 7.61e9, source}.'),
    context_length: fact(z.number().int().positive()).describe('Context length in tokens, e.g. {value: 131072, source}.'),
    languages: fact(
      z
        .object({
          named: z.array(z.string().regex(/^[a-z]{2,3}$/, 'a language is an ISO 639 code such as "de"')).describe('ISO 639 codes the source names, e.g. ["en", "de"].'),
          claim: z.string().min(1).optional().describe('A broader claim the source makes without naming each language, e.g. "over 140 languages".'),
        })
        .strict(),
    ).describe('Languages the source names (and any broader claim).'),
    licence: z
      .object({
        id: z.string().min(1).describe('SPDX id or the Hub licence name, e.g. "Apache-2.0", "llama3.1", "gemma".'),
        name: z.string().min(1).describe('Full name, e.g. "Apache License 2.0".'),
        commercial: z.enum(['yes', 'no', 'conditions']).describe('Commercial use: "yes", "no" or "conditions" (see conditions).'),
        conditions: z.string().min(1).optional().describe('What commercial use is subject to, e.g. a user threshold or a use policy.'),
        url: z.url().describe('The licence text.'),
        source,
      })
      .strict()
      .describe('The licence, from the model card.'),
    chat_template: fact(z.string().min(1)).describe('Chat template family, e.g. "chatml", "llama3"; null for encoders.'),
    tokenizer: fact(z.string().min(1)).describe('Tokenizer kind and vocabulary, e.g. "Llama 3 BPE, 128,256 tokens".'),
    architecture: fact(z.string().min(1)).describe('config.json architectures[0], e.g. "LlamaForCausalLM".'),
    shape: fact(
      z
        .object({
          layers: z.number().int().positive(),
          hidden_size: z.number().int().positive(),
          intermediate_size: z.number().int().positive(),
          vocab_size: z.number().int().positive(),
          heads: z.number().int().positive(),
          kv_heads: z.number().int().positive(),
          tied_embeddings: z.boolean(),
          head_dim: z.number().int().positive().optional(),
        })
        .strict(),
    ).describe('Shape from config.json (for the memory estimate); null when not recorded.'),
  })
  .strict();

export type CatalogueEntry = z.infer<typeof CatalogueEntrySchema>;

/** The shipped file: a date and the entries. */
export const CatalogueFileSchema = z.object({ as_of: z.iso.date(), about: z.string(), models: z.array(CatalogueEntrySchema).min(1) }).strict();
