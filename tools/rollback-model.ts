import { z } from 'zod';
import { registryOf } from '../src/registry/index.js';
import { AliasEventSchema, ModelVersionSchema } from '../src/registry/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const rollbackModelTool = defineTool({
  name: 'rollback_model',
  title: 'Roll back a model alias',
  description:
    'Moves an alias (e.g. "production") back to the version it held before the current one (or to to_version) and records why ' +
    'in the alias history. No gates are checked: a rollback restores a version that was live before. ' +
    'Next: get_model_version to see the history.',
  input: {
    name: z.string().describe('Model name, e.g. "support-bot".'),
    alias: z.string().default('production').describe('Alias to move back, e.g. "production". Default production.'),
    reason: z.string().min(1).max(1000).describe('Why, kept in the history, e.g. "Refund answers regressed in prod".'),
    to_version: z.string().optional().describe('Move to this version instead of the previous one, e.g. "1.0.0".'),
  },
  output: {
    from: ModelVersionSchema.describe('Version the alias pointed at.'),
    to: ModelVersionSchema.describe('Version it points at now.'),
    alias_history: z.array(AliasEventSchema).describe('This alias’s history, oldest first, ending with this rollback.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const registry = registryOf(services);
    const { from, to } = registry.rollback(args);
    return { from, to, alias_history: registry.history(args.name, args.alias) };
  },
  summarize: (o) => `${o.to.aliases.join(', ') || 'alias'} of ${o.to.name} rolled back from ${o.from.version} to ${o.to.version}.`,
});
