import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { mulberry32 } from '../../src/random.js';
import { REPO_ROOT } from '../helpers/build.js';

/** The fuzzed server: `finetune-mcp serve --http --port 0` from source, in a child process, with the stderr it wrote. */
export interface FuzzServer {
  child: ChildProcess;
  url: string;
  /** The server's stderr lines so far (the last 500). */
  stderr: string[];
  /** `FUZZ_NETWORK_ATTEMPT host:port` lines: sockets the server tried to open off loopback. */
  networkAttempts: string[];
  stop(): Promise<void>;
}

/**
 * Starts the server with an explicit environment (no inherited API key, no Hub token; the Hub pointed
 * at a closed loopback port) and a preload that refuses any socket off loopback.
 */
export async function startFuzzServer(options: { home: string; roots: string; cwd: string }): Promise<FuzzServer> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.home,
    TMPDIR: options.home,
    FINETUNE_MCP_HOME: join(options.home, 'workspace'),
    FINETUNE_MCP_ALLOWED_ROOTS: options.roots,
    FINETUNE_MCP_TOOL_GROUPS: 'all',
    FINETUNE_MCP_LOG_LEVEL: 'warn',
    HF_ENDPOINT: 'http://127.0.0.1:9',
  };
  const args = ['--import', import.meta.resolve('tsx'), '--import', import.meta.resolve('./fuzz-no-network.ts'), join(REPO_ROOT, 'src/cli.ts'), 'serve', '--http', '--host', '127.0.0.1', '--port', '0'];
  const child = spawn(process.execPath, args, { cwd: options.cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  const networkAttempts: string[] = [];
  let pending = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 60 s:\n${stderr.join('\n')}`)), 60_000);
    child.once('exit', (code, signal) => reject(new Error(`the server exited at start (${code ?? signal}):\n${stderr.join('\n')}`)));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('FUZZ_NETWORK_ATTEMPT')) networkAttempts.push(line);
        stderr.push(line.length > 2000 ? `${line.slice(0, 2000)}… (${line.length} chars)` : line);
        if (stderr.length > 500) stderr.shift();
        const listening = /listening on (http:\/\/\S+)\/mcp/.exec(line);
        if (listening) {
          clearTimeout(timer);
          resolve(listening[1]);
        }
      }
    });
  });
  return {
    child,
    url,
    stderr,
    networkAttempts,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface HealthStats {
  polls: number;
  maxLatencyMs: number;
  failures: string[];
  peakRssMb: number;
  /** RSS in MB, one sample every ~2 s, to tell growth from spikes. */
  rssTrail: number[];
}

/** Polls GET /healthz (a fresh connection each time) and the server's VmRSS every `everyMs`, until stopped. */
export function watchHealth(url: string, pid: number, everyMs = 200): { stats: HealthStats; stop(): Promise<HealthStats> } {
  const stats: HealthStats = { polls: 0, maxLatencyMs: 0, failures: [], peakRssMb: 0, rssTrail: [] };
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const status = await getStatus(`${url}/healthz`, 5_000);
        if (status !== 200) stats.failures.push(`/healthz answered ${status}`);
      } catch (error) {
        stats.failures.push(`/healthz: ${(error as Error).message}`);
      }
      const latency = performance.now() - started;
      stats.polls++;
      stats.maxLatencyMs = Math.max(stats.maxLatencyMs, latency);
      const rss = rssMb(pid);
      stats.peakRssMb = Math.max(stats.peakRssMb, rss);
      if (stats.polls % 10 === 1) stats.rssTrail.push(Math.round(rss));
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - latency)));
    }
  })();
  return {
    stats,
    async stop() {
      running = false;
      await loop;
      return stats;
    },
  };
}

function getStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The process's resident memory in MB from /proc (0 where there is no /proc). */
export function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** A scratch folder of hostile files; returns their paths. */
export function writeHostileFiles(dir: string, seed: number): string[] {
  const rng = mulberry32(seed);
  const chat = (user: string) => JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: 'ok' }] });
  const files: Record<string, string | Buffer> = {
    'ok.jsonl': Array.from({ length: 80 }, (_, i) => chat(`question ${i}`)).join('\n') + '\n',
    'empty.jsonl': '',
    'junk.bin': Buffer.from(Array.from({ length: 65_536 }, () => Math.floor(rng() * 256))),
    'long-line.jsonl': `${chat('a'.repeat(2 * 1024 * 1024))}\n`,
    'junk-array.json': '[{}, 1, "x", null, [[[]]], {"messages": 5}, {"messages": [{"role": "tool"}]}, {"prompt": {"a": 1}}, "\\u0000", 1e999',
    'open-quote.csv': 'text,label\n"unterminated,1\nmore,2\nstill,3\n',
    'wide.csv': `${Array.from({ length: 20_000 }, (_, i) => `c${i}`).join(',')}\n`,
    'sub/rows.jsonl': `${chat('in a folder')}\n`,
    'adapter/adapter_config.json': '{"r": -1, "target_modules": 5, "base_model_name_or_path": "../../etc"}',
    'adapter/adapter_model.safetensors': Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), Buffer.from('{"x":')]),
    'model/config.json': '{"model_type": "llama", "max_position_embeddings": 1e12, "hidden_size": -4}',
    'model/tokenizer.json': '{"model": {"type": "BPE", "vocab": {"a": 2147483648}}}',
    'review.csv': 'item_id,verdict\n"1,\n',
  };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  // A real tiny model (karpathy/llama2.c stories260K, see its SOURCE.md), so calls reach past NOT_FOUND.
  for (const name of ['stories260K.bin', 'tok512.bin']) copyFileSync(join(REPO_ROOT, 'assets/models/stories260K', name), join(dir, name));
  symlinkSync('/etc/passwd', join(dir, 'passwd-link.jsonl'));
  symlinkSync('/etc', join(dir, 'etc-link'));
  const paths = [...Object.keys(files), 'passwd-link.jsonl', 'etc-link', 'etc-link/passwd', 'sub', 'adapter', 'model', 'stories260K.bin', 'tok512.bin'].map((n) => join(dir, n));
  if (spawnSync('mkfifo', [join(dir, 'fifo.jsonl')]).status === 0) paths.push(join(dir, 'fifo.jsonl'));
  return paths;
}

/**
 * A tools/call whose argument `field` is nested `depth` levels deep, sent as hand-built JSON text in an
 * open session (the SDK client cannot send it: JSON.stringify overflows the stack near 5,000 levels).
 */
export function postDeepCall(url: string, sessionId: string, tool: string, field: string, depth: number): Promise<{ status: number; text: string }> {
  const value = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const body = `{"jsonrpc":"2.0","id":"deep-${depth}","method":"tools/call","params":{"name":${JSON.stringify(tool)},"arguments":{${JSON.stringify(field)}:${value}}}}`;
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
  return new Promise((resolve, reject) => {
    const req = request(`${url}/mcp`, { method: 'POST', headers, agent: false, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 20 s')));
    req.on('error', reject);
    req.end(body);
  });
}
