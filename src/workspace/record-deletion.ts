import { existsSync, lstatSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { FinetuneError } from '../errors.js';
import { processAlive } from '../training/process-identity.js';
import type { Db } from './database.js';
import type { Workspace } from './workspace.js';

/**
 * Deleting a record and its folder as one step. In one IMMEDIATE transaction (no other process
 * changes the workspace meanwhile): check what still references the record, rename its folder to
 * a trash name, delete its rows; then remove the trash. A crash before the commit leaves the row
 * and a trash folder, which the next start renames back; a crash after it leaves only the trash,
 * which the next start removes. Readers never see a row without its folder.
 */

/** The areas whose records can be deleted, with the table and key column of each. */
const DELETABLE = {
  models: { table: 'models', key: 'id' },
  datasets: { table: 'datasets', key: 'id' },
  jobs: { table: 'jobs', key: 'job_id' },
} as const;
type DeletableArea = keyof typeof DELETABLE;

/** `<area>/.deleting-<pid>-<id>`: the pid tells a deletion in progress (a live process) from a crashed one. */
const TRASH_MARK = '.deleting-';

export interface DeletionResult {
  /** Files removed with the folder (0 when the record had none). */
  files_removed: number;
  bytes_freed: number;
}

/** The output fields of the delete tools (delete_model, delete_dataset, delete_job). */
export const DeletionShape = {
  files_removed: z.number().int().describe("Files removed with the record's folder, e.g. 5 (0 when it had none)."),
  bytes_freed: z.number().int().describe('Bytes those files held, e.g. 1056904.'),
};

interface DeleteRecordOptions {
  area: DeletableArea;
  id: string;
  /** Runs inside the transaction before anything changes: throws (NOT_FOUND, STATE_CONFLICT …) to refuse. */
  check(db: Db): void;
  /** Deletes the record's rows (dependent rows first), inside the same transaction. */
  deleteRows(db: Db): void;
}

export function deleteRecord(workspace: Workspace, options: DeleteRecordOptions): DeletionResult {
  const db = workspace.db;
  const dir = workspace.artifactPath(options.area, options.id);
  const trash = workspace.artifactPath(options.area, `${TRASH_MARK}${process.pid}-${options.id}`);
  let moved = false;
  try {
    db.transaction(() => {
      options.check(db);
      if (existsSync(dir)) {
        renameSync(dir, trash);
        moved = true;
      }
      options.deleteRows(db);
    }).immediate();
  } catch (error) {
    if (moved) renameSync(trash, dir);
    throw error;
  }
  const freed = moved ? measure(trash) : { files_removed: 0, bytes_freed: 0 };
  rmSync(trash, { recursive: true, force: true });
  return freed;
}

function measure(path: string): DeletionResult {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return { files_removed: 1, bytes_freed: stat.size };
  const total = { files_removed: 0, bytes_freed: 0 };
  for (const name of readdirSync(path)) {
    const inner = measure(join(path, name));
    total.files_removed += inner.files_removed;
    total.bytes_freed += inner.bytes_freed;
  }
  return total;
}

/**
 * Registry versions whose lineage names the record (`base_model`, `dataset_id` or `job_id`):
 * versions are permanent, so what they name stays. Refuses with the versions named.
 */
export function refuseIfRegistered(db: Db, field: 'base_model' | 'dataset_id' | 'job_id', id: string, what: string): void {
  const versions = db
    .prepare(`SELECT id, name, version FROM model_versions WHERE json_extract(lineage, '$.${field}') = ? ORDER BY created_at LIMIT 5`)
    .all(id) as Array<{ id: string; name: string; version: string }>;
  if (!versions.length) return;
  const named = versions.map((v) => `${v.name} ${v.version} (${v.id})`).join(', ');
  throw new FinetuneError('STATE_CONFLICT', `${what} ${id} cannot be deleted: the registry's model version ${named} names it in its lineage.`, {
    recovery: 'Registered versions are permanent and keep what their lineage names; this record stays. Delete only records no version was registered from.',
    details: { field: `lineage.${field}` },
  });
}

/** Refuses when training jobs still name the record (through their config); they must be deleted first. */
export function refuseIfTrainedOn(db: Db, column: 'base_model' | 'dataset_id', id: string, what: string): void {
  const jobs = db
    .prepare(`SELECT j.job_id, j.status FROM jobs j JOIN training_configs c ON c.config_id = j.config_id WHERE c.${column} = ? ORDER BY j.created_at LIMIT 5`)
    .all(id) as Array<{ job_id: string; status: string }>;
  if (!jobs.length) return;
  throw new FinetuneError('STATE_CONFLICT', `${what} ${id} cannot be deleted: training job ${jobs.map((j) => `${j.job_id} (${j.status})`).join(', ')} used it.`, {
    recovery: `Delete those jobs first with delete_job (after cancel_training for one still running), then delete ${id}.`,
    details: { field: column },
  });
}

/**
 * Finishes deletions a crash interrupted (start-up duty): a trash folder whose row still exists goes
 * back into place (the transaction never committed), any other is removed. Trash of a live process
 * (a deletion in progress) is left alone. Returns how many folders it dealt with.
 */
export function finishInterruptedDeletions(workspace: Workspace): number {
  let handled = 0;
  for (const [area, { table, key }] of Object.entries(DELETABLE)) {
    let names: string[];
    try {
      names = readdirSync(workspace.artifactPath(area as DeletableArea)).filter((n) => n.startsWith(TRASH_MARK));
    } catch {
      continue;
    }
    for (const name of names) {
      const match = /^\.deleting-(\d+)-(.+)$/.exec(name);
      if (!match) continue;
      const [, pid, id] = match;
      if (Number(pid) !== process.pid && processAlive(Number(pid))) continue;
      const trash = workspace.artifactPath(area as DeletableArea, name);
      const dir = workspace.artifactPath(area as DeletableArea, id!);
      const recorded = workspace.db.prepare(`SELECT 1 FROM ${table} WHERE ${key} = ?`).get(id);
      if (recorded && !existsSync(dir)) renameSync(trash, dir);
      else rmSync(trash, { recursive: true, force: true });
      handled++;
    }
  }
  return handled;
}
