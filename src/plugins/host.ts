import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError, type ErrorCode } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { importPluginPackage } from './load-package.js';
import {
  PLUGIN_API_VERSION,
  PROVIDER_KINDS,
  type PluginCapabilities,
  type PluginContext,
  type PluginDefinition,
  type PluginProviders,
  type ProviderKind,
  type Unavailable,
  type WorkerLedger,
} from './types.js';

interface PluginStatus {
  name: string;
  version: string;
  description: string;
  source: 'builtin' | 'package';
  status: 'enabled' | 'disabled';
  provides: ProviderKind[];
  capabilities: PluginCapabilities;
  /** Kinds the plugin declares but withholds with this config (probe's `withheld`), each with why and the fix. */
  unavailable?: Array<{ kind: ProviderKind } & Unavailable>;
  /** Why it is disabled, with a stable code and what to do. */
  code?: ErrorCode;
  reason?: string;
  fix?: string;
}

interface Entry {
  definition: PluginDefinition<unknown>;
  status: PluginStatus;
  context?: PluginContext<unknown>;
  providers?: Promise<PluginProviders>;
}

interface PluginHostOptions {
  /** Where each plugin's own folder goes: `<plugins_dir>/<name>` becomes its `ctx.data_dir`. */
  pluginsDir: string;
  workers: WorkerLedger;
  logger: Logger;
  /** Per-plugin config sections, keyed by plugin name (`plugins.<name>` in the config file). */
  configs: Record<string, unknown>;
  env: Readonly<Record<string, string | undefined>>;
}

const NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
const SEMVER_PATTERN = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

/**
 * Loads plugins from an explicit list, validates each in a fixed order with stable codes,
 * and never lets one failing plugin stop the server: it is listed as disabled with its reason.
 */
export class PluginHost {
  private readonly entries = new Map<string, Entry>();
  private readonly rejected: PluginStatus[] = [];

  constructor(private readonly options: PluginHostOptions) {}

  /** Registers and probes built-in definitions and third-party packages (imported by name). */
  async load(builtins: readonly PluginDefinition<any>[], packages: readonly string[] = []): Promise<void> {
    for (const definition of builtins) await this.register(definition, 'builtin');
    for (const packageName of packages) {
      let definition: unknown;
      try {
        const module = await importPluginPackage(packageName);
        definition = module.default ?? module.plugin;
      } catch (error) {
        this.reject(packageName, 'package', 'PLUGIN_LOAD_FAILED', `Cannot import plugin package '${packageName}': ${(error as Error).message}`);
        continue;
      }
      await this.register(definition, 'package', packageName);
    }
  }

  /** Validates one definition: shape, duplicate name, api version, config, then probe. */
  async register(candidate: unknown, source: PluginStatus['source'], label?: string): Promise<PluginStatus> {
    const shapeProblem = describeShapeProblem(candidate);
    if (shapeProblem) return this.reject(label ?? nameOf(candidate), source, 'PLUGIN_INVALID', shapeProblem);
    const definition = candidate as PluginDefinition<unknown>;
    const { name } = definition.meta;
    if (this.entries.has(name)) {
      return this.reject(name, source, 'PLUGIN_DUPLICATE', `A plugin named '${name}' is already registered.`, definition);
    }
    if (definition.meta.api_version !== PLUGIN_API_VERSION) {
      return this.reject(
        name,
        source,
        'PLUGIN_API_VERSION',
        `Plugin '${name}' targets plugin API ${definition.meta.api_version}; this server speaks ${PLUGIN_API_VERSION}.`,
        definition,
      );
    }
    const rawConfig = this.options.configs[name] ?? {};
    let config: unknown = rawConfig;
    if (definition.configSchema) {
      const parsed = definition.configSchema.safeParse(rawConfig);
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        const where = first ? `plugins.${name}.${first.path.join('.')}` : `plugins.${name}`;
        return this.reject(name, source, 'PLUGIN_CONFIG_INVALID', `Config ${where}: ${first?.message ?? 'invalid'}.`, definition);
      }
      config = parsed.data;
    }
    const context: PluginContext<unknown> = {
      config,
      logger: this.options.logger.child({ plugin: name }),
      env: this.options.env,
      data_dir: join(this.options.pluginsDir, name),
      workers: this.options.workers,
    };
    const status = baseStatus(definition, source);
    const entry: Entry = { definition, status, context };
    this.entries.set(name, entry);
    if (definition.probe) {
      try {
        const probe = await definition.probe(context);
        if (!probe.available) Object.assign(status, { status: 'disabled', code: 'PLUGIN_UNAVAILABLE', reason: probe.reason, fix: probe.fix });
        else if (probe.withheld) withhold(status, probe.withheld);
      } catch (error) {
        Object.assign(status, {
          status: 'disabled',
          code: 'PLUGIN_PROBE_FAILED',
          reason: `probe() threw: ${(error as Error).message}`,
          fix: 'Check the plugin’s requirements; the server log has the stack trace.',
        });
        context.logger.warn({ err: error }, 'plugin probe failed');
      }
    }
    return status;
  }

  list(): PluginStatus[] {
    return [...[...this.entries.values()].map((e) => e.status), ...this.rejected];
  }

  status(name: string): PluginStatus | undefined {
    return this.entries.get(name)?.status ?? this.rejected.find((s) => s.name === name);
  }

  /** Names of enabled plugins that provide `kind`. */
  providersOf(kind: ProviderKind): PluginStatus[] {
    return [...this.entries.values()].map((e) => e.status).filter((s) => s.status === 'enabled' && s.provides.includes(kind));
  }

  /** Creates (once) and returns one provider; a disabled or failing plugin gives PLUGIN_UNAVAILABLE. */
  async get<K extends ProviderKind>(kind: K, name: string): Promise<NonNullable<PluginProviders[K]>> {
    const entry = this.entries.get(name);
    const known = entry?.status ?? this.rejected.find((s) => s.name === name);
    if (!entry || entry.status.status !== 'enabled') {
      const names = this.providersOf(kind).map((s) => s.name);
      throw new FinetuneError(
        'PLUGIN_UNAVAILABLE',
        known
          ? `Plugin '${name}' is disabled: ${sentence(known.reason ?? 'unknown reason')}`
          : `No plugin named '${name}'. Enabled ${kind} plugins: ${names.join(', ') || 'none'}.`,
        { recovery: known?.fix ?? 'Call list_backends or server_info to see the plugins and their status.' },
      );
    }
    if (!entry.status.provides.includes(kind)) {
      const withheld = entry.status.unavailable?.find((u) => u.kind === kind);
      if (withheld) throw new FinetuneError('PLUGIN_UNAVAILABLE', `Plugin '${name}' provides no ${kind} here: ${sentence(withheld.reason)}`, { recovery: withheld.fix });
      throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Plugin '${name}' does not provide a ${kind}.`);
    }
    entry.providers ??= Promise.resolve()
      .then(() => {
        mkdirSync(entry.context!.data_dir, { recursive: true });
        return entry.definition.create(entry.context!);
      })
      .catch((error: unknown) => {
        Object.assign(entry.status, {
          status: 'disabled',
          code: 'PLUGIN_LOAD_FAILED',
          reason: `create() failed: ${(error as Error).message}`,
          fix: 'See the server log for the stack trace; fix the plugin or its environment and restart.',
        });
        entry.context!.logger.error({ err: error }, 'plugin create failed');
        entry.providers = undefined;
        throw new FinetuneError('PLUGIN_UNAVAILABLE', `Plugin '${name}' failed to start: ${(error as Error).message}`);
      });
    const providers = await entry.providers;
    const provider = providers[kind];
    if (!provider) throw new FinetuneError('PLUGIN_INVALID', `Plugin '${name}' declares ${kind} but create() returned none.`);
    return provider as NonNullable<PluginProviders[K]>;
  }

  /**
   * A fresh provider of a registered plugin built from another config than its own section, e.g. the
   * judge's endpoint (config `judge`) on the openai-compatible plugin. The config goes through the
   * plugin's schema and probe like its own section; nothing is cached. `where` names the config it came from.
   */
  async createWith<K extends ProviderKind>(kind: K, name: string, rawConfig: unknown, where: string): Promise<NonNullable<PluginProviders[K]>> {
    const entry = this.entries.get(name);
    if (!entry) throw new FinetuneError('PLUGIN_UNAVAILABLE', `No plugin named '${name}' is registered, so ${where} cannot be used.`);
    if (!entry.status.provides.includes(kind)) throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Plugin '${name}' does not provide a ${kind}.`);
    let config = rawConfig;
    if (entry.definition.configSchema) {
      const parsed = entry.definition.configSchema.safeParse(rawConfig);
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        throw new FinetuneError('CONFIG_INVALID', `Config ${where}${first?.path.length ? `.${first.path.join('.')}` : ''}: ${first?.message ?? 'invalid'}.`, { details: { field: where } });
      }
      config = parsed.data;
    }
    const context: PluginContext<unknown> = { ...entry.context!, config };
    const probe = entry.definition.probe ? await entry.definition.probe(context) : ({ available: true } as const);
    if (!probe.available) throw new FinetuneError('PLUGIN_UNAVAILABLE', `${where} on plugin '${name}': ${sentence(probe.reason)}`, { recovery: probe.fix });
    const provider = (await entry.definition.create(context))[kind];
    if (!provider) throw new FinetuneError('PLUGIN_INVALID', `Plugin '${name}' declares ${kind} but create() returned none.`);
    return provider as NonNullable<PluginProviders[K]>;
  }

  private reject(
    name: string,
    source: PluginStatus['source'],
    code: ErrorCode,
    reason: string,
    definition?: PluginDefinition<unknown>,
  ): PluginStatus {
    const status: PluginStatus = {
      ...(definition ? baseStatus(definition, source) : { name, version: 'unknown', description: '', source, provides: [], capabilities: {} }),
      status: 'disabled',
      code,
      reason,
      fix: new FinetuneError(code, reason).recovery,
    };
    this.rejected.push(status);
    this.options.logger.warn({ plugin: name, code, reason }, 'plugin rejected');
    return status;
  }
}

function baseStatus(definition: PluginDefinition<unknown>, source: PluginStatus['source']): PluginStatus {
  return {
    name: definition.meta.name,
    version: definition.meta.version,
    description: definition.meta.description,
    source,
    status: 'enabled',
    provides: [...definition.provides],
    capabilities: definition.capabilities,
  };
}

/** Takes the withheld kinds out of what the status says the plugin provides, keeping why and the fix. */
function withhold(status: PluginStatus, withheld: Partial<Record<ProviderKind, Unavailable>>): void {
  const kinds = status.provides.filter((kind) => withheld[kind]);
  if (!kinds.length) return;
  status.provides = status.provides.filter((kind) => !withheld[kind]);
  status.unavailable = kinds.map((kind) => ({ kind, reason: withheld[kind]!.reason, fix: withheld[kind]!.fix }));
}

function nameOf(candidate: unknown): string {
  const name = (candidate as { meta?: { name?: unknown } } | undefined)?.meta?.name;
  return typeof name === 'string' ? name : '(unnamed)';
}

function describeShapeProblem(candidate: unknown): string | undefined {
  if (typeof candidate !== 'object' || candidate === null) return 'A plugin must be an object made with definePlugin().';
  const c = candidate as Partial<PluginDefinition<unknown>>;
  if (!c.meta || typeof c.meta !== 'object') return 'A plugin needs `meta` with name, version, api_version and description.';
  if (typeof c.meta.name !== 'string' || !NAME_PATTERN.test(c.meta.name)) {
    return `meta.name '${String(c.meta.name)}' must be lower-case letters, digits and dashes.`;
  }
  if (typeof c.meta.version !== 'string' || !SEMVER_PATTERN.test(c.meta.version)) {
    return `Plugin '${c.meta.name}': meta.version '${String(c.meta.version)}' is not semver (e.g. 1.0.0).`;
  }
  if (typeof c.meta.api_version !== 'number') return `Plugin '${c.meta.name}': meta.api_version must be a number.`;
  if (!Array.isArray(c.provides) || c.provides.some((k) => !PROVIDER_KINDS.includes(k))) {
    return `Plugin '${c.meta.name}': provides must list kinds from ${PROVIDER_KINDS.join(', ')}.`;
  }
  if (typeof c.create !== 'function') return `Plugin '${c.meta.name}': create(ctx) must be a function.`;
  if (c.probe !== undefined && typeof c.probe !== 'function') return `Plugin '${c.meta.name}': probe must be a function.`;
  return undefined;
}

/** Text ending in exactly one full stop, for joining a reason into a longer message. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
