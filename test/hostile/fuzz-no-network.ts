/**
 * Preloaded into the fuzzed server (`node --import <this>`): a socket to anything but loopback or a
 * local pipe fails at once and writes `FUZZ_NETWORK_ATTEMPT host:port` to stderr, which the fuzz test
 * counts. fetch, https and every SDK connect through net.Socket.prototype.connect, so this sees them all.
 */
import net from 'node:net';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
const original = net.Socket.prototype.connect;

function target(args: unknown[]): { host?: string; port?: unknown; path?: string } {
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (first && typeof first === 'object') return first as { host?: string; port?: unknown; path?: string };
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { path: first };
  return { port: first, host: typeof args[1] === 'string' ? args[1] : undefined };
}

net.Socket.prototype.connect = function connect(this: net.Socket, ...args: unknown[]) {
  const { host = 'localhost', port, path } = target(args);
  if (path || LOOPBACK.has(host) || host.startsWith('127.')) return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  process.stderr.write(`FUZZ_NETWORK_ATTEMPT ${host}:${String(port)}\n`);
  process.nextTick(() => this.destroy(Object.assign(new Error(`network blocked in the fuzz run: ${host}`), { code: 'ECONNREFUSED' })));
  return this;
} as typeof net.Socket.prototype.connect;
