import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { RESOURCE_URI_META_KEY } from '@modelcontextprotocol/ext-apps/server';
import { ElicitResultSchema, type CallToolResult, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { toFinetuneError } from '../errors.js';
import { containsSecret, scrubDeep } from '../observability/secrets.js';
import type { Services } from '../services.js';
import { ClientRoots } from './client-roots.js';
import { textWithStructured, type AnyToolDefinition, type ElicitationAnswer, type ElicitationRequest, type SamplingRequest, type ToolContext, type ToolGroupsControl } from './tool.js';
import type { RegisteredEntry } from './tool-groups.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Registers each tool definition into `registered`; every failure becomes an `isError` result, never a crash.
 * `toolGroups` reaches the tools that show or change which groups this session lists.
 */
export function registerTools(
  server: McpServer,
  tools: readonly AnyToolDefinition[],
  services: Services,
  registered: Map<string, RegisteredEntry>,
  toolGroups?: ToolGroupsControl,
): void {
  const roots = new ClientRoots(server.server, services.logger);
  for (const tool of tools) {
    const handle = server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: { title: tool.title, ...tool.annotations },
        // MCP Apps: `ui.resourceUri`, and the older flat key that hosts written before it still read.
        ...(tool.app ? { _meta: { ui: { resourceUri: tool.app }, [RESOURCE_URI_META_KEY]: tool.app } } : {}),
      },
      (async (args: Record<string, unknown>, extra: Extra) => runTool(server, tool, args, extra, services, toolGroups, roots)) as never,
    );
    registered.set(tool.name, { definition: tool, handle });
  }
}

async function runTool(
  server: McpServer,
  tool: AnyToolDefinition,
  args: Record<string, unknown>,
  extra: Extra,
  services: Services,
  toolGroups: ToolGroupsControl | undefined,
  roots: ClientRoots,
): Promise<CallToolResult> {
  const logger = services.logger.child({ tool: tool.name, request: String(extra.requestId) });
  const images: CallToolResult['content'] = [];
  const progressToken = extra._meta?.progressToken;
  const ctx: ToolContext = {
    services,
    logger,
    signal: extra.signal,
    async progress(done, total, message) {
      if (progressToken === undefined) return;
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: done, total, message } });
    },
    attachImage(data, mimeType = 'image/png') {
      images.push({ type: 'image', data: Buffer.from(data).toString('base64'), mimeType });
    },
    sample: server.server.getClientCapabilities()?.sampling ? (request) => sampleThroughClient(server, request) : undefined,
    elicit: formElicitation(server) ? (request) => elicitThroughClient(server, request, extra) : undefined,
    toolGroups,
  };
  const started = performance.now();
  try {
    // Paths of this call are confined to the workspace's roots plus the folders the client opened (MCP roots).
    const clientRoots = await roots.folders();
    const output = await services.workspace.withClientRoots(clientRoots, () => tool.handler(args, ctx));
    logger.info({ ms: Math.round(performance.now() - started) }, 'tool call done');
    services.metrics.tool_calls.inc({ tool: tool.name, outcome: 'ok' });
    let structured = output;
    let text = textWithStructured(tool.summarize?.(output), output);
    // Upstream text a result carries (a job's error, a remote event) shows no secret; the text holds the whole output.
    if (containsSecret(text)) {
      structured = scrubDeep(output);
      text = textWithStructured(tool.summarize?.(structured), structured);
    }
    return { content: [{ type: 'text', text }, ...images], structuredContent: structured };
  } catch (thrown) {
    const error = toFinetuneError(thrown);
    services.metrics.tool_calls.inc({ tool: tool.name, outcome: 'error' });
    if (error.code === 'INTERNAL') logger.error({ err: thrown }, 'tool failed unexpectedly');
    else logger.info({ code: error.code, message: error.message }, 'tool refused');
    return {
      isError: true,
      content: [{ type: 'text', text: error.toText() }],
      _meta: { code: error.code, retryable: error.retryable, ...(Object.keys(error.details).length ? { details: error.details } : {}) },
    };
  }
}

async function sampleThroughClient(server: McpServer, request: SamplingRequest): Promise<string> {
  const result = await server.server.createMessage({
    messages: request.messages.map((m) => ({ role: m.role, content: { type: 'text', text: m.text } })),
    systemPrompt: request.system,
    maxTokens: request.max_tokens,
  });
  const content = result.content as { type: string; text?: string } | Array<{ type: string; text?: string }>;
  const first = Array.isArray(content) ? content[0] : content;
  return first?.type === 'text' ? (first.text ?? '') : '';
}

/**
 * Whether the client takes form elicitations: it declares `elicitation` with `form`, or an empty
 * `elicitation` object (clients written before the URL mode, which the specification reads as form).
 */
function formElicitation(server: McpServer): boolean {
  const declared = server.server.getClientCapabilities()?.elicitation as { form?: object; url?: object } | undefined;
  if (!declared) return false;
  return declared.form !== undefined || declared.url === undefined;
}

/**
 * Sends `elicitation/create` in form mode (related to the tool call, so a client shows it beside it).
 * The request goes out directly rather than through elicitInput, which refuses clients that declare
 * `elicitation: {}`; the answer is checked against the options here.
 */
async function elicitThroughClient(server: McpServer, request: ElicitationRequest, extra: Extra): Promise<ElicitationAnswer> {
  const properties = Object.fromEntries(
    Object.entries(request.fields).map(([name, f]) => [
      name,
      f.labels ? { type: 'string', title: f.title, description: f.description, oneOf: f.options.map((o, i) => ({ const: o, title: f.labels![i] ?? o })) } : { type: 'string', title: f.title, description: f.description, enum: f.options },
    ]),
  );
  const result = await server.server.request(
    { method: 'elicitation/create', params: { mode: 'form', message: request.message, requestedSchema: { type: 'object', properties } } },
    ElicitResultSchema,
    { relatedRequestId: extra.requestId, signal: extra.signal },
  );
  if (result.action !== 'accept') return { action: result.action };
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.content ?? {})) {
    const field = request.fields[name];
    if (field && typeof value === 'string' && field.options.includes(value)) values[name] = value;
  }
  return { action: 'accept', values };
}
