import { z } from 'zod';
import { GateSchema, ModelVersionSchema } from '../src/registry/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const promoteModelTool = defineTool({
  name: 'promote_model',
  title: 'Promote a model version',
  description:
    'Points an alias (e.g. "staging", "production") of a model at a registered version, after checking the quality gates of the ' +
    'config (evaluation.gates) against its metrics. Refused with GATE_FAILED when a gate fails, unless force=true with a reason, ' +
    'which is kept in the alias history. Promoting the version the alias already holds changes nothing. Returns the move ' +
    '{alias, from, to, gates}; detail=true adds the whole version record. Undo with rollback_model.',
  input: {
    name: z.string().describe('Model name, e.g. "support-bot".'),
    version: z.string().describe('Version to promote, e.g. "1.1.0".'),
    alias: z.string().default('production').describe('Alias to move, lower-case, e.g. "staging" or "production". Default production.'),
    force: z.boolean().default(false).describe('Promote even when gates fail (needs reason). Default false.'),
    reason: z.string().max(1000).optional().describe('Why; required with force, e.g. "Hotfix approved by on-call".'),
    detail: z.boolean().default(false).describe('Also return the whole version record (lineage, metrics, artifact) as model_version. Default false.'),
  },
  output: {
    name: z.string().describe('Model name, e.g. "support-bot".'),
    alias: z.string().describe('The alias, e.g. "production".'),
    from: z.string().nullable().describe('Version the alias held before, e.g. "1.0.0", or null.'),
    to: z.string().describe('Version the alias points at now, e.g. "1.1.0".'),
    version_id: z.string().describe('Registry id of that version, e.g. "mv_01j…" (get_model_version shows it whole).'),
    changed: z.boolean().describe('False when the alias already pointed at this version.'),
    forced: z.boolean().describe('True when promoted despite failing gates.'),
    gates: z.array(GateSchema).describe('Each gate with its measured value and pass/fail.'),
    model_version: ModelVersionSchema.optional().describe('The whole version record, only with detail: true.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const { registryOf } = await import('../src/registry/index.js');
    const { version, previous, changed, forced, gates } = registryOf(services).promote(args);
    return { name: version.name, alias: args.alias, from: previous, to: version.version, version_id: version.version_id, changed, forced, gates, ...(args.detail ? { model_version: version } : {}) };
  },
  summarize: (o) =>
    o.changed
      ? `${o.alias} of ${o.name} now ${o.to} (was ${o.from ?? 'unset'})${o.forced ? ', forced past failing gates' : ''}.`
      : `${o.alias} already points at ${o.name}@${o.to}; nothing changed.`,
});
