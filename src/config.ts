import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { delimiter, extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { FinetuneError } from './errors.js';
import { DatasetSettingsSchema } from './datasets/settings.js';
import { ModelSettingsSchema } from './models/settings.js';
import { TrainingSettingsSchema } from './training/settings.js';
import { JudgeSettingsSchema } from './evaluation/judges/settings.js';
import { GeneratorSettingsSchema } from './generation/settings.js';
import { EvaluationSettingsSchema } from './evaluation/gates.js';
import { ImprovementSettingsSchema } from './improvement/settings.js';
import { implicitRoots } from './workspace/confine.js';

/** Tool groups, by stage of the work; tools/index.ts says which tools each holds. */
export const TOOL_GROUPS = ['data', 'train', 'judge', 'ship', 'generate', 'improve', 'deploy', 'admin'] as const;
export type ToolGroup = (typeof TOOL_GROUPS)[number];
/** The groups listed unless the config says otherwise: the common path from data to a promoted version. */
export const DEFAULT_TOOL_GROUPS: readonly ToolGroup[] = ['data', 'train', 'judge', 'ship'];

/**
 * The server configuration. Layers, each overriding the one before:
 * defaults < config file (`--config` or FINETUNE_MCP_CONFIG; JSON or YAML) < environment < flags.
 * Areas add their own sections here (datasets, training, evaluation) with defaults.
 */
const ConfigSchema = z.object({
  home: z.string().min(1).describe('Workspace root: database and artifacts. Default ~/.finetune-mcp.'),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  allowed_roots: z.array(z.string()).describe('Folders tools may read and write besides the workspace (and the MCP roots a client sends). Default: the folder the server starts in, unless that is /, the home folder or a system folder.'),
  http: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8765),
      token: z.string().min(16, 'a bearer token needs at least 16 characters').optional(),
      allowed_hosts: z
        .array(z.string().min(1))
        .default([])
        .describe('Host header names (port ignored) accepted besides localhost, 127.0.0.0/8, [::1] and the bound address, e.g. ["gpu-box.lan"]. Others get 403 (DNS rebinding).'),
      allowed_origins: z
        .array(z.string().regex(/^https?:\/\/[^\s/]+$/i, 'an origin is scheme://host[:port], e.g. https://app.example.com'))
        .default([])
        .describe('Browser origins accepted besides loopback ones, e.g. ["https://app.example.com"]; browsers always need the token. Others get 403.'),
      session_idle_s: z.number().positive().default(1800).describe('Seconds a session with no request and no open stream lives before it is closed (its id then gets 404). Default 1800.'),
      max_sessions: z.number().int().min(1).default(100).describe('Open sessions at most; a new one evicts the longest-idle session, or gets 503 when all are busy. Default 100.'),
    })
    .prefault({}),
  /** The OpenAI-compatible endpoint (serve-model, and /v1 of serve --http). */
  serving: z
    .object({
      max_concurrent: z.number().int().min(1).default(1).describe('Requests the engine answers at once; the rest wait in the queue. Default 1 (one CPU generation uses every core).'),
      max_queued: z.number().int().min(0).default(16).describe('Requests that may wait; one more is answered 429 (rate_limit_exceeded). Default 16.'),
    })
    .prefault({}),
  /** Third-party plugins, by npm package name. */
  external_plugins: z.array(z.string()).default([]),
  /** Per-plugin config sections, validated by each plugin's own schema. */
  plugins: z.record(z.string(), z.unknown()).default({}),
  /** The training control plane: method thresholds, prices, device speeds, job watching. */
  training: TrainingSettingsSchema.prefault({}),
  /** The data stage: streaming limits, validation thresholds, PII patterns. */
  datasets: DatasetSettingsSchema.prefault({}),
  /** Base models: the Hugging Face Hub endpoint for imports. */
  models: ModelSettingsSchema.prefault({}),
  /** LLM-as-judge endpoint (OpenAI-compatible) used when the client cannot sample. */
  judge: JudgeSettingsSchema.prefault({}),
  /** The model that writes candidate rows for human review (generate_dataset), configured like the judge. */
  generator: GeneratorSettingsSchema.prefault({}),
  /** Evaluation: quality gates (BLEU ≥ 35, ROUGE-L ≥ 0.40, win-rate ≥ 0.65 by default) and bootstrap settings. */
  evaluation: EvaluationSettingsSchema.prefault({}),
  /** Improvement policies: the judge failure rate that raises an alert. */
  improvement: ImprovementSettingsSchema.prefault({}),
  /** Which tool groups tools/list shows; the others still run when called by name, and enable_tools lists them. */
  tools: z
    .object({
      groups: z
        .array(z.enum([...TOOL_GROUPS, 'all']))
        .min(1)
        .default([...DEFAULT_TOOL_GROUPS])
        .describe('Tool groups to list: data, train, judge, ship, generate, improve, deploy, admin, or "all". Default data, train, judge, ship.'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
/** Settings as written in a config file: every field with a default may be left out, at any depth. */
export type ConfigOverrides = Partial<z.input<typeof ConfigSchema>>;

interface LoadConfigInput {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => string;
  cwd?: string;
  /** Settings given in code (an embedding program, a test), over every other layer; parsed like the rest. */
  overrides?: ConfigOverrides;
}

/** Flags that map onto config keys; other argv entries are ignored here (the CLI owns them). */
const FLAG_KEYS: Record<string, string> = {
  '--home': 'home',
  '--log-level': 'log_level',
  '--host': 'http.host',
  '--port': 'http.port',
  '--tool-groups': 'tools.groups',
};

const ENV_KEYS: Record<string, string> = {
  FINETUNE_MCP_HOME: 'home',
  FINETUNE_MCP_LOG_LEVEL: 'log_level',
  FINETUNE_MCP_HOST: 'http.host',
  FINETUNE_MCP_PORT: 'http.port',
  FINETUNE_MCP_TOKEN: 'http.token',
  FINETUNE_MCP_ALLOWED_HOSTS: 'http.allowed_hosts',
  FINETUNE_MCP_ALLOWED_ORIGINS: 'http.allowed_origins',
  FINETUNE_MCP_ALLOWED_ROOTS: 'allowed_roots',
  HF_ENDPOINT: 'models.hub_url',
  FINETUNE_MCP_JUDGE_API_KEY: 'judge.api_key',
  FINETUNE_MCP_GENERATOR_API_KEY: 'generator.api_key',
  FINETUNE_MCP_TOOL_GROUPS: 'tools.groups',
};

type Layer = { source: string; values: Record<string, unknown> };

/**
 * Settings that were removed, with where their job went. A config that still sets one is refused
 * with this, so that a value the server used to honour is not silently ignored.
 */
const REMOVED_KEYS: Record<string, string> = {
  'training.prices':
    "Prices are each training backend's own now (its quote()): OpenAI's per-model price is set with plugins.openai.models.<model>: {token_limit, usd_per_million_training_tokens}; Together and Modal quote their published list prices and local training is free, none of them configurable.",
};

/**
 * Parses the layers with zod; a bad value throws CONFIG_INVALID naming the key, its source and the fix.
 * Every section of the result is whole (defaults filled in), so code using a section never re-parses it.
 */
export function loadConfig(input: LoadConfigInput = {}): Config {
  const env = input.env ?? {};
  const argv = input.argv ?? [];
  const cwd = input.cwd ?? process.cwd();
  // The start folder is allowed unless it is /, the home folder or a system folder (desktop clients start servers there).
  const layers: Layer[] = [{ source: 'defaults', values: { home: join(homedir(), '.finetune-mcp'), allowed_roots: implicitRoots(cwd) } }];

  const configPath = flagValue(argv, '--config') ?? env.FINETUNE_MCP_CONFIG;
  if (configPath) layers.push({ source: `config file ${configPath}`, values: readConfigFile(resolve(cwd, configPath), input.readFile) });

  const envValues: Record<string, unknown> = {};
  const envSources: Record<string, string> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(envValues, key, coerce(key, raw));
    envSources[key] = `environment variable ${name}`;
  }
  layers.push({ source: 'environment', values: envValues });

  const flagValues: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FLAG_KEYS)) {
    const raw = flagValue(argv, flag);
    if (raw !== undefined) setPath(flagValues, key, coerce(key, raw));
  }
  layers.push({ source: 'command-line flags', values: flagValues });
  if (input.overrides) layers.push({ source: 'overrides given in code', values: input.overrides });

  const sourceOf = (key: string) => envSources[key] ?? [...layers].reverse().find((l) => getPath(l.values, key) !== undefined)?.source ?? 'defaults';
  for (const [key, moved] of Object.entries(REMOVED_KEYS)) {
    if (!layers.some((l) => getPath(l.values, key) !== undefined)) continue;
    const source = sourceOf(key);
    throw new FinetuneError('CONFIG_INVALID', `Config key '${key}' (from ${source}) was removed and would be ignored. ${moved}`, {
      recovery: `Remove '${key}' from ${source} (move a price you rely on to where the message says).`,
      details: { field: key, source },
    });
  }
  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => deepMerge(acc, layer.values), {});
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue.code === 'unrecognized_keys') {
      const key = [...issue.path, issue.keys[0]].join('.');
      const source = sourceOf(key);
      throw new FinetuneError('CONFIG_INVALID', `Config key '${key}' (from ${source}) is not a setting of '${issue.path.join('.')}'.`, {
        recovery: `Remove '${key}' from ${source}, or correct its spelling${issue.path[0] === 'training' ? ' (docs/training.md lists the settings)' : ''}.`,
        details: { field: key, source },
      });
    }
    const key = issue.path.join('.');
    const source = sourceOf(key);
    throw new FinetuneError('CONFIG_INVALID', `Config key '${key}' (from ${source}) is invalid: ${issue.message}.`, {
      recovery: `Set '${key}' to a valid value in ${source}, or remove it to use the default.`,
      details: { field: key, source },
    });
  }
  const config = parsed.data;
  config.home = resolve(cwd, config.home);
  config.allowed_roots = config.allowed_roots.map((p) => resolve(cwd, p));
  return config;
}

function readConfigFile(path: string, readFile?: (path: string) => string): Record<string, unknown> {
  let text: string;
  try {
    text = readFile ? readFile(path) : readFileSync(path, 'utf8');
  } catch (error) {
    throw new FinetuneError('CONFIG_INVALID', `Cannot read config file ${path}: ${(error as Error).message}`, {
      recovery: 'Pass an existing JSON or YAML file with --config or FINETUNE_MCP_CONFIG.',
    });
  }
  let value: unknown;
  try {
    // The yaml package loads only for a YAML config: start-up with JSON or no file skips it.
    value = extname(path) === '.json' ? JSON.parse(text) : (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
  } catch (error) {
    throw new FinetuneError('CONFIG_INVALID', `Config file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message}`, {
      recovery: 'Fix the syntax at the position given.',
    });
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new FinetuneError('CONFIG_INVALID', `Config file ${path} must hold an object of settings.`);
  }
  return value as Record<string, unknown>;
}

function coerce(key: string, raw: string): unknown {
  if (key === 'http.port') return /^\d+$/.test(raw) ? Number(raw) : raw;
  if (key === 'allowed_roots') return raw.split(delimiter).filter(Boolean);
  if (key === 'http.allowed_hosts' || key === 'http.allowed_origins') return raw.split(',').map((v) => v.trim()).filter(Boolean);
  if (key === 'tools.groups') return raw.split(',').map((g) => g.trim()).filter(Boolean);
  return raw;
}

export function flagValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1];
    if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
  }
  return undefined;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]] = value;
}

function getPath(target: Record<string, unknown>, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), target);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
