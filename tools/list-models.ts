import { z } from 'zod';
import { ModelRecordShape, recordOutput } from '../src/models/tool-schemas.js';
import { defineTool } from '../src/server/tool.js';

export const listModelsTool = defineTool({
  name: 'list_models',
  title: 'List base models',
  description:
    'Lists the base models imported into this workspace (oldest first) with architecture, parameter count and context ' +
    'length. Use it to find a model_id for generate, configure_training or inspect_model; import_model adds one.',
  input: {},
  output: {
    models: z.array(z.object(ModelRecordShape)).describe('Every imported base model.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(_args, { services }) {
    return { models: services.models.list().map(recordOutput) };
  },
  summarize: (o) =>
    o.models.length
      ? `${o.models.length} model(s): ${o.models.map((m) => `${m.model_id} (${m.name}, ${m.parameters.toLocaleString('en-US')} params)`).join('; ')}.`
      : 'No models yet: call import_model.',
});
