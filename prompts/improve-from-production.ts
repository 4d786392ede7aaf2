import { z } from 'zod';
import { markdownPrompt } from '../src/server/prompt.js';
import { gatesList } from './fills.js';

export const improveFromProductionPrompt = markdownPrompt({
  name: 'improve_from_production',
  title: 'Improve a model from production outputs',
  description: 'Judges production outputs, pools the good ones, retrains and promotes only a version that passes the configured gates and beats production (improvement policies).',
  args: {
    model_name: z.string().describe('Registry name of the model in production, e.g. "support-bot".'),
    source: z.string().describe('Where production outputs are: a JSONL path of {input, output} rows, or "phoenix" for Arize Phoenix spans.'),
    rubric: z.string().optional().describe('Judge rubric: helpfulness, correctness, safety, faithfulness or your own text (default helpfulness).'),
    min_score: z.string().optional().describe('Judge score (0–1) a row needs to join the pool, default 0.8.'),
  },
  file: 'improve-from-production.md',
  fills: ['model_name', 'source', 'rubric', 'min_score', 'gates'],
  fill: ({ model_name, source, rubric, min_score }, { config }) => ({ model_name, source, rubric: rubric ?? 'helpfulness', min_score: min_score ?? '0.8', gates: gatesList(config) }),
});
