/**
 * Bounded fuzz run (issue 13): every tool, called through the SDK client over Streamable HTTP with
 * seeded random and hostile arguments, against `serve --http` in a child process. Throughout,
 * /healthz answers within 1 s, the server never exits, stays under RSS_BOUND_MB and opens no
 * socket off loopback; every call ends in a result or an isError `[CODE]` result (or the SDK's
 * "Input validation error" for arguments outside the schema), never INTERNAL, a timeout or a
 * transport failure.
 *
 * By hand: FUZZ_CALLS=40 FUZZ_TIME_S=600 FUZZ_SEED=7 npx vitest run test/hostile/fuzz.test.ts
 * (FUZZ_CALLS: argument sets per tool; FUZZ_TIME_S: stop starting calls after this long).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARG_KINDS, ArgGenerator, idsIn, type ArgKind, type JsonSchema } from './fuzz-args.js';
import { postDeepCall, startFuzzServer, watchHealth, writeHostileFiles, type FuzzServer } from './fuzz-server.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1313);
const CALLS_PER_TOOL = Number(process.env.FUZZ_CALLS ?? 10);
const TIME_BUDGET_MS = Number(process.env.FUZZ_TIME_S ?? 25) * 1000;
const CALL_TIMEOUT_MS = 20_000;
/**
 * Measured on a loaded 2-core machine: the default run peaks at 300-410 MB; runs of 1,645-4,105 calls
 * (FUZZ_CALLS=40-100, five seeds) at 443-559 MB, a sawtooth (GC of the 1 MB strings), not growth.
 */
const RSS_BOUND_MB = 768;
const HEALTHZ_BOUND_MS = 1000;

interface CallRecord {
  i: number;
  tool: string;
  kind: ArgKind | 'seed';
  args: Record<string, unknown>;
  outcome: string;
  text?: string;
}

/** Arguments as a short readable string: long strings and deep values shortened, so a failure names its call. */
function describeArgs(args: Record<string, unknown>): string {
  const shorten = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return value.length > 120 ? `<${value.length} chars: ${JSON.stringify(value.slice(0, 40))}…>` : value;
    if (value === null || typeof value !== 'object') return value;
    if (depth > 4) return '<nested deeper>';
    if (Array.isArray(value)) return value.map((v) => shorten(v, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.length > 40 ? `${k.slice(0, 40)}…` : k, shorten(v, depth + 1)]));
  };
  return JSON.stringify(shorten(args, 0));
}

/** A call's outcome: ok, the `[CODE]` of a refusal, SCHEMA (the SDK refused the arguments), or what went wrong. */
function classify(result: CallToolResult): { outcome: string; text: string } {
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  if (!result.isError) return { outcome: 'ok', text };
  const code = /^\[([A-Z_]+)\]/.exec(text)?.[1];
  if (code) return { outcome: code, text };
  if (/Input validation error/.test(text)) return { outcome: 'SCHEMA', text };
  return { outcome: 'UNCODED', text };
}

/**
 * Records for the fuzzed calls to reach: the tiny model, a dataset and its split, a 2-step config and its plan.
 * Best effort: each step runs when the one before gave an id; returns every id seen.
 */
async function seedRecords(client: Client, calls: CallRecord[], scratch: string): Promise<string[]> {
  const call = async (name: string, args: Record<string, unknown>) => (await callAndRecord(client, calls, name, 'seed', args)) ?? {};
  const model = await call('import_model', { source: join(scratch, 'stories260K.bin'), tokenizer: join(scratch, 'tok512.bin') });
  const dataset = await call('prepare_dataset', { path: join(scratch, 'ok.jsonl') });
  const split = dataset.dataset_id ? await call('split_dataset', { dataset_id: dataset.dataset_id }) : {};
  const modelId = idsIn(model).find((id) => id.startsWith('mdl_'));
  const config = modelId && split.dataset_id ? await call('configure_training', { base_model: modelId, dataset_id: split.dataset_id, backend: 'local', overrides: { max_steps: 2 } }) : {};
  const plan = config.config_id ? await call('plan_training', { config_id: config.config_id }) : {};
  return idsIn([model, dataset, split, config, plan]);
}

/** One call, recorded with its outcome; returns its structured content when it succeeded. */
async function callAndRecord(client: Client, calls: CallRecord[], tool: string, kind: CallRecord['kind'], args: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
  const record: CallRecord = { i: calls.length, tool, kind, args, outcome: '' };
  calls.push(record);
  try {
    const result = (await client.callTool({ name: tool, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS })) as CallToolResult;
    Object.assign(record, classify(result));
    return result.isError ? undefined : (result.structuredContent as Record<string, unknown>);
  } catch (error) {
    record.outcome = 'THROWN';
    record.text = String((error as Error).message ?? error);
    return undefined;
  }
}

/** A field whose schema takes objects of any shape (a record or no type), where nesting reaches the tool. */
function acceptsAnyValue(schema: JsonSchema): boolean {
  const types = schema.anyOf?.flatMap((s) => s.type ?? 'any') ?? [schema.type ?? 'any'];
  return types.flat().some((t) => t === 'any' || (t === 'object' && !schema.properties) || t === 'array');
}

/** Limits that keep a call short, whatever the generator drew (wait_s would hold a call up to 50 s). */
function neuter(tool: string, args: Record<string, unknown>): Record<string, unknown> {
  if (typeof args.wait_s === 'number' && args.wait_s > 1) args.wait_s = 1;
  if (tool === 'generate' && typeof args.max_tokens === 'number' && args.max_tokens > 16) args.max_tokens = 16;
  return args;
}

describe('fuzz: every tool with random and hostile arguments over HTTP', () => {
  let dir: string;
  let server: FuzzServer;
  let client: Client;
  let transport: StreamableHTTPClientTransport;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ftm-fuzz-'));
    mkdirSync(join(dir, 'home'));
    mkdirSync(join(dir, 'scratch'));
    server = await startFuzzServer({ home: join(dir, 'home'), roots: join(dir, 'scratch'), cwd: join(dir, 'scratch') });
    client = new Client({ name: 'fuzz', version: '0' });
    transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`));
    await client.connect(transport);
  }, 90_000);
  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    `answers every call, keeps /healthz under ${HEALTHZ_BOUND_MS} ms and RSS under ${RSS_BOUND_MB} MB (seed ${SEED})`,
    async () => {
      const scratch = join(dir, 'scratch');
      const home = join(dir, 'home', 'workspace');
      const hostile = writeHostileFiles(scratch, SEED);
      const paths = [
        ...hostile,
        ...hostile.map((p) => p.slice(scratch.length + 1)),
        '../../etc/passwd',
        `${scratch}/../../../../etc/passwd`,
        '/etc/shadow',
        '/etc/passwd',
        '/proc/self/environ',
        '/dev/zero',
        '/',
        scratch,
        home,
        join(home, 'workspace.db'),
        join(scratch, 'out', 'new.jsonl'),
        join(scratch, 'missing', 'deep', 'x.jsonl'),
        `${scratch}/${'a'.repeat(300)}/${'b'.repeat(5000)}.jsonl`,
        '~/.ssh/id_rsa',
        'file:///etc/passwd',
        'https://example.com/data.jsonl',
        'HuggingFaceTB/SmolLM2-135M',
        '',
      ];
      const gen = new ArgGenerator(SEED, { paths, ids: [] });
      const { tools } = await client.listTools();
      expect(tools.length).toBeGreaterThanOrEqual(40);
      const health = watchHealth(server.url, server.child.pid!);
      const started = performance.now();
      const calls: CallRecord[] = [];
      const pool = gen.pools;
      const seeded = await seedRecords(client, calls, scratch);
      pool.ids.push(...seeded);

      // Round 0 calls every tool with valid-shaped arguments; later rounds draw a kind at random, in a seeded tool order.
      rounds: for (let round = 0; round < CALLS_PER_TOOL; round++) {
        const order: Tool[] = round === 0 ? tools : gen.shuffle(tools);
        for (const tool of order) {
          if (performance.now() - started > TIME_BUDGET_MS) break rounds;
          const kind: ArgKind = round === 0 ? 'valid' : gen.pick(ARG_KINDS);
          const args = neuter(tool.name, gen.args(tool.inputSchema as JsonSchema, kind));
          const structured = await callAndRecord(client, calls, tool.name, kind, args);
          // Configs and plans come from the seed only: theirs train 2 steps, a drawn one could train for minutes.
          pool.ids.push(...idsIn(structured).filter((id) => !pool.ids.includes(id) && !/^(cfg|plan)_/.test(id)));
          if (server.child.exitCode !== null || server.child.signalCode !== null) break rounds;
        }
      }

      // Nesting past what the SDK client can send, as raw JSON text in the same session: answered, not fatal.
      const deep: CallRecord[] = [];
      for (const tool of tools) {
        for (const [field, schema] of Object.entries((tool.inputSchema as JsonSchema).properties ?? {})) {
          if (!acceptsAnyValue(schema)) continue;
          const res = await postDeepCall(server.url, transport.sessionId!, tool.name, field, 100_000);
          const result = (/^data: (.*)$/m.exec(res.text)?.[1] ?? res.text).trim();
          const parsed = JSON.parse(result) as { result?: CallToolResult; error?: { message: string } };
          const record: CallRecord = { i: -1, tool: tool.name, kind: 'deep_nesting', args: { [field]: '<100,000 levels of {"a": …}>' }, outcome: '' };
          Object.assign(record, parsed.result ? classify(parsed.result) : { outcome: 'THROWN', text: `${res.status} ${parsed.error?.message}` });
          deep.push(record);
        }
      }

      // Jobs a call may have started are cancelled, so the workspace is left quiet.
      const jobs = (await client.callTool({ name: 'list_jobs', arguments: { limit: 200 } })) as CallToolResult;
      for (const job of ((jobs.structuredContent as { jobs?: { job_id: string; status: string }[] })?.jobs ?? []).filter((j) => !['succeeded', 'failed', 'cancelled'].includes(j.status))) {
        await client.callTool({ name: 'cancel_training', arguments: { job_id: job.job_id } });
      }
      const stats = await health.stop();
      const byOutcome: Record<string, number> = {};
      for (const c of calls) byOutcome[c.outcome] = (byOutcome[c.outcome] ?? 0) + 1;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        `fuzz seed ${SEED}: ${calls.length} calls over ${tools.length} tools in ${seconds} s; outcomes ${JSON.stringify(byOutcome)}; ` +
          `/healthz ${stats.polls} polls, max ${Math.round(stats.maxLatencyMs)} ms; peak RSS ${Math.round(stats.peakRssMb)} MB (every ~2 s: ${stats.rssTrail.join(' ')}); ids ${pool.ids.length} (seeded ${seeded.join(' ')})`,
      );

      if (process.env.FUZZ_VERBOSE) for (const c of calls) console.log(`#${c.i} ${c.tool} ${c.kind} ${describeArgs(c.args).slice(0, 300)} -> ${c.outcome} ${(c.text ?? '').slice(0, 200)}`);
      console.log(`deep (raw 100,000 levels): ${deep.map((d) => `${d.tool}.${Object.keys(d.args)[0]} ${d.outcome}`).join(', ')}`);
      const bad = [...calls, ...deep].filter((c) => ['INTERNAL', 'UNCODED', 'THROWN'].includes(c.outcome));
      const report = bad
        .slice(0, 10)
        .map((c) => `#${c.i} ${c.tool} (${c.kind}) ${describeArgs(c.args)}\n  -> ${c.outcome}: ${(c.text ?? '').slice(0, 400)}`)
        .join('\n');
      const log = server.stderr.filter((l) => /"level":(50|60)|FATAL/.test(l)).slice(-10).join('\n');
      expect(server.child.exitCode, `the server exited (seed ${SEED}); last call: ${describeArgs(calls.at(-1)?.args ?? {})}\n${server.stderr.slice(-20).join('\n')}`).toBeNull();
      expect(server.child.signalCode).toBeNull();
      expect(bad.length, `seed ${SEED}: ${bad.length} calls failed:\n${report}\nserver log:\n${log}`).toBe(0);
      expect(server.networkAttempts, `seed ${SEED}: the server tried the network`).toEqual([]);
      expect(stats.failures, `seed ${SEED}: /healthz failed`).toEqual([]);
      expect(stats.maxLatencyMs, `seed ${SEED}: /healthz took ${Math.round(stats.maxLatencyMs)} ms`).toBeLessThan(HEALTHZ_BOUND_MS);
      if (stats.peakRssMb > 0) expect(stats.peakRssMb, `seed ${SEED}: peak RSS`).toBeLessThan(RSS_BOUND_MB);
      // Every tool was reached, and the run did more than refuse shapes.
      expect(new Set(calls.map((c) => c.tool)).size).toBe(tools.length);
      expect(byOutcome.ok ?? 0).toBeGreaterThan(0);
    },
    TIME_BUDGET_MS + 90_000,
  );
});
