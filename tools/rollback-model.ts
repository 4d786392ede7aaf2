import { z } from 'zod';
import { AliasEventSchema, ModelVersionSchema } from '../src/registry/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const rollbackModelTool = defineTool({
  name: 'rollback_model',
  title: 'Roll back a model alias',
  description:
    'Moves an alias (e.g. "production") back to the version it held before the current one (or to to_version) and records why ' +
    'in the alias history. No gates are checked: a rollback restores a version that was live before. Returns the move ' +
    '{alias, from, to}; detail=true adds both version records and the alias history. Next: get_model_version to see the history.',
  input: {
    name: z.string().describe('Model name, e.g. "support-bot".'),
    alias: z.string().default('production').describe('Alias to move back, e.g. "production". Default production.'),
    reason: z.string().min(1).max(1000).describe('Why, kept in the history, e.g. "Refund answers regressed in prod".'),
    to_version: z.string().optional().describe('Move to this version instead of the previous one, e.g. "1.0.0".'),
    detail: z.boolean().default(false).describe('Also return both version records and the alias history. Default false.'),
  },
  output: {
    name: z.string().describe('Model name, e.g. "support-bot".'),
    alias: z.string().describe('The alias moved, e.g. "production".'),
    from: z.string().describe('Version the alias pointed at, e.g. "1.2.0".'),
    to: z.string().describe('Version it points at now, e.g. "1.1.0".'),
    version_id: z.string().describe('Registry id of the version it points at now, e.g. "mv_01j…".'),
    reason: z.string().describe('The reason recorded in the history.'),
    from_model_version: ModelVersionSchema.optional().describe('Record of the version the alias pointed at, only with detail: true.'),
    to_model_version: ModelVersionSchema.optional().describe('Record of the version it points at now, only with detail: true.'),
    alias_history: z.array(AliasEventSchema).optional().describe('This alias’s history, oldest first, ending with this rollback; only with detail: true.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const { registryOf } = await import('../src/registry/index.js');
    const registry = registryOf(services);
    const { from, to } = registry.rollback(args);
    const detail = args.detail ? { from_model_version: from, to_model_version: to, alias_history: registry.history(args.name, args.alias) } : {};
    return { name: args.name, alias: args.alias, from: from.version, to: to.version, version_id: to.version_id, reason: args.reason.trim(), ...detail };
  },
  summarize: (o) => `${o.alias} of ${o.name} rolled back from ${o.from} to ${o.to}.`,
});
