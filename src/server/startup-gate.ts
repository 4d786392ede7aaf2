import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, type MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';

/** What a client sends before it uses the workspace: answered at once, start-up duties or not. */
const WITHOUT_WORKSPACE = new Set(['initialize', 'notifications/initialized', 'ping', 'tools/list', 'prompts/list', 'resources/templates/list', 'logging/setLevel']);

/**
 * Wraps a connected transport so that messages which may touch the workspace (tool calls,
 * resource reads, tasks…) wait for `ready()` (the start-up duties), in arrival order; the
 * handshake and listings pass at once. When `ready()` fails, each held request gets a JSON-RPC
 * error saying why, and the next one tries again.
 */
export function holdUntilReady(transport: Transport, ready: () => Promise<void>): void {
  const deliver = transport.onmessage;
  if (!deliver) throw new Error('holdUntilReady: connect the server to the transport first.');
  let open = false;
  let queue: Promise<void> | undefined;
  transport.onmessage = <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => {
    if (open) return deliver(message, extra);
    const method = 'method' in message ? message.method : undefined;
    if (!queue && (method === undefined || WITHOUT_WORKSPACE.has(method))) return deliver(message, extra);
    const held: Promise<void> = (queue ?? Promise.resolve()).then(async () => {
      try {
        await ready();
        open = true;
        deliver(message, extra);
      } catch (error) {
        if (!('id' in message) || method === undefined) return;
        const text = `finetune-mcp could not finish starting: ${error instanceof Error ? error.message : String(error)}. The server log has details; the next request tries again.`;
        await transport.send({ jsonrpc: '2.0', id: message.id, error: { code: ErrorCode.InternalError, message: text } }).catch(() => undefined);
      }
    });
    queue = held;
    void held.finally(() => {
      if (queue === held) queue = undefined;
    });
  };
}
