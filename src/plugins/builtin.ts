import { azuremlPlugin } from '../../plugins/azureml/index.js';
import { localPlugin } from '../../plugins/local/index.js';
import { phoenixPlugin } from '../../plugins/phoenix/index.js';
import { otelFilesPlugin } from '../../plugins/otel-files/index.js';
import { modalPlugin } from '../../plugins/modal/index.js';
import { openaiPlugin } from '../../plugins/openai/index.js';
import { openaiCompatiblePlugin } from '../../plugins/openai-compatible/index.js';
import { rayPlugin } from '../../plugins/ray/index.js';
import { sagemakerPlugin } from '../../plugins/sagemaker/index.js';
import { togetherPlugin } from '../../plugins/together/index.js';
import type { PluginDefinition } from './types.js';

/** The built-in plugins, in load order: an explicit list, never a directory scan. */
export const BUILTIN_PLUGINS: readonly PluginDefinition<any>[] = [localPlugin, phoenixPlugin, otelFilesPlugin, openaiPlugin, togetherPlugin, modalPlugin, rayPlugin, sagemakerPlugin, azuremlPlugin, openaiCompatiblePlugin];
