import { z } from 'zod';

/** The `models` config section: where Hub imports come from. */
export const ModelSettingsSchema = z.object({
  hub_url: z
    .string()
    .url()
    .optional()
    .describe('Hugging Face Hub endpoint for import_model (env HF_ENDPOINT), e.g. https://huggingface.co or a mirror. Default https://huggingface.co.'),
});

export type ModelSettings = z.infer<typeof ModelSettingsSchema>;

export const DEFAULT_HUB_URL = 'https://huggingface.co';
