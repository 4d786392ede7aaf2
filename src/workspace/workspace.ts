import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FinetuneError } from '../errors.js';
import { activeRoots, canonicalPath, confinePath, isInside, withRoots } from './confine.js';
import { writeDirAtomic, writeFileAtomic, sweepTempFiles } from './atomic-write.js';
import { migrate, openDatabase, type Db } from './database.js';
import { newId, type RecordKind } from './ids.js';
import { MIGRATIONS } from './migration-list.js';
import type { Migration } from './migrations.js';

/** Top-level artifact folders; each record's files live in `<area>/<record id>/`. */
const ARTIFACT_AREAS = ['datasets', 'models', 'jobs', 'evaluations', 'registry', 'exports', 'hub-cache', 'improvement'] as const;
type ArtifactArea = (typeof ARTIFACT_AREAS)[number];

interface WorkspaceOptions {
  root: string;
  /** Folders a tool may read from or write to besides the workspace itself. */
  allowedRoots?: string[];
  migrations?: readonly Migration[];
  /**
   * Remove temp files left by crashed writers now (default). A server passes false and calls
   * `sweepTempFiles()` after its handshake: the walk covers every artifact folder.
   */
  sweep?: boolean;
}

/**
 * The workspace: one SQLite database (records, lineage, events) plus artifact folders on disk.
 * Every process (servers, training workers) on the same root sees the same state. The database
 * (a native module, then the migrations) opens on first use of `db`, so a server starts without it.
 */
export class Workspace {
  readonly root: string;
  readonly allowedRoots: string[];
  private database: Db | undefined;
  private closed = false;

  private constructor(
    root: string,
    allowedRoots: string[],
    private readonly migrations: readonly Migration[],
  ) {
    this.root = root;
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
    const allowed = [...new Set([root, ...(options.allowedRoots ?? [])].map((p) => canonicalPath(p)))];
    const workspace = new Workspace(root, allowed, options.migrations ?? MIGRATIONS);
    if (options.sweep !== false) workspace.sweepTempFiles();
    return workspace;
  }

  /** The workspace database, opened and migrated on first use. */
  get db(): Db {
    if (this.database) return this.database;
    if (this.closed) throw new FinetuneError('INTERNAL', `The workspace at ${this.root} is closed.`);
    const db = openDatabase(join(this.root, 'workspace.db'));
    try {
      migrate(db, this.migrations);
    } catch (error) {
      db.close();
      throw error;
    }
    this.database = db;
    return db;
  }

  /** Removes temp files and folders of writers that died before their rename; returns how many. */
  sweepTempFiles(): number {
    return sweepTempFiles(this.root);
  }

  close(): void {
    this.closed = true;
    this.database?.close();
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

  /** A folder outside the workspace (an export's output_path) has its temp noted, so a crash's leftover is swept at the next start. */
  async writeDir(path: string, fill: (dir: string) => void | Promise<void>): Promise<void> {
    if (isInside(this.root, resolve(path))) return writeDirAtomic(path, fill);
    const { trackPendingTemp } = await import('./pending-temps.js');
    return writeDirAtomic(path, fill, { track: (temp) => trackPendingTemp(this.root, temp) });
  }

  /** The allowed roots of the tool call running now (with the client's MCP roots), else the workspace's. */
  roots(): readonly string[] {
    return activeRoots() ?? this.allowedRoots;
  }

  /**
   * Runs one tool call with these roots allowed besides the workspace's own (the workspace, `allowed_roots`):
   * every path resolved and every file opened for it is checked against them (src/workspace/confine.ts).
   */
  withClientRoots<T>(clientRoots: readonly string[], fn: () => T): T {
    return withRoots([...new Set([...this.allowedRoots, ...clientRoots.map((p) => canonicalPath(p))])], fn);
  }

  /**
   * Resolves a user-given path and refuses it unless it lies under an allowed root (the workspace,
   * `allowed_roots`, the client's MCP roots) and is a regular file or a folder (or does not exist yet).
   * Returns the canonical path (links resolved), which is what the caller must open.
   */
  resolveUserPath(path: string, field = 'path'): string {
    return confinePath(path, this.roots(), field);
  }
}
