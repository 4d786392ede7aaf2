import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { RootsListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../observability/logger.js';

/** How long a tool call waits for the client to answer roots/list before going on without its roots. */
const ROOTS_TIMEOUT_MS = 5_000;

/**
 * The client's MCP roots (the folders the user opened), asked with roots/list when the client declares
 * the roots capability, on the first tool call that needs them, and asked again after
 * notifications/roots/list_changed. Only file:// roots count; a client that does not answer in time
 * gets no roots for that call (and is asked again on the next one).
 */
export class ClientRoots {
  private pending: Promise<string[]> | undefined;

  constructor(
    private readonly server: Server,
    private readonly logger: Logger,
  ) {
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
      this.pending = undefined;
    });
  }

  /** The client's root folders as local paths; empty when the client has no roots capability. */
  folders(): Promise<string[]> {
    if (!this.server.getClientCapabilities()?.roots) return Promise.resolve([]);
    this.pending ??= this.ask();
    return this.pending;
  }

  private async ask(): Promise<string[]> {
    try {
      const { roots } = await this.server.listRoots(undefined, { timeout: ROOTS_TIMEOUT_MS });
      const folders = roots.flatMap((root) => {
        try {
          return root.uri.startsWith('file:') ? [fileURLToPath(root.uri)] : [];
        } catch {
          return []; // a file URL with a host, or not absolute: not a local folder
        }
      });
      this.logger.info({ roots: folders }, 'client roots');
      return folders;
    } catch (error) {
      this.logger.warn({ err: error }, 'roots/list failed; this call uses the configured roots only');
      this.pending = undefined;
      return [];
    }
  }
}
