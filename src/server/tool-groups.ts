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
 * One session's view of the tool groups: the tools of groups not served stay registered but disabled,
 * so enabling a group later is a tools/list_changed away, not a restart.
 */
export class SessionToolGroups implements ToolGroupsControl {
  private readonly served: Set<ToolGroup>;

  /** `registered` fills as the tools register; disableNotServed then turns off the tools of the groups not served. */
  constructor(
    private readonly members: Readonly<Record<ToolGroup, readonly AnyToolDefinition[]>>,
    private readonly registered: ReadonlyMap<string, RegisteredEntry>,
    groups: readonly (ToolGroup | 'all')[],
  ) {
    this.served = new Set(expandGroups(groups));
  }

  disableNotServed(): void {
    for (const group of TOOL_GROUPS) if (!this.served.has(group)) for (const tool of this.members[group]) this.registered.get(tool.name)?.handle.disable();
  }

  /** One line naming the groups not served and their tools, e.g. "admin: export_dataset, …". */
  describeNotServed(): string {
    return this.status()
      .groups.filter((g) => !g.served)
      .map((g) => `${g.name}: ${g.tools.join(', ')}`)
      .join('; ');
  }

  status(): ToolGroupStatus {
    const groups = TOOL_GROUPS.map((name) => ({ name, served: this.served.has(name), tools: this.members[name].map((t) => t.name) }));
    return {
      served: groups.filter((g) => g.served).map((g) => g.name),
      groups,
      not_served: groups.filter((g) => !g.served).flatMap((g) => g.tools),
    };
  }

  enable(groups: readonly (ToolGroup | 'all')[]): ToolGroupStatus {
    for (const group of expandGroups(groups)) {
      if (this.served.has(group)) continue;
      this.served.add(group);
      // Each enable() sends tools/list_changed to a connected client.
      for (const tool of this.members[group]) this.registered.get(tool.name)?.handle.enable();
    }
    return this.status();
  }
}

function expandGroups(groups: readonly (ToolGroup | 'all')[]): ToolGroup[] {
  return groups.includes('all') ? [...TOOL_GROUPS] : (groups as ToolGroup[]);
}

type JsonSchema = { [key: string]: unknown };
const listedSchemas = new WeakMap<AnyToolDefinition, { inputSchema: Tool['inputSchema']; outputSchema: Tool['outputSchema'] }>();

/**
 * Serves tools/list from the registered tools that are enabled, with the schemas of listedInputSchema and
 * compactOutputSchema. Each tool's schemas are converted once per process, not at every tools/list.
 */
export function serveToolList(server: McpServer, registered: ReadonlyMap<string, RegisteredEntry>): void {
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [...registered].filter(([, entry]) => entry.handle.enabled).map(([name, { definition, handle }]) => {
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
export function listedInputSchema(schema: JsonSchema): JsonSchema {
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
export function compactOutputSchema(schema: JsonSchema): JsonSchema {
  const pruned = pruneSchema(
    schema,
    (key, value) => key === 'description' || key === 'required' || key === '$schema' || (key === 'additionalProperties' && value === false) || isNoOp(key, value),
  ) as JsonSchema;
  return schema.required ? { ...pruned, required: schema.required } : pruned;
}
