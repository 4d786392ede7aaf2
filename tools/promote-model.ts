import { z } from 'zod';
import { registryOf } from '../src/registry/index.js';
import { GateSchema, ModelVersionSchema } from '../src/registry/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const promoteModelTool = defineTool({
  name: 'promote_model',
  title: 'Promote a model version',
  description:
    'Points an alias (e.g. "staging", "production") of a model at a registered version, after checking the quality gates of the ' +
    'config (evaluation.gates) against its metrics. Refused with GATE_FAILED when a gate fails, unless force=true with a reason, ' +
    'which is kept in the alias history. Promoting the version the alias already holds changes nothing. Undo with rollback_model.',
  input: {
    name: z.string().describe('Model name, e.g. "support-bot".'),
    version: z.string().describe('Version to promote, e.g. "1.1.0".'),
    alias: z.string().default('production').describe('Alias to move, lower-case, e.g. "staging" or "production". Default production.'),
    force: z.boolean().default(false).describe('Promote even when gates fail (needs reason). Default false.'),
    reason: z.string().max(1000).optional().describe('Why; required with force, e.g. "Hotfix approved by on-call".'),
  },
  output: {
    model_version: ModelVersionSchema.describe('The version the alias now points at.'),
    alias: z.string().describe('The alias, e.g. "production".'),
    previous_version: z.string().nullable().describe('Version the alias held before, e.g. "1.0.0", or null.'),
    changed: z.boolean().describe('False when the alias already pointed at this version.'),
    forced: z.boolean().describe('True when promoted despite failing gates.'),
    gates: z.array(GateSchema).describe('Each gate with its measured value and pass/fail.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const result = registryOf(services).promote(args);
    return { model_version: result.version, alias: args.alias, previous_version: result.previous, changed: result.changed, forced: result.forced, gates: result.gates };
  },
  summarize: (o) =>
    o.changed
      ? `${o.alias} of ${o.model_version.name} now ${o.model_version.version} (was ${o.previous_version ?? 'unset'})${o.forced ? ', forced past failing gates' : ''}.`
      : `${o.alias} already points at ${o.model_version.name}@${o.model_version.version}; nothing changed.`,
});
