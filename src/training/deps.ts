import type { Config } from '../config.js';
import type { DatasetService } from '../datasets/service.js';
import type { ModelService } from '../models/service.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { PluginHost } from '../plugins/host.js';
import type { Workspace } from '../workspace/workspace.js';

/**
 * The collaborators of the training control plane (configure, estimate, plan, start), named one by
 * one instead of the whole `Services`: src/services.ts builds the job manager from these, so nothing
 * here may point back at it. A `Services` has them all, so tools pass theirs.
 */
export interface TrainingDeps {
  config: Config;
  logger: Logger;
  workspace: Workspace;
  plugins: PluginHost;
  datasets: DatasetService;
  models: ModelService;
}

/** The job manager's collaborators: the training ones and the metrics it feeds (a getter: prom-client loads on first use). */
export interface JobManagerDeps extends TrainingDeps {
  metrics: () => Metrics;
}
