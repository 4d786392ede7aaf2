import type { AnyPromptDefinition } from '../src/server/prompt.js';
import { fineTuneWorkflowPrompt } from './fine-tune-workflow.js';

/** Every prompt the server offers: an explicit list. */
export const PROMPTS: readonly AnyPromptDefinition[] = [fineTuneWorkflowPrompt];
