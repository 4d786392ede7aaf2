import { z } from 'zod';
import { deleteDatasetVersion } from '../src/datasets/delete.js';
import { DeletionShape } from '../src/workspace/record-deletion.js';
import { defineTool } from '../src/server/tool.js';

export const deleteDatasetTool = defineTool({
  name: 'delete_dataset',
  title: 'Delete a dataset version',
  description:
    'Deletes one dataset version for good: its record and its folder (rows, splits, manifest) go together. Refused (STATE_CONFLICT) ' +
    'while anything still names it: a version derived from it (delete those first, newest first), the PII consent log, a training ' +
    'job (delete_job first) or a registered model version. Other versions of the same data are untouched. Returns what was freed.',
  input: { dataset_id: z.string().min(1).describe('The dataset version to delete, e.g. "ds_01jq3v9x2k…" (from list_datasets).') },
  output: {
    dataset_id: z.string().describe('The deleted dataset version id.'),
    ...DeletionShape,
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handler({ dataset_id }, { services }) {
    return { dataset_id, ...deleteDatasetVersion(services.workspace, dataset_id) };
  },
  summarize: (o) => `Deleted dataset version ${o.dataset_id}: ${o.files_removed} file(s), ${o.bytes_freed.toLocaleString('en-US')} bytes freed.`,
});
