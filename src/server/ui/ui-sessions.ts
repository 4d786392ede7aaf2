import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const COOKIE = 'finetune_ui';
const IDLE_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 1000;

interface UiSession {
  /** Sent back by the page in the X-CSRF-Token header of every POST (promote, rollback, logout). */
  csrf: string;
  lastSeen: number;
}

/**
 * Dashboard logins: the login form exchanges the bearer token for a random session id kept in an
 * HttpOnly, SameSite=Strict cookie (so the token never sits in a URL or in page script), held in
 * memory: a restarted server asks for the token again.
 */
export class UiSessions {
  private readonly sessions = new Map<string, UiSession>();

  /** A new session; returns the Set-Cookie value. */
  create(): string {
    this.expire();
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { csrf: randomBytes(24).toString('base64url'), lastSeen: Date.now() });
    return `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=${IDLE_MS / 1000}`;
  }

  /** The session of the request's cookie, or undefined (none, unknown or idle too long). */
  of(req: IncomingMessage): { id: string; csrf: string } | undefined {
    const id = cookieValue(req.headers.cookie, COOKIE);
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!id || !session) return undefined;
    if (Date.now() - session.lastSeen > IDLE_MS) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeen = Date.now();
    return { id, csrf: session.csrf };
  }

  /** Whether a POST carries the session's CSRF token (compared in constant time). */
  csrfMatches(session: { csrf: string }, given: string | string[] | undefined): boolean {
    const a = Buffer.from(typeof given === 'string' ? given : '');
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Ends the session; returns the Set-Cookie value that clears the cookie. */
  destroy(id: string): string {
    this.sessions.delete(id);
    return `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=0`;
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, s] of this.sessions) if (now - s.lastSeen > IDLE_MS) this.sessions.delete(id);
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}
