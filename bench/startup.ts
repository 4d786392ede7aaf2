/**
 * bench/startup: what an agent pays each session. Through the official SDK client over stdio, as
 * MCP clients launch servers: start → initialized (spawn, initialize, initialized notification) over
 * several starts, then the latency of many sequential tool calls (`server_info`). The reference is
 * the SDK's own `servers/everything` (its `echo` tool), measured in the same run when installed:
 *
 *   npm i --prefix /tmp/everything @modelcontextprotocol/server-everything
 *
 * (or point FINETUNE_MCP_BENCH_EVERYTHING at its dist/index.js). The benchmark never downloads.
 * It starts the built server (dist/src/cli.js; `npm run build` first), or FINETUNE_MCP_BENCH_CLI.
 * Options: --starts N (default 5), --calls N (default 500).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const EVERYTHING_DEFAULT = '/tmp/everything/node_modules/@modelcontextprotocol/server-everything/dist/index.js';

export interface ServerUnderTest {
  label: string;
  args: string[];
  env?: Record<string, string>;
  tool: { name: string; arguments: Record<string, unknown> };
}

export interface LatencyRun {
  /** Spawn → `initialize` answered and `initialized` sent. */
  start_ms: number[];
  /** CPU time (user + system) the server process had used by then: steadier than wall time on a busy machine (Linux). */
  start_cpu_ms: number[];
  call_ms: number[];
}

/** The q-quantile (0..1) of a sample, nearest rank. */
export function quantile(sample: readonly number[], q: number): number {
  if (sample.length === 0) return NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** User + system CPU of a process so far, from /proc (Linux; clock ticks of 10 ms). */
export function processCpuMs(pid: number | null | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

async function connect(server: ServerUnderTest): Promise<{ client: Client; ms: number; cpuMs: number }> {
  const client = new Client({ name: 'bench-startup', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: server.args,
    env: { ...(process.env as Record<string, string>), ...server.env },
    stderr: 'ignore',
  });
  const t0 = performance.now();
  await client.connect(transport);
  const ms = performance.now() - t0;
  return { client, ms, cpuMs: processCpuMs(transport.pid) };
}

/**
 * Measures servers side by side: one unmeasured start each (warms the disk cache and the
 * workspace), then `starts` rounds of one start each, then `calls` sequential calls each in
 * interleaved blocks of 50, so that load from other processes falls on all of them alike.
 */
export async function measure(servers: readonly ServerUnderTest[], starts: number, calls: number): Promise<LatencyRun[]> {
  const runs = servers.map((): LatencyRun => ({ start_ms: [], start_cpu_ms: [], call_ms: [] }));
  for (const server of servers) await (await connect(server)).client.close();
  const clients: Client[] = [];
  for (let i = 0; i < starts; i++) {
    for (const [k, server] of servers.entries()) {
      const { client, ms, cpuMs } = await connect(server);
      runs[k]!.start_ms.push(ms);
      runs[k]!.start_cpu_ms.push(cpuMs);
      if (i < starts - 1) await client.close();
      else clients[k] = client;
    }
  }
  const call = async (k: number): Promise<number> => {
    const t0 = performance.now();
    const result = await clients[k]!.callTool(servers[k]!.tool);
    const ms = performance.now() - t0;
    if (result.isError) throw new Error(`${servers[k]!.label}: ${servers[k]!.tool.name} failed: ${JSON.stringify(result.content)}`);
    return ms;
  };
  // The first calls warm the JIT and whatever loads on first use.
  for (const k of servers.keys()) for (let i = 0; i < 20; i++) await call(k);
  for (let done = 0; done < calls; done += 50) {
    for (const k of servers.keys()) for (let i = done; i < Math.min(calls, done + 50); i++) runs[k]!.call_ms.push(await call(k));
  }
  await Promise.all(clients.map((c) => c.close()));
  return runs;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function line(label: string, run: LatencyRun): string {
  const f = (x: number) => x.toFixed(x < 10 ? 2 : 0).padStart(6);
  return (
    `${label.padEnd(30)} start→initialized p50 ${f(quantile(run.start_ms, 0.5))} ms  p95 ${f(quantile(run.start_ms, 0.95))} ms  ` +
    `(server CPU p50 ${f(quantile(run.start_cpu_ms, 0.5))} ms)   ` +
    `call p50 ${f(quantile(run.call_ms, 0.5))} ms  p95 ${f(quantile(run.call_ms, 0.95))} ms`
  );
}

async function main(): Promise<void> {
  const starts = flag('--starts', 5);
  const calls = flag('--calls', 500);
  const cli = resolve(process.env.FINETUNE_MCP_BENCH_CLI ?? join(root, 'dist/src/cli.js'));
  if (!existsSync(cli)) {
    process.stderr.write(`bench/startup measures the built server: ${cli} is missing. Run \`npm run build\` (or set FINETUNE_MCP_BENCH_CLI).\n`);
    process.exitCode = 1;
    return;
  }
  const home = mkdtempSync(join(tmpdir(), 'ftm-bench-startup-'));
  try {
    console.log(`${starts} starts, ${calls} calls each, Node ${process.version}, official SDK client over stdio`);
    const ours: ServerUnderTest = {
      label: 'finetune-mcp (server_info)',
      args: [cli, 'serve'],
      env: { FINETUNE_MCP_HOME: home },
      tool: { name: 'server_info', arguments: {} },
    };
    const everything = process.env.FINETUNE_MCP_BENCH_EVERYTHING ?? EVERYTHING_DEFAULT;
    if (!existsSync(everything)) {
      const [run] = await measure([ours], starts, calls);
      console.log(line(ours.label, run!));
      console.log(
        `reference not installed (${everything}): no ratio. Install it with ` +
          '`npm i --prefix /tmp/everything @modelcontextprotocol/server-everything` or set FINETUNE_MCP_BENCH_EVERYTHING to its dist/index.js.',
      );
      return;
    }
    const reference: ServerUnderTest = { label: 'reference everything (echo)', args: [everything, 'stdio'], tool: { name: 'echo', arguments: { message: 'hi' } } };
    const [run, ref] = (await measure([ours, reference], starts, calls)) as [LatencyRun, LatencyRun];
    console.log(line(ours.label, run));
    console.log(line(reference.label, ref));
    const ratio = (a: number[], b: number[], q: number) => (quantile(a, q) / quantile(b, q)).toFixed(2);
    console.log(
      `ratio (ours / reference): start p50 ${ratio(run.start_ms, ref.start_ms, 0.5)}x, p95 ${ratio(run.start_ms, ref.start_ms, 0.95)}x, ` +
        `CPU p50 ${ratio(run.start_cpu_ms, ref.start_cpu_ms, 0.5)}x; ` +
        `call p50 ${ratio(run.call_ms, ref.call_ms, 0.5)}x, p95 ${ratio(run.call_ms, ref.call_ms, 0.95)}x`,
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) await main();
