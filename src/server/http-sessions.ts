import type { ServerResponse } from 'node:http';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from '../observability/logger.js';

interface Session {
  transport: StreamableHTTPServerTransport;
  /** When the last request began or ended (ms). */
  last_active: number;
  /** POST and DELETE requests being answered: a session mid-call is never evicted. */
  calls: number;
  /** Open GET streams: a client that holds one is alive, so its session does not expire. */
  streams: number;
}

interface HttpSessionOptions {
  idleMs: number;
  max: number;
  logger: Logger;
  now?: () => number;
}

/**
 * The open MCP sessions of one HTTP server, bounded in time and number (each holds an McpServer,
 * ~150-230 KB). A session with no request and no open stream for `idleMs` is closed; when `max` are
 * open, a new one evicts the longest-idle session that is not answering a call (one with nothing open
 * first), or is refused when every session is mid-call. A closed or evicted session's id then gets 404
 * and its client re-initialises, as the MCP transport specification says.
 */
export class HttpSessions {
  private readonly sessions = new Map<string, Session>();
  /** Sessions being initialised: counted against `max` before their id exists. */
  private pending = 0;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: HttpSessionOptions) {
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.expire(), Math.min(60_000, Math.max(100, options.idleMs / 4)));
    this.timer.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): StreamableHTTPServerTransport | undefined {
    return this.sessions.get(id)?.transport;
  }

  /** Counts a request of a session as open until its response closes; the session's idle clock restarts at both ends. */
  track(id: string, method: string | undefined, res: ServerResponse): void {
    const session = this.sessions.get(id);
    if (!session) return;
    const kind = method === 'GET' ? 'streams' : 'calls';
    session[kind]++;
    session.last_active = this.now();
    res.once('close', () => {
      session[kind]--;
      session.last_active = this.now();
    });
  }

  /**
   * Reserves room for a new session, evicting one if the cap is reached; false when every session is
   * mid-call (answer 503). Call `settle()` once the new session is registered or has failed.
   */
  reserve(): boolean {
    if (this.sessions.size + this.pending >= this.options.max) {
      const victim = [...this.sessions.entries()]
        .filter(([, s]) => s.calls === 0)
        .sort(([, a], [, b]) => Math.sign(a.streams) - Math.sign(b.streams) || a.last_active - b.last_active)[0];
      if (!victim) return false;
      this.drop(victim[0], 'evicted: session cap reached');
    }
    this.pending++;
    return true;
  }

  settle(): void {
    this.pending--;
  }

  add(id: string, transport: StreamableHTTPServerTransport): void {
    this.sessions.set(id, { transport, last_active: this.now(), calls: 0, streams: 0 });
  }

  /** Forgets a session (its transport closed itself: DELETE, or closed by us). */
  remove(id: string): void {
    this.sessions.delete(id);
  }

  /** Closes the sessions idle for longer than `idleMs` with nothing open. */
  expire(): void {
    const cutoff = this.now() - this.options.idleMs;
    for (const [id, s] of this.sessions) {
      if (s.calls === 0 && s.streams === 0 && s.last_active <= cutoff) this.drop(id, 'expired: idle');
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.sessions.values()].map((s) => s.transport.close()));
  }

  private drop(id: string, why: string): void {
    const session = this.sessions.get(id);
    this.sessions.delete(id);
    this.options.logger.info({ session_id: id, idle_ms: session ? this.now() - session.last_active : undefined }, `http session ${why}`);
    session?.transport.close().catch((error: unknown) => this.options.logger.warn({ err: error, session_id: id }, 'closing an http session failed'));
  }
}
