import { z } from 'zod';
import { CatalogueEntrySchema } from './catalogue-schema.js';

/** The `models` config section: where Hub imports come from, and base models added to the catalogue. */
export const ModelSettingsSchema = z.object({
  hub_url: z
    .string()
    .url()
    .optional()
    .describe('Hugging Face Hub endpoint for import_model (env HF_ENDPOINT), e.g. https://huggingface.co or a mirror. Default https://huggingface.co.'),
  catalogue: z
    .array(CatalogueEntrySchema)
    .default([])
    .describe('Base models recommend_base_model considers besides the shipped catalogue (an entry with a shipped id replaces it); same schema as assets/catalogue/base-models.json.'),
});

export type ModelSettings = z.infer<typeof ModelSettingsSchema>;

export const DEFAULT_HUB_URL = 'https://huggingface.co';
