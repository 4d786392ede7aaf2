import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Workspace } from '../workspace/workspace.js';

/** A registry folder younger than this may belong to a register_model that has not committed its row yet. */
const ORPHAN_GRACE_MS = 60 * 60 * 1000;

/**
 * register_model copies the adapter into `registry/<mv_id>/` (renamed into place whole), then inserts
 * the version's row; a crash between the two leaves a folder no row names, holding a copy of the
 * weights. At start, such folders are removed once older than the grace period: the insert follows the
 * rename at once in the same process, so a folder that old with no row has no live owner. Returns the
 * removed folders.
 */
export function sweepOrphanVersionFolders(workspace: Workspace, options: { grace_ms?: number; now?: number } = {}): string[] {
  const root = workspace.artifactPath('registry');
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => n.startsWith('mv_'));
  } catch {
    return [];
  }
  if (names.length === 0) return [];
  const known = new Set(workspace.db.prepare('SELECT id FROM model_versions').pluck().all() as string[]);
  const cutoff = (options.now ?? Date.now()) - (options.grace_ms ?? ORPHAN_GRACE_MS);
  const removed: string[] = [];
  for (const name of names) {
    if (known.has(name)) continue;
    const dir = join(root, name);
    try {
      const stats = statSync(dir);
      if (!stats.isDirectory() || stats.mtimeMs > cutoff) continue;
    } catch {
      continue;
    }
    // A row may have been committed since the list was read: check once more just before removing.
    if (workspace.db.prepare('SELECT 1 FROM model_versions WHERE id = ?').get(name)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
