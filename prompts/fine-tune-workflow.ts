import { z } from 'zod';
import { definePrompt } from '../src/server/prompt.js';

export const fineTuneWorkflowPrompt = definePrompt({
  name: 'fine_tune_workflow',
  title: 'Fine-tune a model end to end',
  description: 'A step-by-step recipe that walks the agent from a data file to a promoted model version with evidence.',
  args: {
    data_path: z.string().describe('Path of the dataset file (JSONL, JSON or CSV), e.g. ./data/support.jsonl.'),
    base_model: z.string().optional().describe('Model id from list_models, or a source for import_model.'),
    goal: z.string().optional().describe('What the fine-tune should achieve, in a sentence.'),
  },
  build: ({ data_path, base_model, goal }) =>
    [
      `Fine-tune ${base_model ? `the model ${base_model}` : 'a base model'} on ${data_path}${goal ? ` so that: ${goal}` : ''}.`,
      'Follow these steps, calling the finetune-mcp tools and stopping to report if a step fails:',
      '1. server_info and list_backends: learn which backends are enabled.',
      `2. validate_dataset {path: "${data_path}"}: fix every error it reports before going on.`,
      '3. prepare_dataset, then clean_dataset (redact_pii when the data may hold personal data), then split_dataset.',
      '4. import_model (or list_models) for the base model.',
      '5. configure_training with method "auto", then plan_training: read the estimate and the verdict.',
      '6. start_training with the plan_id; monitor_training with wait_s until it ends.',
      '7. evaluate_model on the test split, compare_models against the base, and check the quality gates.',
      '8. register_model and promote_model to staging when the gates pass; otherwise explain what failed.',
    ].join('\n'),
});
