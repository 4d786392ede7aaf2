import type { AnyToolDefinition } from '../src/server/tool.js';
import { listBackendsTool } from './list-backends.js';
import { cancelTrainingTool } from './cancel-training.js';
import { configureTrainingTool } from './configure-training.js';
import { estimateResourcesTool } from './estimate-resources.js';
import { listJobsTool } from './list-jobs.js';
import { monitorTrainingTool } from './monitor-training.js';
import { planTrainingTool } from './plan-training.js';
import { resumeTrainingTool } from './resume-training.js';
import { startTrainingTool } from './start-training.js';
import { serverInfoTool } from './server-info.js';
import { prepareDatasetTool } from './prepare-dataset.js';
import { validateDatasetTool } from './validate-dataset.js';
import { inspectDatasetTool } from './inspect-dataset.js';
import { listDatasetsTool } from './list-datasets.js';
import { cleanDatasetTool } from './clean-dataset.js';
import { splitDatasetTool } from './split-dataset.js';
import { exportDatasetTool } from './export-dataset.js';
import { extractDatasetTool } from './extract-dataset.js';
import { registerModelTool } from './register-model.js';
import { listModelVersionsTool } from './list-model-versions.js';
import { getModelVersionTool } from './get-model-version.js';
import { compareVersionsTool } from './compare-versions.js';
import { promoteModelTool } from './promote-model.js';
import { rollbackModelTool } from './rollback-model.js';
import { modelCardTool } from './model-card.js';
import { logExperimentTool } from './log-experiment.js';
import { compareExperimentsTool } from './compare-experiments.js';
import { compareModelsTool } from './compare-models.js';
import { evaluateModelTool } from './evaluate-model.js';
import { setupHumanEvalTool } from './setup-human-eval.js';
import { recordHumanEvalTool } from './record-human-eval.js';
import { exportModelTool } from './export-model.js';
import { scoreOutputsTool } from './score-outputs.js';
import { importModelTool } from './import-model.js';
import { listModelsTool } from './list-models.js';
import { inspectModelTool } from './inspect-model.js';
import { generateTool } from './generate.js';
import { migrateOpenAIFinetuneTool } from './migrate-openai-finetune.js';

/** Every tool the server registers, in the order clients list them: an explicit list. */
export const TOOLS: readonly AnyToolDefinition[] = [serverInfoTool, listBackendsTool,
  // datasets
  prepareDatasetTool,
  validateDatasetTool,
  inspectDatasetTool,
  listDatasetsTool,
  cleanDatasetTool,
  splitDatasetTool,
  exportDatasetTool,
  extractDatasetTool,
  // base models
  importModelTool,
  listModelsTool,
  inspectModelTool,
  generateTool,
  // training control plane
  configureTrainingTool,
  estimateResourcesTool,
  planTrainingTool,
  startTrainingTool,
  monitorTrainingTool,
  cancelTrainingTool,
  resumeTrainingTool,
  listJobsTool,
  // remote backends
  migrateOpenAIFinetuneTool,
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
  evaluateModelTool,
  compareModelsTool,
  setupHumanEvalTool,
  recordHumanEvalTool,
  exportModelTool,
  // evaluation
  scoreOutputsTool,
];
