import type { McpServer, RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { TOOL_GROUPS, type ToolGroup } from '../config.js';
import type { AnyToolDefinition, ToolGroupStatus, ToolGroupsControl } from './tool.js';

export interface RegisteredEntry {
  definition: AnyToolDefinition;
  handle: RegisteredTool;
}

/**
 * One session's view of the tool groups. Groups choose what tools/list shows, not what may be called:
 * a tool of a group not listed still answers a call by name, and enabling its group lists it (the
 * client gets tools/list_changed).
 */
export class SessionToolGroups implements ToolGroupsControl {
  private readonly listed: Set<ToolGroup>;
  private readonly groupOf = new Map<string, ToolGroup>();

  constructor(
    private readonly members: Readonly<Record<ToolGroup, readonly AnyToolDefinition[]>>,
    groups: readonly (ToolGroup | 'all')[],
    private readonly onListChanged: () => void,
  ) {
    this.listed = new Set(expandGroups(groups));
    for (const group of TOOL_GROUPS) for (const tool of members[group]) this.groupOf.set(tool.name, group);
  }

  /** Whether tools/list shows the tool now; a tool outside every group always shows. */
  lists(name: string): boolean {
    const group = this.groupOf.get(name);
    return group === undefined || this.listed.has(group);
  }

  /** One line naming the groups not listed and their tools, e.g. "admin: export_dataset, …". */
  describeNotListed(): string {
    return this.status()
      .groups.filter((g) => !g.listed)
      .map((g) => `${g.name}: ${g.tools.join(', ')}`)
      .join('; ');
  }

  status(): ToolGroupStatus {
    const groups = TOOL_GROUPS.map((name) => ({ name, listed: this.listed.has(name), tools: this.members[name].map((t) => t.name) }));
    return {
      listed: groups.filter((g) => g.listed).map((g) => g.name),
      groups,
      not_listed: groups.filter((g) => !g.listed).flatMap((g) => g.tools),
    };
  }

  enable(groups: readonly (ToolGroup | 'all')[]): ToolGroupStatus {
    const before = this.listed.size;
    for (const group of expandGroups(groups)) this.listed.add(group);
    if (this.listed.size !== before) this.onListChanged();
    return this.status();
  }
}

function expandGroups(groups: readonly (ToolGroup | 'all')[]): ToolGroup[] {
  return groups.includes('all') ? [...TOOL_GROUPS] : (groups as ToolGroup[]);
}

type JsonSchema = { [key: string]: unknown };
const listedSchemas = new WeakMap<AnyToolDefinition, { inputSchema: Tool['inputSchema']; outputSchema: Tool['outputSchema'] }>();

/**
 * Serves tools/list: the registered tools that are enabled and whose group is listed, with the schemas
 * of listedInputSchema and compactOutputSchema. Each tool's schemas are converted once per process.
 */
export function serveToolList(server: McpServer, registered: ReadonlyMap<string, RegisteredEntry>, groups: SessionToolGroups): void {
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [...registered].filter(([name, entry]) => entry.handle.enabled && groups.lists(name)).map(([name, { definition, handle }]) => {
      let schemas = listedSchemas.get(definition);
      if (!schemas) {
        schemas = {
          inputSchema: listedInputSchema(z.toJSONSchema(z.object(definition.input), { target: 'draft-7', io: 'input' }) as JsonSchema) as Tool['inputSchema'],
          outputSchema: compactOutputSchema(z.toJSONSchema(z.object(definition.output), { target: 'draft-7', io: 'output' }) as JsonSchema) as Tool['outputSchema'],
        };
        listedSchemas.set(definition, schemas);
      }
      // taskSupport "forbidden" is what a tool without `execution` means: only task tools list it.
      const execution = handle.execution?.taskSupport === 'forbidden' ? undefined : handle.execution;
      return { name, title: handle.title, description: handle.description, ...schemas, annotations: handle.annotations, execution, _meta: handle._meta };
    }),
  }));
}

/**
 * Members that constrain nothing: zod's bounds for an integer with none given (±2^53 − 1), string keys
 * (JSON keys always are) and `additionalProperties: {}` (anything, the default).
 */
function isNoOp(key: string, value: unknown): boolean {
  if (key === 'maximum') return value === Number.MAX_SAFE_INTEGER;
  if (key === 'minimum') return value === Number.MIN_SAFE_INTEGER;
  if (key === 'propertyNames') return JSON.stringify(value) === '{"type":"string"}';
  if (key === 'additionalProperties') return JSON.stringify(value) === '{}';
  return false;
}

/** Rebuilds a JSON schema without the members `drop` names; property names and enum values are left as they are. */
function pruneSchema(node: unknown, drop: (key: string, value: unknown) => boolean): unknown {
  if (Array.isArray(node)) return node.map((item) => pruneSchema(item, drop));
  if (!node || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (drop(key, value)) continue;
    if (key === 'properties' || key === 'definitions' || key === '$defs') {
      out[key] = Object.fromEntries(Object.entries(value as JsonSchema).map(([name, child]) => [name, pruneSchema(child, drop)]));
    } else out[key] = key === 'enum' || key === 'const' || key === 'required' || key === 'default' ? value : pruneSchema(value, drop);
  }
  return out;
}

/** An input schema as listed: what zod makes of the tool's input, less the members that constrain nothing. */
function listedInputSchema(schema: JsonSchema): JsonSchema {
  return pruneSchema(schema, isNoOp) as JsonSchema;
}

/**
 * An output schema as listed: the structure (types, enums, patterns, the top-level required fields)
 * without descriptions, nested `required` lists, `$schema` and `additionalProperties: false`. Clients
 * validate results with it; the model reads each result's JSON in the text (see textWithStructured),
 * where field names and values speak for themselves. What the model reads before a call (the
 * description and the input schema) stays whole. The tool's zod schema keeps every description and
 * constraint, and the server checks each result against it before sending it.
 */
function compactOutputSchema(schema: JsonSchema): JsonSchema {
  const pruned = pruneSchema(
    schema,
    (key, value) => key === 'description' || key === 'required' || key === '$schema' || (key === 'additionalProperties' && value === false) || isNoOp(key, value),
  ) as JsonSchema;
  return schema.required ? { ...pruned, required: schema.required } : pruned;
}
