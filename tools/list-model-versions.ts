import { z } from 'zod';
import { ModelVersionSchema } from '../src/registry/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const listModelVersionsTool = defineTool({
  name: 'list_model_versions',
  title: 'List model versions',
  description:
    'Lists registered model versions, newest (by semantic-version precedence) first, with their aliases, metrics and lineage. ' +
    'Filter by name and/or alias (e.g. which version is in production). Next: get_model_version, compare_versions, promote_model.',
  input: {
    name: z.string().optional().describe('Only this model name, e.g. "support-bot".'),
    alias: z.string().optional().describe('Only versions an alias points at, e.g. "production".'),
  },
  output: {
    versions: z.array(ModelVersionSchema).describe('Matching versions, newest first.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const { registryOf } = await import('../src/registry/index.js');
    return { versions: registryOf(services).list(args) };
  },
  summarize: ({ versions }) =>
    versions.length
      ? versions.map((v) => `${v.name}@${v.version}${v.aliases.length ? ` [${v.aliases.join(', ')}]` : ''}`).join('; ')
      : 'No model versions registered yet; call register_model.',
});
