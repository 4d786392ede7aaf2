import { z } from 'zod';
import { markdownPrompt } from '../src/server/prompt.js';
import { callArgs } from './fills.js';

export const chooseBaseModelPrompt = markdownPrompt({
  name: 'choose_base_model',
  title: 'Choose a base model',
  description: 'Picks a base model with recommend_base_model: hard constraints (licence, size, languages, hardware), sourced facts, tokens on your data, a reasoned choice.',
  args: {
    task: z.string().describe('What the model will do: chat, instruction, completion, preference, embedding or classification.'),
    languages: z.string().optional().describe('Comma-separated ISO 639-1 codes the model must support, e.g. "de,en".'),
    licence: z.string().optional().describe('"commercial", "research" or "any" (default any).'),
    hardware: z.string().optional().describe('GPUs for training and serving, e.g. "1x24GB".'),
    dataset_id: z.string().optional().describe('A prepared dataset version to measure tokens on, e.g. "ds_01hx…".'),
  },
  file: 'choose-base-model.md',
  fills: ['task', 'languages_clause', 'recommend_args'],
  fill: ({ task, languages, licence, hardware, dataset_id }) => {
    const codes = languages ? languages.split(',').map((l) => l.trim()).filter(Boolean) : undefined;
    return {
      task,
      languages_clause: codes?.length ? ` in ${codes.join(', ')}` : '',
      recommend_args: callArgs({ task, languages: codes?.length ? codes : undefined, licence, hardware, dataset_id }),
    };
  },
});
