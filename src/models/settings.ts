import { z } from 'zod';
import { CatalogueEntrySchema } from './catalogue-schema.js';

/** The `models` config section: the Hugging Face Hub that imports come from and push_model writes to, and base models added to the catalogue. */
export const ModelSettingsSchema = z.object({
  hub_url: z
    .string()
    .url()
    .optional()
    .describe('Hugging Face Hub endpoint for import_model and push_model (env HF_ENDPOINT), e.g. https://huggingface.co or a mirror. Default https://huggingface.co.'),
  hub_token: z.string().min(1).optional().describe('Hugging Face access token (write access for push_model); the environment\'s HF_TOKEN wins over it.'),
  catalogue: z
    .array(CatalogueEntrySchema)
    .default([])
    .describe('Base models recommend_base_model considers besides the shipped catalogue (an entry with a shipped id replaces it); same schema as assets/catalogue/base-models.json.'),
});

export type ModelSettings = z.infer<typeof ModelSettingsSchema>;

export const DEFAULT_HUB_URL = 'https://huggingface.co';
