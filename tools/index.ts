import type { AnyToolDefinition } from '../src/server/tool.js';
import { listBackendsTool } from './list-backends.js';
import { serverInfoTool } from './server-info.js';

/** Every tool the server registers, in the order clients list them: an explicit list. */
export const TOOLS: readonly AnyToolDefinition[] = [serverInfoTool, listBackendsTool];
