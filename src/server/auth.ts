import { createHash, timingSafeEqual } from 'node:crypto';

const LOOPBACK = new Set(['localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Compares a request's bearer token with the expected one in constant time (hashes make the lengths equal). */
export function bearerTokenMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const given = createHash('sha256').update(match?.[1]?.trim() ?? '').digest();
  const wanted = createHash('sha256').update(expected).digest();
  return timingSafeEqual(given, wanted) && match !== null;
}

/** Addresses that listen on every interface: they name no host a request could address. */
const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

/** The host name of a `Host` header or an allowed-hosts entry, lower case, port dropped (`[::1]` keeps its brackets); undefined when unparsable. */
function hostnameOf(value: string): string | undefined {
  try {
    const url = new URL(`http://${value.trim()}`);
    return url.username || url.password || url.pathname !== '/' || url.search || url.hash ? undefined : url.hostname;
  } catch {
    return undefined;
  }
}

/** The serialised origin (`scheme://host[:port]`, default port dropped) of an `Origin` header or an allowed-origins entry; undefined for `null` or garbage. */
function originOf(value: string): string | undefined {
  try {
    const url = new URL(value.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

interface RequestGuardOptions {
  /** The address the server listens on: a specific one is an allowed Host name besides the loopback names. */
  bindHost: string;
  /** With no token, only requests without an `Origin` (non-browser clients) are served. */
  token?: string;
  /** Further `Host` names (port ignored), e.g. the machine's DNS name for a server on 0.0.0.0. */
  allowedHosts: readonly string[];
  /** Further browser origins besides the loopback ones; they need a token. */
  allowedOrigins: readonly string[];
}

/**
 * The DNS-rebinding and cross-site check that runs before anything else on every route: the `Host`
 * must be a loopback name, the bound address or an allowed host (a rebound name such as
 * `evil.example` is refused even though it resolves here); a request carrying an `Origin` (a
 * browser) is served only when the server has a token and the origin is a loopback one or an
 * allowed one. Returns why the request is refused (to answer 403), or undefined to serve it.
 */
export function createRequestGuard(options: RequestGuardOptions): (headers: { host?: string; origin?: string | string[] }) => string | undefined {
  const hosts = new Set(options.allowedHosts.map((h) => hostnameOf(h)).filter((h): h is string => h !== undefined));
  const bound = hostnameOf(options.bindHost.includes(':') && !options.bindHost.startsWith('[') ? `[${options.bindHost}]` : options.bindHost);
  if (bound && !WILDCARD.has(bound)) hosts.add(bound);
  const origins = new Set(options.allowedOrigins.map((o) => originOf(o)).filter((o): o is string => o !== undefined));
  return (headers) => {
    const hostname = headers.host === undefined ? undefined : hostnameOf(headers.host);
    if (hostname === undefined || !(isLoopbackHost(hostname) || hosts.has(hostname))) {
      return `Host ${quote(headers.host ?? '')} is not allowed: add it to http.allowed_hosts (FINETUNE_MCP_ALLOWED_HOSTS) if clients reach the server by that name.`;
    }
    if (headers.origin === undefined) return undefined;
    const raw = Array.isArray(headers.origin) ? headers.origin.join(',') : headers.origin;
    const origin = originOf(raw);
    if (!options.token) {
      return `Browser requests (Origin ${quote(raw)}) need a bearer token: set FINETUNE_MCP_TOKEN; without one the server answers only non-browser clients on loopback.`;
    }
    if (origin === undefined || !(isLoopbackHost(new URL(origin).hostname) || origins.has(origin))) {
      return `Origin ${quote(raw)} is not allowed: add it to http.allowed_origins (FINETUNE_MCP_ALLOWED_ORIGINS) to let that web page call the server.`;
    }
    return undefined;
  };
}

/** A header value as shown in a refusal: quoted, and short (it is the requester's text). */
function quote(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
