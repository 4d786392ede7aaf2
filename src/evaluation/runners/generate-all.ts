import { FinetuneError } from '../../errors.js';
import type { ToolContext } from '../../server/tool.js';
import type { EvalCase } from '../cases.js';
import type { ModelOutputs } from '../compare.js';

export async function generateForModels(_ctx: ToolContext, _args: unknown, _notes: string[]): Promise<{ cases: EvalCase[]; models: ModelOutputs[]; datasetLabel: string }> {
  throw new FinetuneError('CAPABILITY_UNSUPPORTED', 'Running models needs the local engine, which is not wired yet; pass outputs_path.');
}
