import { z } from 'zod';
import { markdownPrompt } from '../src/server/prompt.js';
import { gatesList } from './fills.js';

export const fineTuneWorkflowPrompt = markdownPrompt({
  name: 'fine_tune_workflow',
  title: 'Fine-tune a model end to end',
  description: 'A step-by-step recipe that walks the agent from a data file to a promoted model version with evidence.',
  args: {
    data_path: z.string().describe('Path of the dataset file (JSONL, JSON or CSV), e.g. ./data/support.jsonl.'),
    base_model: z.string().optional().describe('Model id from list_models, or a source for import_model.'),
    goal: z.string().optional().describe('What the fine-tune should achieve, in a sentence.'),
  },
  file: 'fine-tune-workflow.md',
  fills: ['model_clause', 'data_path', 'goal_clause', 'gates'],
  fill: ({ data_path, base_model, goal }, { config }) => ({
    model_clause: base_model ? `the model ${base_model}` : 'a base model',
    data_path,
    goal_clause: goal ? ` so that: ${goal}` : '',
    gates: gatesList(config),
  }),
});
