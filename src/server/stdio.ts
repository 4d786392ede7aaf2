import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { scrubSecrets } from '../observability/secrets.js';
import type { Services } from '../services.js';
import { createServer } from './create-server.js';
import { holdUntilReady } from './startup-gate.js';

/**
 * Serves MCP over stdin/stdout. stdout carries protocol messages only: console output that
 * libraries print (e.g. @huggingface/hub's "Downloading …" via console.debug) is sent to stderr.
 * The start-up duties (`services.startup()`) run once the client has sent `initialized`, so the
 * handshake never waits for them; requests that need the workspace wait until they are done.
 */
export async function serveStdio(services: Services): Promise<void> {
  routeConsoleToStderr();
  const server = createServer({ services });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await server.connect(transport);
  holdUntilReady(transport, () => services.startup());
  server.server.oninitialized = () => {
    services.startup().catch((error: unknown) => services.logger.error({ err: error }, 'start-up duties failed'));
  };
  services.logger.info({ workspace: services.workspace.root }, 'serving MCP over stdio');
  process.stdin.on('end', () => void server.close());
  await closed;
}

/* eslint-disable no-console -- this is the one place that redirects console output away from stdout */
export function routeConsoleToStderr(): void {
  const toStderr = (...args: unknown[]) => process.stderr.write(`${scrubSecrets(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '))}\n`);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.warn = toStderr;
}
