import type { AnyPromptDefinition } from '../src/server/prompt.js';
import { chooseBaseModelPrompt } from './choose-base-model.js';
import { dataSubjectRequestPrompt } from './data-subject-request.js';
import { fineTuneWorkflowPrompt } from './fine-tune-workflow.js';
import { improveFromProductionPrompt } from './improve-from-production.js';
import { incidentPrompt } from './incident.js';
import { releaseChecklistPrompt } from './release-checklist.js';
import { rollbackPrompt } from './rollback.js';
import { runbookPrompt } from './runbook.js';

/** Every prompt the server offers: an explicit list. Texts of all but fine_tune_workflow are the Markdown files beside this one. */
export const PROMPTS: readonly AnyPromptDefinition[] = [
  fineTuneWorkflowPrompt,
  chooseBaseModelPrompt,
  runbookPrompt,
  releaseChecklistPrompt,
  rollbackPrompt,
  incidentPrompt,
  dataSubjectRequestPrompt,
  improveFromProductionPrompt,
];
