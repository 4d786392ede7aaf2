import { z } from 'zod';
import { ModelRecordShape, readableRecords } from '../src/models/tool-schemas.js';
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
    unreadable: z
      .array(
        z.object({
          model_id: z.string().describe('The record\'s id, e.g. "mdl_01jq3v9x2k…".'),
          problem: z.string().describe('Why it cannot be shown, e.g. "parameters: Too big: expected int to be <=9007199254740991".'),
        }),
      )
      .optional()
      .describe('Records that cannot be shown (written before import checked model files); present only when there are some. delete_model removes them.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(_args, { services }) {
    const { models, unreadable } = readableRecords(services.models.list());
    return unreadable.length ? { models, unreadable } : { models };
  },
  summarize: (o) =>
    (o.models.length
      ? `${o.models.length} model(s): ${o.models.map((m) => `${m.model_id} (${m.name}, ${m.parameters.toLocaleString('en-US')} params)`).join('; ')}.`
      : 'No models yet: call import_model.') +
    (o.unreadable?.length ? ` ${o.unreadable.length} record(s) cannot be shown (${o.unreadable.map((u) => u.model_id).join(', ')}): delete_model removes them.` : ''),
});
