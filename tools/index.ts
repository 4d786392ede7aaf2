import type { AnyToolDefinition } from '../src/server/tool.js';
import { listBackendsTool } from './list-backends.js';
import { serverInfoTool } from './server-info.js';
import { registerModelTool } from './register-model.js';
import { listModelVersionsTool } from './list-model-versions.js';
import { getModelVersionTool } from './get-model-version.js';
import { compareVersionsTool } from './compare-versions.js';
import { promoteModelTool } from './promote-model.js';
import { rollbackModelTool } from './rollback-model.js';
import { modelCardTool } from './model-card.js';
import { logExperimentTool } from './log-experiment.js';
import { compareExperimentsTool } from './compare-experiments.js';
import { importModelTool } from './import-model.js';
import { listModelsTool } from './list-models.js';
import { inspectModelTool } from './inspect-model.js';

/** Every tool the server registers, in the order clients list them: an explicit list. */
export const TOOLS: readonly AnyToolDefinition[] = [serverInfoTool, listBackendsTool,
  // base models
  importModelTool,
  listModelsTool,
  inspectModelTool,
  // registry and experiments
  registerModelTool,
  listModelVersionsTool,
  getModelVersionTool,
  compareVersionsTool,
  promoteModelTool,
  rollbackModelTool,
  modelCardTool,
  logExperimentTool,
  compareExperimentsTool,
];
