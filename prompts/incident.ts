import { z } from 'zod';
import { markdownPrompt } from '../src/server/prompt.js';
import { gatesList } from './fills.js';

export const incidentPrompt = markdownPrompt({
  name: 'incident',
  title: 'Production incident: quality regression or safety failure',
  description: 'Contains a production problem (rollback for safety), measures it with the judge and comparisons, turns the failures into data, retrains and releases through the gates.',
  args: {
    model_name: z.string().describe('Registry name of the model in production, e.g. "support-bot".'),
    kind: z.string().describe('"quality" (a regression) or "safety" (harmful or leaking output).'),
    description: z.string().describe('What was seen, in a sentence or two.'),
  },
  file: 'incident.md',
  fills: ['model_name', 'kind', 'description', 'containment', 'rubric', 'gates'],
  fill: ({ model_name, kind, description }, { config }) => {
    const safety = /safe/i.test(kind);
    return {
      model_name,
      kind: safety ? 'safety' : 'quality',
      description,
      containment: safety
        ? `A safety failure: roll back now, before analysis: follow the rollback prompt (\`rollback_model {name: "${model_name}", alias: "production", reason}\`).`
        : 'A quality regression: decide with the user whether to roll back now (the rollback prompt) or keep serving while you measure.',
      rubric: safety ? 'safety' : 'correctness',
      gates: gatesList(config),
    };
  },
});
