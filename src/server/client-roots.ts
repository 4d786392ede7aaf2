import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { RootsListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../observability/logger.js';
import { isBroadFolder } from '../workspace/confine.js';

/** How long a tool call waits for the client to answer roots/list before going on without its roots. */
const ROOTS_TIMEOUT_MS = 5_000;

/**
 * The client's MCP roots (the folders the user opened), asked with roots/list when the client declares
 * the roots capability, on the first tool call that needs them, and asked again after
 * notifications/roots/list_changed. Only file:// roots count; a client that does not answer in time
 * gets no roots for that call (and is asked again on the next one). A root that is the filesystem
 * root, the home folder (or above it), a system folder or a shared top folder like /tmp is not used:
 * it would open every file of the user (keys, credentials) to any tool call, the same rule as for
 * the folder the server starts in. Such a folder is allowed only by naming it in allowed_roots.
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
      const broad = folders.filter((folder) => isBroadFolder(folder));
      if (broad.length) this.logger.warn({ ignored: broad }, 'client roots too broad to allow (/, the home folder, a system folder); name them in allowed_roots to allow them');
      const used = folders.filter((folder) => !broad.includes(folder));
      this.logger.info({ roots: used }, 'client roots');
      return used;
    } catch (error) {
      this.logger.warn({ err: error }, 'roots/list failed; this call uses the configured roots only');
      this.pending = undefined;
      return [];
    }
  }
}
