#!/usr/bin/env node
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { flagValue, loadConfig, type Config } from './config.js';
import { isFinetuneError } from './errors.js';
import { createLogger } from './observability/logger.js';
import { avoidPretenuring } from './streaming-heap.js';
import { PACKAGE_VERSION } from './version.js';
// The server, services and tools are imported when a command needs them, so --help stays instant.

avoidPretenuring();

const HELP = `finetune-mcp: an MCP server that lets agents fine-tune models (data, plan, train, judge, ship)

Usage:
  finetune-mcp serve                        MCP over stdio (what MCP clients launch)
  finetune-mcp serve --http [--host H] [--port P]
                                            Streamable HTTP at /mcp, the dashboard at /ui (needs FINETUNE_MCP_TOKEN),
                                            plus /healthz and /metrics
  finetune-mcp serve-model --version NAME@1.0.0 [--host H] [--port P]
                                            an OpenAI-compatible endpoint (/v1/models, /v1/chat/completions,
                                            /v1/completions) for one registered version, plus /healthz and /metrics
  finetune-mcp demo                         the whole path, offline, on a tiny model
  finetune-mcp demo generate                rows written by the tiny model from a handbook, approved
                                            through the review CLI, committed and trained on
  finetune-mcp demo improve                 the improvement loop: shipped spans judged by the tiny
                                            model (P(yes)), pooled, retrained on, a gated release
  finetune-mcp <tool> [--arg value ...]     call one tool in-process and print its result
  finetune-mcp tools                        list the tools and their arguments
  finetune-mcp review list|show|approve|reject|commit …
                                            review generated rows (finetune-mcp review --help)
  finetune-mcp improve --policy NAME        run one cycle of an improvement policy (from cron);
                                            exit 1 when it fails
  finetune-mcp --help | --version

Tool arguments: --dataset_id ds_123 (or --dataset-id), numbers and booleans as text,
arrays and objects as JSON; or all at once with --args '{"dataset_id":"ds_123"}'. Add --json for
machine-readable output (the structured result, or {"error": ...}); exit code 1 when the tool fails.

Options for every command:
  --config FILE      JSON or YAML config (or FINETUNE_MCP_CONFIG)
  --home DIR         workspace root (or FINETUNE_MCP_HOME; default ~/.finetune-mcp)
  --log-level LEVEL  fatal|error|warn|info|debug|trace|silent (logs go to stderr)
  --tool-groups G,G  tool groups a served session lists: data, train, judge, ship, generate, improve, deploy, admin or all
                     (or FINETUNE_MCP_TOOL_GROUPS; default data,train,judge,ship; enable_tools adds
                     the others in a session); tool commands and the demo reach every tool

Environment: FINETUNE_MCP_TOKEN (bearer token for --http; required off loopback), FINETUNE_MCP_HOME,
FINETUNE_MCP_CONFIG, FINETUNE_MCP_ALLOWED_ROOTS, FINETUNE_MCP_HOST, FINETUNE_MCP_PORT.`;

/** Options that belong to the CLI or config, never passed to a tool. */
const GLOBAL_FLAGS = new Set(['--config', '--home', '--log-level', '--host', '--port', '--tool-groups', '--json', '--http', '--args']);

/** The CLI's own commands; any other command names a tool. */
const COMMANDS = new Set(['serve', 'serve-model', 'demo', 'tools', 'review', 'improve', 'help']);

/**
 * The command (the first word that is neither a flag nor a global flag's value) and whether the
 * program's --version was asked for: before the command or after one of the CLI's own commands,
 * never as a tool's argument (`register_model --version 1.0.0` passes the version to the tool).
 */
export function parseCommandLine(argv: readonly string[]): { command: string | undefined; version: boolean } {
  let at = -1;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('-')) {
      at = i;
      break;
    }
    if (GLOBAL_FLAGS.has(token) && !['--json', '--http'].includes(token)) i++; // skip its value
  }
  const command = at < 0 ? undefined : argv[at];
  // After a tool or serve-model, --version is the model version asked for, not the program's.
  const flags = command && (!COMMANDS.has(command) || command === 'serve-model') ? argv.slice(0, at) : argv;
  return { command, version: flags.includes('--version') };
}

export async function main(argv: string[]): Promise<number> {
  const { command, version } = parseCommandLine(argv);
  if (version) {
    process.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }
  if (command === 'review' && (argv.includes('--help') || argv.includes('-h'))) {
    process.stdout.write(`${(await import('./generation/review-cli.js')).REVIEW_HELP}\n`);
    return 0;
  }
  if (!command || argv.includes('--help') || argv.includes('-h') || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return command || argv.includes('--help') || argv.includes('-h') ? 0 : 1;
  }
  let config: Config;
  try {
    config = loadConfig({ argv, env: process.env });
  } catch (error) {
    process.stderr.write(`${isFinetuneError(error) ? error.toText() : String(error)}\n`);
    return 2;
  }
  if (command === 'serve') return serve(config, argv);
  if (command === 'serve-model') return serveModel(config, argv);
  if (command === 'demo') {
    if (withoutGlobalFlags(argv).includes('generate')) return (await import('./demo-generate.js')).runGenerateDemo(config, argv);
    if (withoutGlobalFlags(argv).includes('improve')) return (await import('./demo-improve.js')).runImproveDemo(config, argv);
    const { runDemo } = await import('./demo.js');
    return runDemo(config, argv);
  }
  if (command === 'tools') return listTools();
  if (command === 'review') return review(config, argv);
  if (command === 'improve') return improve(config, argv);
  return callTool(config, command, argv);
}

/** `review …`: the review queue for people at a terminal (src/generation/review-cli.ts). */
async function review(config: Config, argv: string[]): Promise<number> {
  const { closeServices, createServices } = await import('./services.js');
  const { runReviewCommand } = await import('./generation/review-cli.js');
  const services = await createServices(config, { logger: createLogger({ level: flagValue(argv, '--log-level') ?? 'warn' }) });
  try {
    // Global flags and their values go first, so the first 'review' left is the command.
    const words = withoutGlobalFlags(argv);
    return await runReviewCommand(services, words.slice(words.indexOf('review') + 1), (text) => process.stdout.write(`${text}\n`));
  } catch (error) {
    process.stderr.write(`${isFinetuneError(error) ? error.toText() : String(error)}\n`);
    return 1;
  } finally {
    await closeServices(services);
  }
}

/** `improve --policy NAME`: one cycle of an improvement policy, for cron (docs/improvement-loop.md). */
async function improve(config: Config, argv: string[]): Promise<number> {
  const policy = flagValue(argv, '--policy');
  if (!policy) {
    process.stderr.write('Usage: finetune-mcp improve --policy NAME [--json]  (list_improvement_policies names them)\n');
    return 2;
  }
  const { closeServices, createServices } = await import('./services.js');
  const services = await createServices(config, { logger: createLogger({ level: flagValue(argv, '--log-level') ?? 'warn' }) });
  try {
    const { runImprovementCycle } = await import('./improvement/cycle.js');
    const { cycle, pool } = await runImprovementCycle(services, policy);
    const out = { cycle_id: cycle.id, decision: cycle.decision, reason: cycle.reason, judged: cycle.judged, added: cycle.added, job_id: cycle.job_id, evaluation_ids: cycle.evaluation_ids, pool };
    process.stdout.write(argv.includes('--json') ? `${JSON.stringify(out)}\n` : `${policy} ${cycle.id}: ${cycle.decision} (${cycle.reason}); pool ${pool.unused} waiting, ${pool.used} trained on\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${isFinetuneError(error) ? error.toText() : String(error)}\n`);
    return 1;
  } finally {
    await closeServices(services);
  }
}

function withoutGlobalFlags(args: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (!GLOBAL_FLAGS.has(args[i])) kept.push(args[i]);
    else if (!['--json', '--http'].includes(args[i])) i++; // and its value
  }
  return kept;
}

async function serve(config: Config, argv: string[]): Promise<number> {
  if (!argv.includes('--http')) {
    const { closeServices, createServices } = await import('./services.js');
    const logger = createLogger({ level: config.log_level });
    const { routeConsoleToStderr, serveStdio } = await import('./server/stdio.js');
    routeConsoleToStderr();
    // The stdio server runs the start-up duties after the handshake: agents start it every session.
    const services = await createServices(config, { logger, deferStartup: true });
    const scheduler = (await import('./improvement/scheduler.js')).startPolicyScheduler(services);
    await serveStdio(services);
    await scheduler.stop();
    await closeServices(services);
    return 0;
  }
  return serveHttpUntilStopped(config);
}

/** `serve-model --version name@1.0.0`: the OpenAI-compatible API for one version, without /mcp (src/serving). */
async function serveModel(config: Config, argv: string[]): Promise<number> {
  const version = flagValue(argv, '--version');
  if (!version) {
    process.stderr.write('Usage: finetune-mcp serve-model --version NAME@1.0.0 [--host H] [--port P]  (list_model_versions names the versions)\n');
    return 2;
  }
  return serveHttpUntilStopped(config, version);
}

/** `serve --http` (MCP and /v1), or `serve-model` (one version's /v1): serves until SIGINT/SIGTERM; 2 when it cannot start. */
async function serveHttpUntilStopped(config: Config, onlyVersion?: string): Promise<number> {
  const { serveHttp } = await import('./server/http.js');
  const { closeServices, createServices } = await import('./services.js');
  const services = await createServices(config, { logger: createLogger({ level: config.log_level }) });
  try {
    const handle = await serveHttp(services, { host: config.http.host, port: config.http.port, token: config.http.token, onlyVersion });
    process.stderr.write(onlyVersion ? `finetune-mcp serving ${onlyVersion} at ${handle.url}/v1 (OpenAI-compatible)\n` : `finetune-mcp listening on ${handle.url}/mcp (OpenAI-compatible API at /v1)\n`);
    // Improvement policies run beside the MCP server, not beside one served version.
    const scheduler = onlyVersion ? undefined : (await import('./improvement/scheduler.js')).startPolicyScheduler(services);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await scheduler?.stop();
    await handle.close();
    await closeServices(services);
    return 0;
  } catch (error) {
    process.stderr.write(`${isFinetuneError(error) ? error.toText() : String(error)}\n`);
    await closeServices(services);
    return 2;
  }
}

async function listTools(): Promise<number> {
  const { TOOLS } = await import('../tools/index.js');
  for (const tool of TOOLS) {
    const args = Object.keys(tool.input).map((k) => `--${k}`).join(' ');
    process.stdout.write(`${tool.name}${args ? ` ${args}` : ''}\n    ${tool.title}\n`);
  }
  return 0;
}

/** Calls a tool through a real MCP client over an in-memory link, so the CLI takes the same path as any client. */
async function callTool(config: Config, name: string, argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const { TOOLS } = await import('../tools/index.js');
  const tool = TOOLS.find((t) => t.name === name);
  if (!tool) {
    process.stderr.write(`Unknown command or tool '${name}'. Run 'finetune-mcp tools' to list the tools, or --help.\n`);
    return 2;
  }
  const logger = createLogger({ level: flagValue(argv, '--log-level') ?? 'warn' });
  const { closeServices, createServices } = await import('./services.js');
  const { connectInProcess } = await import('./server/in-process-client.js');
  // A person typing a tool command chose its paths in their shell: the folder they run it in is allowed, whichever it is.
  const services = await createServices({ ...config, allowed_roots: [...config.allowed_roots, process.cwd()] }, { logger });
  const link = await connectInProcess(services);
  try {
    const inputSchema = z.toJSONSchema(z.object(tool.input)) as Tool['inputSchema'];
    const result = await link.call(name, parseToolArgs({ inputSchema }, argv));
    printResult(result, json);
    return result.isError ? 1 : 0;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  } finally {
    await link.close();
    await closeServices(services);
  }
}

/** Turns `--dataset-id ds_1 --max_steps 5` into arguments, typed by the tool's JSON schema. */
export function parseToolArgs(tool: Pick<Tool, 'inputSchema'>, argv: readonly string[]): Record<string, unknown> {
  const properties = (tool.inputSchema.properties ?? {}) as Record<string, { type?: string | string[] }>;
  const args: Record<string, unknown> = {};
  const bulk = flagValue(argv, '--args');
  if (bulk) Object.assign(args, JSON.parse(bulk));
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('--')) continue;
    const [flag, inline] = token.includes('=') ? [token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1)] : [token, undefined];
    if (GLOBAL_FLAGS.has(flag)) {
      if (inline === undefined && !['--json', '--http'].includes(flag)) i++;
      continue;
    }
    const key = flag.slice(2).replaceAll('-', '_');
    const type = properties[key]?.type;
    const next = argv[i + 1];
    let raw: string;
    if (inline !== undefined) raw = inline;
    else if (type === 'boolean' && (next === undefined || next.startsWith('--'))) raw = 'true';
    else {
      raw = next ?? '';
      i++;
    }
    args[key] = type === 'string' ? raw : parseLoose(raw);
  }
  return args;
}

function parseLoose(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function printResult(result: CallToolResult, json: boolean): void {
  const text = result.content
    .filter((c): c is { type: 'text'; text: string } => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
  if (json) {
    const value = result.isError ? { error: { code: (result._meta as { code?: string } | undefined)?.code, message: text } } : (result.structuredContent ?? { text });
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  if (result.isError) {
    process.stderr.write(`${text}\n`);
    return;
  }
  if (!result.structuredContent) {
    process.stdout.write(`${text}\n`);
    return;
  }
  // The text is the summary, then the structured result as compact JSON on its last line: print that JSON readably.
  const summary = text.includes('\n') ? text.slice(0, text.lastIndexOf('\n')) : '';
  process.stdout.write(`${summary ? `${summary}\n` : ''}${JSON.stringify(result.structuredContent, null, 2)}\n`);
}

function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
