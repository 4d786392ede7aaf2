import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { processAlive } from '../training/process-identity.js';
import { activeRoots, canonicalPath, confinePath, isInside } from './confine.js';
import { FinetuneError } from '../errors.js';

export const TEMP_MARK = '.tmp-';

/** `.<name>.tmp-<pid>-<hex>` beside the target: the pid tells a live writer's temp from a crashed one's. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  }
}

/**
 * In a tool call, the folder a write lands in is checked again just before the rename: a folder
 * swapped for a link after the path was resolved (a check/use race) must not carry the file outside
 * the allowed roots. After the rename the written path is checked once more and, if a swap slipped
 * in between, removed. Outside a tool call (workers writing their own workspace) nothing is checked.
 */
function confineWrite(target: string, temp: string): void {
  const roots = activeRoots();
  if (!roots) return;
  try {
    confinePath(dirname(target), roots, 'path');
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

function verifyWritten(target: string): void {
  const roots = activeRoots();
  if (!roots) return;
  const real = canonicalPath(target);
  if (roots.some((root) => isInside(root, real))) return;
  rmSync(real, { recursive: true, force: true });
  throw new FinetuneError('PATH_NOT_ALLOWED', `'${target}' changed while it was being written (a folder was replaced by a link to ${dirname(real)}); the write was undone.`, {
    recovery: 'Call again once nothing is rewriting the folder.',
    details: { file: target, field: 'path' },
  });
}

/**
 * Writes a file so that readers see either the old content or the whole new one, never a part:
 * temp file in the same folder (created, never an existing file or link), fsync, rename, fsync the folder.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  writeFileAtomicInParts(target, (write) => write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data));
}

/** writeFileAtomic for content made piece by piece (`fill` calls `write` in order), so a large file is never whole in memory. */
export function writeFileAtomicInParts(target: string, fill: (write: (bytes: Uint8Array) => void) => void): void {
  mkdirSync(dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  const fd = openSync(temp, 'wx', 0o644);
  try {
    fill((bytes) => {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    });
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  confineWrite(target, temp);
  renameSync(temp, target);
  verifyWritten(target);
  fsyncDir(dirname(target));
}

/**
 * Builds a folder in a temp sibling with `fill(tempDir)` and renames it into place as a whole,
 * so a crash never leaves a half-filled folder at `target`. Refuses to replace an existing folder.
 */
export async function writeDirAtomic(target: string, fill: (dir: string) => void | Promise<void>, options: { track?: (temp: string) => () => void } = {}): Promise<void> {
  mkdirSync(dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  // A temp outside the workspace is noted first, so a crash mid-write leaves it findable (pending-temps.ts).
  const untrack = options.track?.(temp);
  try {
    mkdirSync(temp);
    await fill(temp);
    for (const name of readdirSync(temp)) {
      const fd = openSync(join(temp, name), 'r');
      try {
        fsyncSync(fd);
      } catch {
        // folders inside: fsync is best effort
      } finally {
        closeSync(fd);
      }
    }
    confineWrite(target, temp);
    renameSync(temp, target);
    verifyWritten(target);
    fsyncDir(dirname(target));
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  } finally {
    untrack?.();
  }
}

/** A temp name carries its writer's pid; a live writer (a training worker) keeps its temp files. */
function writerAlive(name: string): boolean {
  const pid = Number(name.slice(name.lastIndexOf(TEMP_MARK) + TEMP_MARK.length).split('-')[0]);
  return Number.isInteger(pid) && pid !== process.pid && processAlive(pid);
}

/** Removes temp files and folders a crashed writer left behind under `dir` (recursively). */
export function sweepTempFiles(dir: string): number {
  let removed = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.name.startsWith('.') && entry.name.includes(TEMP_MARK) && !writerAlive(entry.name)) {
      rmSync(path, { recursive: true, force: true });
      removed++;
    } else if (entry.isDirectory()) {
      removed += sweepTempFiles(path);
    }
  }
  return removed;
}
