import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync, writeSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import { FinetuneError } from '../errors.js';

/**
 * Path confinement. A tool call runs in a scope that holds its allowed roots (the workspace, the
 * configured `allowed_roots`, the client's MCP roots): every file opened for it, the user's path and
 * the files derived from it (a model folder's tokenizer.json, a llama2.c tokenizer.bin, an index's
 * shards), is canonicalised, checked against those roots, refused unless it is a regular file, and
 * opened so that a link swapped after the check cannot bring in another file. Outside a tool call
 * (a training worker reading its own workspace) only the regular-file check applies.
 */
const scope = new AsyncLocalStorage<readonly string[]>();

/** Runs `fn` with these (canonical) roots as the allowed roots of every file it opens. */
export function withRoots<T>(roots: readonly string[], fn: () => T): T {
  return scope.run(roots, fn);
}

/** The allowed roots of the tool call running now; undefined outside a tool call. */
export function activeRoots(): readonly string[] | undefined {
  return scope.getStore();
}

const HOW_TO_ALLOW =
  'Add the folder to allowed_roots (config file, or FINETUNE_MCP_ALLOWED_ROOTS=/a:/b in the server environment), start the server from that folder, or open it as a root in the MCP client.';

/** Follows symlinks of the longest existing prefix, so a link cannot smuggle a path out of a root. */
export function canonicalPath(path: string): string {
  let head = resolve(path);
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const parent = resolve(head, '..');
      if (parent === head) return resolve(path);
      tail.push(relative(parent, head));
      head = parent;
    }
  }
}

export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Top-level system folders: never an implicit root, nor anything under them. */
const SYSTEM_FOLDERS = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/run', '/sbin', '/sys', '/usr', '/System', '/Library', '/private/etc'];
/** Shared folders whose subfolders may be projects, but which are never an implicit root themselves. */
const SHARED_FOLDERS = ['/var', '/var/tmp', '/tmp', '/opt', '/srv', '/mnt', '/media', '/Volumes', '/Applications', '/private', '/private/tmp', '/private/var'];

/**
 * Whether a folder is too broad to be allowed without being named: the filesystem root, the home
 * folder or a folder above it, a system folder (or inside one), or a shared top folder like /tmp.
 */
export function isBroadFolder(path: string, home = homedir()): boolean {
  const folder = resolve(path);
  if (folder === parse(folder).root) return true;
  if (isInside(folder, resolve(home))) return true;
  const same = process.platform === 'win32' ? (a: string, b: string) => a.toLowerCase() === b.toLowerCase() : (a: string, b: string) => a === b;
  if (SHARED_FOLDERS.some((d) => same(folder, d))) return true;
  const windows = process.env.SystemRoot ? [process.env.SystemRoot, process.env.ProgramFiles, process.env['ProgramFiles(x86)']] : [];
  return [...SYSTEM_FOLDERS, ...windows.filter((d): d is string => !!d)].some((d) => same(folder, d) || (process.platform === 'win32' ? folder.toLowerCase() : folder).startsWith(`${process.platform === 'win32' ? d.toLowerCase() : d}${sep}`));
}

/** The folder a server started in, as an implicit root: none when it is `/`, the home folder or a system folder. */
export function implicitRoots(cwd: string, home = homedir()): string[] {
  return isBroadFolder(cwd, home) ? [] : [resolve(cwd)];
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isDirectory()) return 'a folder';
  return 'not a regular file';
}

function notRegular(path: string, stats: Stats, field: string): FinetuneError {
  return new FinetuneError('FILE_ERROR', `${field} '${path}' is ${kindOf(stats)}; only regular files and folders are read.`, {
    recovery: 'Pass a regular file (or a folder of them); pipes, sockets and devices are refused because reading them can block.',
    details: { file: path, field },
  });
}

/** The usual filesystem limits (Linux NAME_MAX and PATH_MAX): longer ones fail with ENAMETOOLONG when opened. */
const MAX_NAME_BYTES = 255;
const MAX_PATH_BYTES = 4096;

/**
 * Canonicalises a path and checks it against `roots`; an existing path must be a regular file or a
 * folder (a FIFO would block the thread that opens it). Returns the canonical path.
 */
export function confinePath(path: string, roots: readonly string[], field = 'path'): string {
  if (path.includes('\0')) throw new FinetuneError('INVALID_INPUT', `${field} contains a NUL byte.`, { details: { field } });
  if (Buffer.byteLength(path) > MAX_PATH_BYTES || path.split(/[\\/]/).some((name) => Buffer.byteLength(name) > MAX_NAME_BYTES)) {
    throw new FinetuneError('INVALID_INPUT', `${field} is too long (${path.length} characters; a file or folder name may have ${MAX_NAME_BYTES} bytes, a path ${MAX_PATH_BYTES}).`, {
      recovery: 'Use a shorter path (shorter folder and file names).',
      details: { field },
    });
  }
  const real = canonicalPath(path);
  if (!roots.some((root) => isInside(root, real))) {
    const shown = real === resolve(path) ? `'${path}'` : `'${path}' (${real})`;
    throw new FinetuneError('PATH_NOT_ALLOWED', `${field} ${shown} is outside the allowed roots (${roots.join(', ')}).`, {
      recovery: HOW_TO_ALLOW,
      details: { field, file: path },
    });
  }
  let stats: Stats | undefined;
  try {
    stats = statSync(real);
  } catch {
    return real; // not there (yet): an output path, or the caller reports it missing
  }
  if (!stats.isFile() && !stats.isDirectory()) throw notRegular(path, stats, field);
  return real;
}

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);

/**
 * Opens a regular file to read, for the tool call running now: the canonical path, checked against
 * its roots, opened without following a final link and without blocking on a FIFO, then verified to
 * be the file the path names after the open (so a link swapped between check and open is refused).
 */
export function openForRead(path: string, field = 'path'): { fd: number; path: string; size: number } {
  const roots = activeRoots();
  const real = roots ? confinePath(path, roots, field) : canonicalPath(path);
  let fd: number;
  try {
    fd = openSync(real, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw swapped(path, field);
    throw new FinetuneError('FILE_ERROR', `Cannot read ${field} '${path}': ${code === 'ENOENT' ? 'it does not exist' : (code ?? 'error')}.`, { details: { file: path, field } });
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw notRegular(path, opened, field);
    if (roots) {
      const again = canonicalPath(real);
      const now = statSync(again);
      if (again !== real || now.ino !== opened.ino || now.dev !== opened.dev) throw swapped(path, field);
    }
    return { fd, path: real, size: opened.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function swapped(path: string, field: string): FinetuneError {
  return new FinetuneError('PATH_NOT_ALLOWED', `${field} '${path}' changed while it was being opened (a link was replaced); it is not read.`, {
    recovery: 'Call again once nothing is rewriting the folder.',
    details: { file: path, field },
  });
}

/** Reads a whole regular file through `openForRead`. */
export function readUserFile(path: string, field?: string): Buffer;
export function readUserFile(path: string, field: string | undefined, encoding: 'utf8'): string;
export function readUserFile(path: string, field = 'path', encoding?: 'utf8'): Buffer | string {
  const { fd, size } = openForRead(path, field);
  try {
    // The size the opened file had: one buffer, no copies (a file growing meanwhile is read up to that size).
    const bytes = Buffer.allocUnsafe(size);
    let total = 0;
    while (total < size) {
      const n = readSync(fd, bytes, total, size - total, total);
      if (n === 0) break;
      total += n;
    }
    const read = bytes.subarray(0, total);
    return encoding ? read.toString(encoding) : read;
  } finally {
    closeSync(fd);
  }
}

/** Reads a JSON file; a parse failure says where, never what the file holds. */
export function readUserJson(path: string, field = 'path'): unknown {
  const text = readUserFile(path, field, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new FinetuneError('FILE_ERROR', `${path} is not valid JSON (${jsonErrorWhere(error, text)}).`, { details: { file: path, field } });
  }
}

/** Where a JSON.parse error happened, without the excerpt of the text that V8 puts in its message. */
export function jsonErrorWhere(error: unknown, text: string): string {
  const at = /position (\d+)/.exec((error as Error).message);
  if (at) return `at byte ${at[1]}`;
  return /end of JSON input/.test((error as Error).message) ? `ends early, after ${text.length} characters` : 'syntax error';
}

/** Copies a user's file into the workspace through `openForRead` (a Hub snapshot's links are followed, if they stay inside the roots). */
export function copyUserFile(source: string, target: string, field = 'path'): void {
  const { fd } = openForRead(source, field);
  let out: number | undefined;
  try {
    out = openSync(target, 'w', 0o644);
    const buffer = Buffer.allocUnsafe(8 * 1024 * 1024);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      for (let written = 0; written < n; ) written += writeSync(out, buffer, written, n - written);
    }
  } finally {
    closeSync(fd);
    if (out !== undefined) closeSync(out);
  }
}
