import { z } from 'zod';
import { onnxExecutionProviders } from '../src/runtime-info.js';
import { defineTool, type ToolGroupStatus } from '../src/server/tool.js';

const PluginStatusSchema = z.object({
  name: z.string().describe('Plugin name, e.g. "local" or "openai".'),
  version: z.string().describe('Plugin version (semver).'),
  description: z.string().optional().describe('What the plugin does (with detail: true).'),
  source: z.enum(['builtin', 'package']).describe('Built in, or loaded from an npm package named in the config.'),
  status: z.enum(['enabled', 'disabled']).describe('Whether its providers can be used now.'),
  provides: z.array(z.string()).describe('Provider kinds: training_backend, inference, data_source, judge, exporter.'),
  capabilities: z.record(z.string(), z.unknown()).optional().describe('Declared capabilities (methods, approaches, devices…) (with detail: true).'),
  notice: z.string().optional().describe('A deprecation notice the plugin declares, e.g. the date OpenAI stops new fine-tuning jobs.'),
  unavailable: z
    .array(
      z.object({
        kind: z.string().describe('Provider kind it withholds, e.g. "training_backend".'),
        reason: z.string().describe('Why, e.g. "no fine_tuning section in plugins.openai-compatible".'),
        fix: z.string().describe('What to set to enable it.'),
      }),
    )
    .optional()
    .describe('Kinds an enabled plugin declares but cannot provide with this config, each with why and the fix.'),
  code: z.string().optional().describe('Stable code of why it is disabled, e.g. PLUGIN_UNAVAILABLE.'),
  reason: z.string().optional().describe('Why it is disabled.'),
  fix: z.string().optional().describe('How to enable it.'),
});

type PluginStatus = z.infer<typeof PluginStatusSchema>;

/** The compact entry (the default): what an agent needs to pick a plugin; detail adds descriptions and capabilities. */
function compactPlugin({ description: _description, capabilities, ...rest }: PluginStatus): PluginStatus {
  const deprecation = capabilities?.deprecation as { notice?: unknown } | undefined;
  return typeof deprecation?.notice === 'string' ? { ...rest, notice: deprecation.notice } : rest;
}

function describeToolGroups(status: ToolGroupStatus | undefined) {
  const notListed = (status?.groups ?? []).filter((g) => !g.listed).map((g) => ({ group: g.name, tools: g.tools }));
  return {
    listed: status?.listed ?? [],
    not_listed: notListed,
    how_to_enable: notListed.length
      ? `Call enable_tools {"groups": ${JSON.stringify(notListed.map((g) => g.group))}} (or "all"), or call a tool by name; for later sessions set tools.groups in the config or FINETUNE_MCP_TOOL_GROUPS=all.`
      : 'Every group is listed.',
  };
}

export const serverInfoTool = defineTool({
  name: 'server_info',
  title: 'Server information',
  description:
    'Describes this finetune-mcp server: version, workspace folder, the tool groups listed and how to list the others, every plugin with its status ' +
    '(for disabled ones, why and how to fix it; detail: true adds descriptions and capabilities) and the ONNX Runtime execution providers. ' +
    'Call it first to learn what this server can do; then list_backends for training backends.',
  input: {
    detail: z.boolean().default(false).describe("Also return each plugin's description and declared capabilities (methods, devices, models…). Default false: the result stays small."),
  },
  output: {
    name: z.literal('finetune-mcp').describe('Server name.'),
    version: z.string().describe('Server version (semver).'),
    node_version: z.string().describe('Node.js version running the server, e.g. v20.20.2.'),
    workspace: z.string().describe('Absolute path of the workspace root (database and artifacts).'),
    allowed_roots: z.array(z.string()).describe('Folders tools may read and write in this session: the workspace, allowed_roots from the config, and the MCP roots this client sent.'),
    uptime_s: z.number().describe('Seconds since this server process started.'),
    plugins: z.array(PluginStatusSchema).describe('All plugins, enabled and disabled; descriptions and capabilities with detail: true.'),
    tool_groups: z
      .object({
        listed: z.array(z.string()).describe('Groups tools/list shows in this session, e.g. ["data","train","judge","ship"].'),
        not_listed: z
          .array(z.object({ group: z.string().describe('Group name, e.g. "admin".'), tools: z.array(z.string()).describe('Its tools, e.g. ["export_dataset"].') }))
          .describe('Groups not listed now, with their tools (they still run when called by name).'),
        how_to_enable: z.string().describe('How to list more: the enable_tools call, or the config key for later sessions.'),
      })
      .describe('Tool groups (data, train, judge, ship, generate, admin) and which ones this session lists.'),
    onnxruntime: z
      .object({
        available: z.boolean().describe('Whether onnxruntime-node loads here.'),
        version: z.string().optional().describe('ONNX Runtime version.'),
        providers: z.array(z.string()).describe('Execution providers bundled with the installed build (cpu, webgpu, cuda…).'),
        error: z.string().optional().describe('Why it failed to load.'),
      })
      .describe('The ONNX Runtime used by the local runtime and trainer.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services, toolGroups }) {
    return {
      name: 'finetune-mcp' as const,
      version: services.version,
      node_version: process.version,
      workspace: services.workspace.root,
      allowed_roots: [...services.workspace.roots()],
      uptime_s: Math.round((Date.now() - services.started_at.getTime()) / 1000),
      plugins: args.detail ? services.plugins.list() : services.plugins.list().map(compactPlugin),
      tool_groups: describeToolGroups(toolGroups?.status()),
      onnxruntime: await onnxExecutionProviders(),
    };
  },
  summarize: (o) =>
    `finetune-mcp ${o.version}; workspace ${o.workspace}; plugins: ${o.plugins.map((p) => `${p.name} (${p.status})`).join(', ') || 'none'}; ` +
    `ONNX Runtime providers: ${o.onnxruntime.providers.join(', ') || 'unavailable'}.`,
});
