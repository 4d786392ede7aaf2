import { z } from 'zod';
import { TOOL_GROUPS } from '../src/config.js';
import { FinetuneError } from '../src/errors.js';
import { defineTool } from '../src/server/tool.js';

export const enableToolsTool = defineTool({
  name: 'enable_tools',
  title: 'List more tool groups',
  description:
    'Adds the tools of more groups (data, train, judge, ship, generate, improve, deploy, admin) to tools/list in this session; the client is told ' +
    'the list changed. Config tools.groups (env FINETUNE_MCP_TOOL_GROUPS) sets the groups listed at the start. A tool not listed ' +
    'also runs when called by name. Next: call the tools it listed.',
  input: {
    groups: z
      .array(z.enum([...TOOL_GROUPS, 'all']))
      .min(1)
      .describe('Groups to list, e.g. ["admin"]; "all" lists every group.'),
  },
  output: {
    added: z.array(z.string()).describe('Tools this call added to tools/list, e.g. ["export_dataset"].'),
    listed_groups: z.array(z.string()).describe('Every group listed now, e.g. ["data","train","judge","ship","generate","improve","admin"].'),
    not_listed: z.array(z.string()).describe('Tools still not listed (their group is not), e.g. [].'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler({ groups }, { toolGroups }) {
    if (!toolGroups) throw new FinetuneError('INTERNAL', 'This server was built without tool groups.');
    const before = toolGroups.status().not_listed;
    const after = toolGroups.enable(groups);
    return { added: before.filter((name) => !after.not_listed.includes(name)), listed_groups: after.listed, not_listed: after.not_listed };
  },
  summarize: (o) =>
    `${o.added.length ? `Now listed: ${o.added.join(', ')}` : 'Nothing new to list'}; groups listed: ${o.listed_groups.join(', ')}.` +
    (o.not_listed.length ? ` Still not listed: ${o.not_listed.join(', ')}.` : ''),
});
