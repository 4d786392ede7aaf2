import { RESOURCE_MIME_TYPE, registerAppResource } from '@modelcontextprotocol/ext-apps/server';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { PROMPTS } from '../../prompts/index.js';
import { TOOL_GROUP_MEMBERS, TOOLS } from '../../tools/index.js';
import { enableToolsTool } from '../../tools/enable-tools.js';
import { startTrainingTool } from '../../tools/start-training.js';
import type { ToolGroup } from '../config.js';
import type { Services } from '../services.js';
import type { AnyPromptDefinition } from './prompt.js';
import { registerTools } from './register-tools.js';
import { SessionToolGroups, serveToolList, type RegisteredEntry } from './tool-groups.js';
import type { ResourceDefinition } from './resource.js';
import { RESOURCES } from './resources/index.js';
import { MCP_APP_URI, mcpAppHtml } from './ui/mcp-app.js';
import { attachJobSubscriptions } from './resources/jobs-resource.js';
import { LedgerTaskStore, registerStartTrainingTask } from './job-tasks.js';
import type { AnyToolDefinition } from './tool.js';

interface ServerDeps {
  services: Services;
  /** Tools to register instead of the built-in ones (a tool outside every group is always listed). */
  tools?: readonly AnyToolDefinition[];
  /** Tool groups tools/list shows at first; default the config's `tools.groups`. The CLI and the demo list 'all'. */
  toolGroups?: readonly (ToolGroup | 'all')[];
  prompts?: readonly AnyPromptDefinition[];
  resources?: readonly ResourceDefinition[];
}

const INSTRUCTIONS =
  'finetune-mcp runs the life of a fine-tuned model: prepare and validate data, configure and estimate training, ' +
  'start and monitor jobs on local or remote backends, evaluate against the base model, register and promote versions. ' +
  'Start with server_info; the prompt fine_tune_workflow gives the whole recipe. ' +
  'Tools beyond the common path may not be listed at first: server_info names them, enable_tools lists them.';

/** Builds the MCP server from explicit lists of tools, prompts and resources. Does no I/O. */
export function createServer(deps: ServerDeps): McpServer {
  const server = new McpServer(
    { name: 'finetune-mcp', version: deps.services.version },
    {
      capabilities: { logging: {}, resources: { subscribe: true, listChanged: true }, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      instructions: INSTRUCTIONS,
      taskStore: new LedgerTaskStore(deps.services),
    },
  );
  registerToolsByGroup(server, deps);
  for (const prompt of deps.prompts ?? PROMPTS) {
    server.registerPrompt(prompt.name, { title: prompt.title, description: prompt.description, argsSchema: prompt.args }, (args: Record<string, string | undefined>) => ({
      messages: [{ role: 'user' as const, content: { type: 'text' as const, text: prompt.build(args as never, { config: deps.services.config }) } }],
    }));
  }
  for (const resource of deps.resources ?? RESOURCES) registerResource(server, resource, deps.services);
  registerAppResource(server, 'finetune_view', MCP_APP_URI, { title: 'Training and comparison view', description: 'MCP App of monitor_training (live loss curves) and compare_models (metrics side by side).' }, async () => ({
    contents: [{ uri: MCP_APP_URI, mimeType: RESOURCE_MIME_TYPE, text: mcpAppHtml() }],
  }));
  attachJobSubscriptions(server, deps.services);
  return server;
}

/**
 * Registers every tool; tools/list shows those of the session's groups (all of them stay callable by
 * name), with compact output schemas.
 */
function registerToolsByGroup(server: McpServer, deps: ServerDeps): void {
  const registered = new Map<string, RegisteredEntry>();
  const groups = new SessionToolGroups(TOOL_GROUP_MEMBERS, deps.toolGroups ?? deps.services.config.tools.groups, () => server.sendToolListChanged());
  const tools = deps.tools ?? TOOLS;
  const plain = tools.filter((t) => t.name !== 'start_training');
  // A session that starts without every group gets enable_tools, whose description names what is missing.
  const notListed = deps.tools ? '' : groups.describeNotListed();
  if (notListed) plain.splice(1, 0, { ...enableToolsTool, description: `${enableToolsTool.description} Not listed at the start of this session: ${notListed}.` });
  registerTools(server, plain, deps.services, registered, groups);
  // start_training also runs as an MCP task (its task is its job).
  if (tools.some((t) => t.name === 'start_training')) registered.set(startTrainingTool.name, { definition: startTrainingTool, handle: registerStartTrainingTask(server, deps.services) });
  serveToolList(server, registered, groups);
}

function registerResource(server: McpServer, resource: ResourceDefinition, services: Services): void {
  const metadata = { title: resource.title, description: resource.description, mimeType: 'application/json' };
  const asContents = (uri: URL, value: unknown) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] });
  if (!resource.uri.includes('{')) {
    server.registerResource(resource.name, resource.uri, metadata, async (uri) => asContents(uri, await resource.read(services, {})));
    return;
  }
  const template = new ResourceTemplate(resource.uri, {
    list: resource.list
      ? async () => ({ resources: (await resource.list!(services)).map((r) => ({ ...r, mimeType: 'application/json' })) })
      : undefined,
  });
  server.registerResource(resource.name, template, metadata, async (uri, variables) => {
    const flat = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
    return asContents(uri, await resource.read(services, flat as Record<string, string>));
  });
}
