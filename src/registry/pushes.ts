import type { Database } from 'better-sqlite3';

/** One commit of a version's files on a Hugging Face Hub repo, as push_model made it. */
export interface ModelPush {
  hub_url: string;
  repo: string;
  revision: string;
  commit_oid: string;
  commit_url: string;
  format: string;
  lineage_sha256: string;
  files: string[];
  pushed_at: string;
}

interface PushRow extends Omit<ModelPush, 'files'> {
  files: string;
}

/** Records a push; the same commit recorded twice (a retry that found it on the Hub) stays one row. */
export function recordPush(db: Database, versionId: string, push: ModelPush): void {
  db.prepare(
    `INSERT OR IGNORE INTO model_pushes (version_id, hub_url, repo, revision, commit_oid, commit_url, format, lineage_sha256, files, pushed_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(versionId, push.hub_url, push.repo, push.revision, push.commit_oid, push.commit_url, push.format, push.lineage_sha256, JSON.stringify(push.files), push.pushed_at);
}

/** Where a version was pushed, oldest first. */
export function pushesOf(db: Database, versionId: string): ModelPush[] {
  const rows = db.prepare('SELECT hub_url, repo, revision, commit_oid, commit_url, format, lineage_sha256, files, pushed_at FROM model_pushes WHERE version_id = ? ORDER BY seq').all(versionId) as PushRow[];
  return rows.map((r) => ({ ...r, files: JSON.parse(r.files) as string[] }));
}
