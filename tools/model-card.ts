import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

export const modelCardTool = defineTool({
  name: 'model_card',
  title: 'Model card',
  description:
    'Writes a Markdown model card for a registered version from recorded facts only: base model and adapter, training data ' +
    '(dataset version, content hash, rows), training configuration, metrics, quality gates, stored evaluations, release history ' +
    'and limitations (missing lineage, failing gates). Optionally saves it to a file. Use before publishing or promoting.',
  input: {
    name: z.string().describe('Model name, e.g. "support-bot".'),
    version: z.string().optional().describe('Version, e.g. "1.0.0"; or give alias.'),
    alias: z.string().optional().describe('Alias instead of version, e.g. "production".'),
    output_path: z.string().optional().describe('Also save the card here (under an allowed root), e.g. "./MODEL_CARD.md".'),
  },
  output: {
    markdown: z.string().describe('The model card (Markdown).'),
    version_id: z.string().describe('Version the card describes, e.g. "mv_01j…".'),
    path: z.string().nullable().describe('Where it was saved, or null.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const { modelCardFor } = await import('../src/registry/card-service.js');
    return modelCardFor(services, args);
  },
  summarize: (o) => `Model card for ${o.version_id}${o.path ? ` saved to ${o.path}` : ''} (Markdown in "markdown").`,
});
