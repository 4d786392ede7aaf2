import { mkdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { FinetuneError } from '../errors.js';
import { writeDirAtomic, writeFileAtomic, sweepTempFiles } from './atomic-write.js';
import { migrate, openDatabase, type Db } from './database.js';
import { newId, type RecordKind } from './ids.js';
import { MIGRATIONS, type Migration } from './migrations.js';

/** Top-level artifact folders; each record's files live in `<area>/<record id>/`. */
export const ARTIFACT_AREAS = ['datasets', 'models', 'jobs', 'evaluations', 'registry', 'exports', 'hub-cache'] as const;
export type ArtifactArea = (typeof ARTIFACT_AREAS)[number];

export interface WorkspaceOptions {
  root: string;
  /** Folders a tool may read from or write to besides the workspace itself. */
  allowedRoots?: string[];
  migrations?: readonly Migration[];
}

/**
 * The workspace: one SQLite database (records, lineage, events) plus artifact folders on disk.
 * Every process (servers, training workers) on the same root sees the same state.
 */
export class Workspace {
  readonly root: string;
  readonly db: Db;
  readonly allowedRoots: string[];

  private constructor(root: string, db: Db, allowedRoots: string[]) {
    this.root = root;
    this.db = db;
    this.allowedRoots = allowedRoots;
  }

  static open(options: WorkspaceOptions): Workspace {
    const root = resolve(options.root);
    try {
      mkdirSync(root, { recursive: true });
      for (const area of ARTIFACT_AREAS) mkdirSync(join(root, area), { recursive: true });
    } catch (error) {
      throw new FinetuneError('CONFIG_INVALID', `Cannot create the workspace at ${root}: ${(error as Error).message}`, {
        recovery: 'Set FINETUNE_MCP_HOME (or `home` in the config) to a writable folder.',
      });
    }
    sweepTempFiles(root);
    const db = openDatabase(join(root, 'workspace.db'));
    migrate(db, options.migrations ?? MIGRATIONS);
    const allowed = [root, ...(options.allowedRoots ?? [])].map((p) => canonical(resolve(p)));
    return new Workspace(root, db, allowed);
  }

  close(): void {
    this.db.close();
  }

  newId(kind: RecordKind): string {
    return newId(kind);
  }

  /** The folder of one record's artifacts, created on demand. */
  artifactDir(area: ArtifactArea, id: string): string {
    const dir = join(this.root, area, id);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** The folder path of a record's artifacts, not created (for writeDirAtomic). */
  artifactPath(area: ArtifactArea, ...parts: string[]): string {
    return join(this.root, area, ...parts);
  }

  writeFile(path: string, data: string | Uint8Array): void {
    writeFileAtomic(path, data);
  }

  writeDir(path: string, fill: (dir: string) => void | Promise<void>): Promise<void> {
    return writeDirAtomic(path, fill);
  }

  /**
   * Resolves a user-given path and refuses it unless it lies under an allowed root
   * (the workspace, the current directory by default, and `allowed_roots` from the config).
   */
  resolveUserPath(path: string, field = 'path'): string {
    const absolute = resolve(path);
    const real = canonical(absolute);
    const inside = this.allowedRoots.some((rootDir) => {
      const rel = relative(rootDir, real);
      return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
    });
    if (!inside) {
      throw new FinetuneError('PATH_NOT_ALLOWED', `${field} '${path}' is outside the allowed roots (${this.allowedRoots.join(', ')}).`, {
        details: { field },
      });
    }
    return absolute;
  }
}

/** Follows symlinks of the longest existing prefix, so a link cannot smuggle a path out of a root. */
function canonical(path: string): string {
  let head = path;
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const parent = resolve(head, '..');
      if (parent === head) return path;
      tail.push(relative(parent, head));
      head = parent;
    }
  }
}
