import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig, type ConfigOverrides, type ToolGroup } from '../../src/config.js';
import { createSilentLogger, type Logger } from '../../src/observability/logger.js';
import type { PluginDefinition } from '../../src/plugins/types.js';
import { createServer } from '../../src/server/create-server.js';
import type { AnyToolDefinition } from '../../src/server/tool.js';
import { closeServices, createServices, type Services } from '../../src/services.js';

export interface TestClient {
  client: Client;
  services: Services;
  home: string;
  /** Calls a tool and returns the raw result (isError included). */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Calls a tool, fails the test on isError, and parses structuredContent with the tool's output schema. */
  callOk<T extends AnyToolDefinition>(tool: T, args?: Record<string, unknown>): Promise<z.infer<z.ZodObject<T['output']>>>;
  close(): Promise<void>;
}

export interface TestClientOptions {
  /** Plugins to register instead of the built-in list. */
  plugins?: readonly PluginDefinition<any>[];
  /** Settings over the defaults, as in a config file (e.g. allowed_roots, `training: { watch_interval_ms: 50 }`): parsed by the real schema. */
  config?: ConfigOverrides;
  /** Use this workspace folder instead of a fresh temporary one (it is then not deleted). */
  home?: string;
  env?: Record<string, string | undefined>;
  /** The server's logger (default: silent); e.g. one writing to a captured stream. */
  logger?: Logger;
  clientCapabilities?: ConstructorParameters<typeof Client>[1];
  /** Tool groups tools/list shows; default 'all' (every tool), 'config' for the config's tools.groups. */
  toolGroups?: readonly (ToolGroup | 'all')[] | 'config';
}

/** A real SDK client joined to a real server over an in-memory link, on a fresh temp workspace. */
export async function connectTestClient(options: TestClientOptions = {}): Promise<TestClient> {
  const ownHome = !options.home;
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'ftm-test-'));
  const config = loadConfig({ argv: ['--home', home], env: {}, overrides: options.config });
  const services = await createServices(config, { logger: options.logger ?? createSilentLogger(), plugins: options.plugins, env: options.env ?? {} });
  const toolGroups = options.toolGroups ?? ['all'];
  const server = createServer({ services, toolGroups: toolGroups === 'config' ? undefined : toolGroups });
  const client = new Client({ name: 'test-client', version: '0.0.0' }, options.clientCapabilities);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  // The SDK client checks structuredContent against a tool's output schema only once it has listed the tools.
  await client.listTools();
  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  return {
    client,
    services,
    home,
    call,
    async callOk(tool, args = {}) {
      const result = await call(tool.name, args);
      if (result.isError) {
        const text = result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
        throw new Error(`${tool.name} failed: ${text}`);
      }
      return z.object(tool.output).parse(result.structuredContent);
    },
    async close() {
      await client.close();
      await closeServices(services);
      if (ownHome) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The `[CODE]` of an isError result. */
export function errorCode(result: CallToolResult): string | undefined {
  return (result._meta as { code?: string } | undefined)?.code;
}

export function resultText(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}
