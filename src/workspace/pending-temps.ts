import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { processRunning, processStart } from '../training/process-identity.js';
import { TEMP_MARK, writeFileAtomic } from './atomic-write.js';

/**
 * Temp files written outside the workspace (export_model's folder, export_dataset's file, beside the
 * user's target) are out of reach of the workspace's own sweep, which walks only the workspace. Each
 * one is noted in `<home>/pending-temps/` before the write starts and the note is removed after the
 * rename (or the cleanup of a failed write); a note left by a writer that is gone names a temp a
 * crash left behind (a 115 MB half-written model.onnx), which the next start removes.
 */
export const PENDING_TEMPS_DIR = 'pending-temps';

interface PendingTemp {
  path: string;
  pid: number;
  /** The writer's start identity (src/training/process-identity.ts), so a reused pid is not taken for it. */
  start: string | null;
}

let ownStart: string | null | undefined;

/** Notes `temp` as being written by this process; returns the function that removes the note. */
export function trackPendingTemp(home: string, temp: string): () => void {
  const note = join(home, PENDING_TEMPS_DIR, `${process.pid}-${randomBytes(6).toString('hex')}.json`);
  ownStart ??= processStart(process.pid);
  const entry: PendingTemp = { path: temp, pid: process.pid, start: ownStart };
  writeFileAtomic(note, `${JSON.stringify({ ...entry, created_at: new Date().toISOString() })}\n`);
  return () => rmSync(note, { force: true });
}

/** Removes the temps whose writer is gone, and their notes; returns how many temps were removed. */
export function sweepPendingTemps(home: string): number {
  const dir = join(home, PENDING_TEMPS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const note = join(dir, name);
    let entry: Partial<PendingTemp>;
    try {
      entry = JSON.parse(readFileSync(note, 'utf8')) as Partial<PendingTemp>;
    } catch {
      continue; // being written (the note itself is written atomically, so this is rare): next start
    }
    if (typeof entry.pid === 'number' && processRunning(entry.pid, entry.start)) continue;
    // Only ever a temp name (`.<target>.tmp-<pid>-<hex>`): a damaged note cannot remove anything else.
    if (typeof entry.path === 'string' && basename(entry.path).startsWith('.') && basename(entry.path).includes(TEMP_MARK)) {
      rmSync(entry.path, { recursive: true, force: true });
      removed++;
    }
    rmSync(note, { force: true });
  }
  return removed;
}
