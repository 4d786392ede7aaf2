import { join } from 'node:path';
import { PACKAGE_VERSION } from './version.js';
import type { Config } from './config.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { registerConfigSecrets } from './observability/secrets.js';
import { BUILTIN_PLUGINS } from './plugins/builtin.js';
import { DatasetService } from './datasets/service.js';
import { PluginHost } from './plugins/host.js';
import type { PluginDefinition } from './plugins/types.js';
import { JobManager } from './training/job-manager.js';
import { workerLedgerOf } from './training/worker-ledger.js';
import { ModelService } from './models/service.js';
import { Workspace } from './workspace/workspace.js';

/**
 * Everything a tool handler may call, built once per process. Tools stay thin: one call into
 * one of these services. Each area adds its service here.
 */
export interface Services {
  config: Config;
  logger: Logger;
  workspace: Workspace;
  plugins: PluginHost;
  metrics: Metrics;
  version: string;
  started_at: Date;
  /** Training jobs: queue, cancel, resume, reconciliation, watch loop (src/training/job-manager.ts). */
  jobs: JobManager;
  /** Dataset versions: import, validate, clean, split, export (src/datasets/service.ts). */
  datasets: DatasetService;
  /** Base models: import (folder, llama2.c, Hub), get, list (src/models/service.ts). */
  models: ModelService;
  /**
   * Runs the start-up duties once (temp-file sweeps, in the workspace and of exports outside it;
   * orphaned registry folders; then job reconciliation: interrupted local
   * jobs, re-attached remote ones, the watch loop) and resolves when they are done; later calls
   * share that run (a failed run is retried by the next call). The stdio server calls it after
   * the MCP handshake and holds requests that need the workspace until it resolves.
   */
  startup(): Promise<void>;
}

interface ServicesOptions {
  logger: Logger;
  env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the built-in plugin list (tests register their own). */
  plugins?: readonly PluginDefinition<any>[];
  /**
   * Return without running the start-up duties: the caller runs `startup()` when it suits it (the
   * stdio server: after the handshake, which then waits neither for a walk of the workspace, nor
   * for the database, nor for remote jobs to re-attach). Default: createServices runs them.
   */
  deferStartup?: boolean;
}

export async function createServices(config: Config, options: ServicesOptions): Promise<Services> {
  // Every secret of the config and environment is scrubbed from results, logs and records from here on.
  registerConfigSecrets(config, options.env ?? process.env);
  const workspace = Workspace.open({ root: config.home, allowedRoots: config.allowed_roots, sweep: false });
  const plugins = new PluginHost({ pluginsDir: join(workspace.root, 'plugins'), workers: workerLedgerOf(workspace), logger: options.logger, configs: config.plugins, env: options.env ?? process.env });
  await plugins.load(options.plugins ?? BUILTIN_PLUGINS, config.external_plugins);
  let metrics: Metrics | undefined;
  let started: Promise<void> | undefined;
  const models = new ModelService({ workspace, logger: options.logger, settings: config.models, env: options.env ?? process.env });
  const datasets = new DatasetService(workspace, config.datasets, options.logger.child({ area: 'datasets' }), () => models);
  const services: Services = {
    jobs: new JobManager({ config, logger: options.logger, workspace, plugins, datasets, models, metrics: () => services.metrics }),
    datasets,
    models,
    config,
    logger: options.logger,
    workspace,
    plugins,
    // prom-client (and its default collectors) loads with the first tool call, scrape or job tick.
    get metrics() {
      return (metrics ??= createMetrics());
    },
    version: PACKAGE_VERSION,
    started_at: new Date(),
    startup() {
      started ??= Promise.resolve()
        .then(async () => {
          workspace.sweepTempFiles();
          // Deletions a crash cut short: put the folder back (no commit) or finish removing it.
          (await import('./workspace/record-deletion.js')).finishInterruptedDeletions(workspace);
          // What a crash left outside the workspace's own folders: export temps beside a user's target,
          // registry folders whose version row never committed.
          (await import('./workspace/pending-temps.js')).sweepPendingTemps(workspace.root);
          (await import('./registry/orphans.js')).sweepOrphanVersionFolders(workspace);
          await services.jobs.open();
        })
        .catch((error: unknown) => {
          started = undefined;
          throw error;
        });
      return started;
    },
  };
  if (!options.deferStartup) await services.startup();
  return services;
}

export async function closeServices(services: Services): Promise<void> {
  services.jobs.close();
  services.workspace.close();
}
