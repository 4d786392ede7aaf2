import type { ToolGroup } from '../src/config.js';
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
import { generateDatasetTool } from './generate-dataset.js';
import { registerModelTool } from './register-model.js';
import { listModelVersionsTool } from './list-model-versions.js';
import { getModelVersionTool } from './get-model-version.js';
import { compareVersionsTool } from './compare-versions.js';
import { promoteModelTool } from './promote-model.js';
import { rollbackModelTool } from './rollback-model.js';
import { modelCardTool } from './model-card.js';
import { pushModelTool } from './push-model.js';
import { deploymentBundleTool } from './deployment-bundle.js';
import { logExperimentTool } from './log-experiment.js';
import { compareExperimentsTool } from './compare-experiments.js';
import { compareModelsTool } from './compare-models.js';
import { evaluateModelTool } from './evaluate-model.js';
import { setupHumanEvalTool } from './setup-human-eval.js';
import { recordHumanEvalTool } from './record-human-eval.js';
import { exportModelTool } from './export-model.js';
import { scoreOutputsTool } from './score-outputs.js';
import { judgeOutputsTool } from './judge-outputs.js';
import { importModelTool } from './import-model.js';
import { listModelsTool } from './list-models.js';
import { inspectModelTool } from './inspect-model.js';
import { recommendBaseModelTool } from './recommend-base-model.js';
import { generateTool } from './generate.js';
import { classifyTool } from './classify.js';
import { migrateOpenAIFinetuneTool } from './migrate-openai-finetune.js';
import { deleteModelTool } from './delete-model.js';
import { deleteDatasetTool } from './delete-dataset.js';
import { eraseSubjectTool } from './erase-subject.js';
import { runSafetyProbesTool } from './run-safety-probes.js';
import { deleteJobTool } from './delete-job.js';
import { reviewQueueTool } from './review-queue.js';
import { reviewExamplesTool } from './review-examples.js';
import { exportReviewTool } from './export-review.js';
import { importReviewTool } from './import-review.js';
import { commitReviewTool } from './commit-review.js';
import { createImprovementPolicyTool } from './create-improvement-policy.js';
import { runImprovementPolicyTool } from './run-improvement-policy.js';
import { getImprovementPolicyTool } from './get-improvement-policy.js';
import { listImprovementPoliciesTool } from './list-improvement-policies.js';

/**
 * The tools of each group, in the order clients list them: explicit lists. The config's `tools.groups`
 * picks the groups tools/list shows (default: data, train, judge, ship, the common path from a data
 * file to a promoted version); enable_tools lists the others within a session, and every tool runs
 * when called by name.
 */
export const TOOL_GROUP_MEMBERS: Readonly<Record<ToolGroup, readonly AnyToolDefinition[]>> = {
  data: [validateDatasetTool, prepareDatasetTool, cleanDatasetTool, splitDatasetTool, inspectDatasetTool, listDatasetsTool],
  train: [
    listBackendsTool,
    importModelTool,
    listModelsTool,
    configureTrainingTool,
    planTrainingTool,
    startTrainingTool,
    monitorTrainingTool,
    cancelTrainingTool,
    listJobsTool,
  ],
  judge: [evaluateModelTool, compareModelsTool, generateTool],
  ship: [registerModelTool, promoteModelTool, modelCardTool],
  // Generated rows under human review (docs/data-generation.md): its own group, ~16 KB of tools/list
  // that the default groups' 80 KB budget cannot hold beside the common path; enable_tools lists it.
  generate: [generateDatasetTool, reviewQueueTool, reviewExamplesTool, exportReviewTool, importReviewTool, commitReviewTool],
  // Improvement policies (docs/improvement-loop.md): production outputs judged, pooled, retrained on, gated.
  improve: [judgeOutputsTool, createImprovementPolicyTool, runImprovementPolicyTool, getImprovementPolicyTool, listImprovementPoliciesTool],
  // Shipping a version beyond the registry (docs/deployment.md): the Hugging Face Hub and operations files.
  deploy: [pushModelTool, deploymentBundleTool],
  admin: [
    // data beyond the common path
    exportDatasetTool,
    extractDatasetTool,
    // models and training beyond the common path
    recommendBaseModelTool,
    inspectModelTool,
    classifyTool,
    estimateResourcesTool,
    resumeTrainingTool,
    migrateOpenAIFinetuneTool,
    // evaluation and experiment bookkeeping
    scoreOutputsTool,
    runSafetyProbesTool,
    setupHumanEvalTool,
    recordHumanEvalTool,
    logExperimentTool,
    compareExperimentsTool,
    // registry operations, audits and exports
    rollbackModelTool,
    listModelVersionsTool,
    getModelVersionTool,
    compareVersionsTool,
    exportModelTool,
    // deletion (record and folder together; refused while anything still names the record)
    deleteModelTool,
    deleteDatasetTool,
    deleteJobTool,
    // the right to erasure: a person's rows out of every version, models trained on them tainted
    eraseSubjectTool,
  ],
};

/**
 * Every tool, server_info (listed whatever the groups) first, then each group's. The server adds
 * enable_tools (tools/enable-tools.ts) to a session that starts without every group.
 */
export const TOOLS: readonly AnyToolDefinition[] = [serverInfoTool, ...Object.values(TOOL_GROUP_MEMBERS).flat()];
