import { FinetuneError } from '../errors.js';
import type { Db } from '../workspace/database.js';
import { deleteRecord, refuseIfRegistered, refuseIfTrainedOn, type DeletionResult } from '../workspace/record-deletion.js';
import type { Workspace } from '../workspace/workspace.js';

/** Up to five ids a query returns, as a list for a message. */
function named(db: Db, sql: string, ...params: unknown[]): string[] {
  return db.prepare(`${sql} LIMIT 5`).pluck().all(...params) as string[];
}

/**
 * Deletes a dataset version: its row and its folder (rows, splits, manifest), atomically. Refused
 * while anything still names it: versions derived from it (clean, split), the PII consent log
 * (append-only), a training job, or a registered model version's lineage.
 */
export function deleteDatasetVersion(workspace: Workspace, id: string): DeletionResult {
  return deleteRecord(workspace, {
    area: 'datasets',
    id,
    check(db) {
      if (!db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(id)) {
        throw new FinetuneError('NOT_FOUND', `No dataset version '${id}'.`, { recovery: 'Call list_datasets for existing ids.', details: { field: 'dataset_id' } });
      }
      const children = named(db, 'SELECT id FROM datasets WHERE parent_id = ? ORDER BY created_at', id);
      if (children.length) {
        throw new FinetuneError('STATE_CONFLICT', `Dataset version ${id} cannot be deleted: version ${children.join(', ')} derives from it.`, {
          recovery: `Delete the derived versions first (delete_dataset on each, newest first), then ${id}.`,
          details: { field: 'dataset_id' },
        });
      }
      const consent = named(db, 'SELECT id FROM dataset_consent_log WHERE dataset_id = ? OR source_dataset_id = ? ORDER BY created_at', id, id);
      if (consent.length) {
        throw new FinetuneError('STATE_CONFLICT', `Dataset version ${id} cannot be deleted: the PII consent log (${consent.join(', ')}) records a redaction of it.`, {
          recovery: 'The consent log is append-only evidence of each redaction and keeps the versions it names; keep this version. To remove a person from it (and from every other version), use erase_subject.',
          details: { field: 'dataset_id' },
        });
      }
      refuseIfTrainedOn(db, 'dataset_id', id, 'Dataset version');
      refuseIfRegistered(db, 'dataset_id', id, 'Dataset version');
    },
    deleteRows(db) {
      db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
    },
  });
}
