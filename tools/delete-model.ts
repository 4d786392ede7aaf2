import { z } from 'zod';
import { DeletionShape } from '../src/workspace/record-deletion.js';
import { defineTool } from '../src/server/tool.js';

export const deleteModelTool = defineTool({
  name: 'delete_model',
  title: 'Delete a base model',
  description:
    'Deletes an imported base model for good: its record and its folder (weights, config, tokenizer) go together, never one without ' +
    'the other. Refused (STATE_CONFLICT) while a training job used the model (delete_job those first) or a registered model version ' +
    "names it in its lineage (versions are permanent). Use it for a model imported by mistake, or one whose record list_models cannot " +
    'show. Returns what was freed; import_model can add the model again.',
  input: { model_id: z.string().min(1).describe('The base model to delete, e.g. "mdl_01jq3v9x2k…" (from list_models).') },
  output: {
    model_id: z.string().describe('The deleted model id.'),
    name: z.string().describe('Its display name, e.g. "stories260K".'),
    ...DeletionShape,
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler({ model_id }, { services }) {
    return { model_id, ...services.models.delete(model_id) };
  },
  summarize: (o) => `Deleted model ${o.model_id} (${o.name}): ${o.files_removed} file(s), ${o.bytes_freed.toLocaleString('en-US')} bytes freed.`,
});
