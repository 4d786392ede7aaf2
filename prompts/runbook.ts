import { z } from 'zod';
import { markdownPrompt } from '../src/server/prompt.js';
import { gatesList } from './fills.js';

export const runbookPrompt = markdownPrompt({
  name: 'runbook',
  title: 'Runbook: data to release',
  description: 'The stages from a data file to a released version (validate, prepare, clean, split, train, evaluate, register, promote) with the quality gates this server is configured with.',
  args: {
    data_path: z.string().describe('Path of the dataset file, e.g. ./data/support.jsonl.'),
    model_name: z.string().describe('Registry name of the model being built, e.g. "support-bot".'),
    base_model: z.string().optional().describe('Model id (mdl_…) or Hugging Face repo id of the base; leave out to choose one.'),
  },
  file: 'runbook.md',
  fills: ['data_path', 'model_name', 'base_model_step', 'gates'],
  fill: ({ data_path, model_name, base_model }, { config }) => ({
    data_path,
    model_name,
    base_model_step: base_model
      ? base_model.startsWith('mdl_')
        ? `Base model ${base_model}: \`inspect_model {model_id: "${base_model}"}\` (architecture, context, licence).`
        : `\`import_model {source: "${base_model}"}\`, then \`inspect_model\` on it (architecture, context, licence).`
      : 'No base model given: follow the choose_base_model prompt (`recommend_base_model`), then `import_model` the choice.',
    gates: gatesList(config),
  }),
});
