import { z } from 'zod';
import { AliasEventSchema, GateSchema, ModelVersionSchema } from '../src/registry/schemas.js';
import { defineTool } from '../src/server/tool.js';

export const getModelVersionTool = defineTool({
  name: 'get_model_version',
  title: 'Get a model version',
  description:
    'Reads one registered version (by version_id, or name + version, or name + alias such as "production") with its lineage, ' +
    'metrics, the quality gates evaluated on those metrics now, and the history of every alias of that model. ' +
    'Next: promote_model, rollback_model or model_card.',
  input: {
    version_id: z.string().optional().describe('Registry id, e.g. "mv_01j…".'),
    name: z.string().optional().describe('Model name, e.g. "support-bot".'),
    version: z.string().optional().describe('Semantic version with name, e.g. "1.0.0".'),
    alias: z.string().optional().describe('Or an alias with name, e.g. "production".'),
  },
  output: {
    model_version: ModelVersionSchema.describe('The version.'),
    gates: z.array(GateSchema).describe('Quality gates (config evaluation.gates) checked against its metrics.'),
    alias_history: z.array(AliasEventSchema).describe("Every promote and rollback of this model's aliases, oldest first."),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const { registryOf } = await import('../src/registry/index.js');
    const registry = registryOf(services);
    const model_version = registry.get(args);
    return { model_version, gates: registry.gates(model_version), alias_history: registry.history(model_version.name) };
  },
  summarize: ({ model_version: v, gates }) =>
    `${v.name}@${v.version} (${v.version_id})${v.aliases.length ? ` aliases ${v.aliases.join(', ')}` : ''}; gates ${gates.filter((g) => g.passed).length}/${gates.length} pass.`,
});
