import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Services } from '../services.js';
import { createServer } from './create-server.js';

export interface InProcessClient {
  client: Client;
  /** Calls a tool with no request time-out (the CLI and the demo wait as long as the tool runs). */
  call(name: string, args?: Record<string, unknown>, onProgress?: (progress: { progress: number; total?: number; message?: string }) => void): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** A real MCP client joined to this process's server over an in-memory link: the CLI and the demo take the path any client takes. */
export async function connectInProcess(services: Services, options: { validate_outputs?: boolean } = {}): Promise<InProcessClient> {
  // The CLI and the demo list every tool, whatever groups the config lists for agents.
  const server = createServer({ services, toolGroups: ['all'] });
  const client = new Client({ name: 'finetune-mcp-cli', version: services.version });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  // The server already checks results against the output schemas; listing the tools makes the client
  // check them too, which costs compiling every schema (≈0.5 s), so it is for callers that want it.
  if (options.validate_outputs) await client.listTools();
  return {
    client,
    async call(name, args = {}, onProgress) {
      return (await client.callTool({ name, arguments: args }, undefined, { timeout: 24 * 3600_000, onprogress: onProgress })) as CallToolResult;
    },
    close: () => client.close(),
  };
}

/** The text parts of a result, joined. */
export function resultText(result: CallToolResult): string {
  return result.content
    .filter((c): c is { type: 'text'; text: string } => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}
