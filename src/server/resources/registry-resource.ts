import { defineResource } from '../resource.js';

/** One registered model version with its gates, alias history and Markdown card. */
export const modelVersionResource = defineResource({
  name: 'model_version',
  title: 'Model version',
  description: 'A registered model version as JSON: lineage, metrics, aliases, quality gates, alias history and its Markdown model card.',
  uri: 'finetune://registry/{name}/{version}',
  list: async (services) => (await import('../../registry/index.js')).registryOf(services).list().map((v) => ({ uri: `finetune://registry/${v.name}/${v.version}`, name: `${v.name}@${v.version}${v.aliases.length ? ` [${v.aliases.join(', ')}]` : ''}` })),
  read: async (services, { name, version }) => {
    const [{ modelCardFor }, { registryOf }] = await Promise.all([import('../../registry/card-service.js'), import('../../registry/index.js')]);
    const registry = registryOf(services);
    const model_version = registry.get({ name, version });
    return { model_version, gates: registry.gates(model_version), alias_history: registry.history(name), card: modelCardFor(services, { name, version }).markdown };
  },
});
