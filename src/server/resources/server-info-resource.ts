import { defineResource } from '../resource.js';

export const serverPluginsResource = defineResource({
  name: 'plugins',
  title: 'Plugins',
  description: 'Every plugin with its status, capabilities and, when disabled, the reason and fix.',
  uri: 'finetune://plugins',
  read: (services) => ({ plugins: services.plugins.list() }),
});
