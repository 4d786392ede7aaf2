import { z } from 'zod';
import { TOOL_GROUPS } from '../src/config.js';
import { FinetuneError } from '../src/errors.js';
import { defineTool } from '../src/server/tool.js';

export const enableToolsTool = defineTool({
  name: 'enable_tools',
  title: 'Serve more tool groups',
  description:
    'Serves the tools of more groups in this session: data (datasets), train (models, jobs), judge (evaluation), ' +
    'ship (registry), admin (the paths beyond the common one). The config tools.groups (env FINETUNE_MCP_TOOL_GROUPS) ' +
    'sets the groups served at the start; server_info lists them. The client is told the tool list changed. Next: call the tools it enabled.',
  input: {
    groups: z
      .array(z.enum([...TOOL_GROUPS, 'all']))
      .min(1)
      .describe('Groups to serve, e.g. ["admin"]; "all" serves every group.'),
  },
  output: {
    enabled: z.array(z.string()).describe('Tools this call added to the served list, e.g. ["export_dataset"].'),
    served_groups: z.array(z.string()).describe('Every group served now, e.g. ["data","train","judge","ship","admin"].'),
    not_served: z.array(z.string()).describe('Tools still not served (their group is not enabled).'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler({ groups }, { toolGroups }) {
    if (!toolGroups) throw new FinetuneError('INTERNAL', 'This server was built without tool groups.');
    const before = new Set(toolGroups.status().not_served);
    const after = toolGroups.enable(groups);
    return { enabled: [...before].filter((name) => !after.not_served.includes(name)), served_groups: after.served, not_served: after.not_served };
  },
  summarize: (o) =>
    `${o.enabled.length ? `Now served: ${o.enabled.join(', ')}` : 'Nothing new to serve'}; groups served: ${o.served_groups.join(', ')}.` +
    (o.not_served.length ? ` Still not served: ${o.not_served.join(', ')}.` : ''),
});
