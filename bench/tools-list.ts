/**
 * `npm run bench tools-list`: the size of tools/list (the JSON a client receives at every session
 * start) for the default tool groups, each group alone, and every tool; measured through the SDK
 * client, with where the bytes go (descriptions, input schemas, output schemas).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, TOOL_GROUPS, type ToolGroup } from '../src/config.js';
import { createSilentLogger } from '../src/observability/logger.js';
import { createServer } from '../src/server/create-server.js';
import { closeServices, createServices } from '../src/services.js';

const home = mkdtempSync(join(tmpdir(), 'ftm-bench-tools-'));
const services = await createServices(loadConfig({ argv: ['--home', home], env: {} }), { logger: createSilentLogger(), env: {} });
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null));

async function measure(label: string, toolGroups?: readonly (ToolGroup | 'all')[]): Promise<void> {
  const server = createServer({ services, toolGroups });
  const client = new Client({ name: 'bench', version: '0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(b), client.connect(a)]);
  const listed = await client.listTools();
  const sum = (pick: (t: (typeof listed.tools)[number]) => unknown) => listed.tools.reduce((s, t) => s + bytes(pick(t)), 0);
  const total = bytes(listed);
  process.stdout.write(
    `${label.padEnd(34)} ${String(listed.tools.length).padStart(2)} tools ${(total / 1000).toFixed(1).padStart(6)} KB (~${Math.round(total / 4000)}k tokens): ` +
      `descriptions ${(sum((t) => t.description) / 1000).toFixed(1)} KB, input schemas ${(sum((t) => t.inputSchema) / 1000).toFixed(1)} KB, ` +
      `output schemas ${(sum((t) => t.outputSchema) / 1000).toFixed(1)} KB\n`,
  );
  await client.close();
}

await measure(`default (${services.config.tools.groups.join(', ')})`);
for (const group of TOOL_GROUPS) await measure(`${group} alone`, [group]);
await measure('all', ['all']);
await closeServices(services);
rmSync(home, { recursive: true, force: true });
