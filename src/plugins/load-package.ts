import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Imports a third-party plugin named in `external_plugins`: a package name, resolved beside the server
 * and then from the working folder up (where `npm install finetune-mcp acme-backend` put both), or a
 * path to a package folder or a module file, relative to the working folder.
 */
export async function importPluginPackage(spec: string, cwd: string = process.cwd()): Promise<{ default?: unknown; plugin?: unknown }> {
  if (isPath(spec)) return import(pathToFileURL(entryOf(resolve(cwd, spec))).href);
  try {
    return await import(spec);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const installed = code === 'ERR_MODULE_NOT_FOUND' ? installedFolder(spec, cwd) : undefined;
    if (!installed) throw error;
    return import(pathToFileURL(entryOf(installed)).href);
  }
}

function isPath(spec: string): boolean {
  return isAbsolute(spec) || spec.startsWith('./') || spec.startsWith('../');
}

/** `<dir>/node_modules/<name>` of the nearest folder from `cwd` up that has one. */
function installedFolder(name: string, cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** A module file as is; a package folder through its package.json (`exports["."]`, then `main`, then index.js). */
function entryOf(path: string): string {
  if (!statSync(path).isDirectory()) return path;
  const pkg = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as { exports?: unknown; main?: string };
  return join(path, exportTarget(pkg.exports) ?? pkg.main ?? 'index.js');
}

/** The file `exports` maps `.` to under the import conditions (a string, `{".": …}`, or `{import|default: …}`). */
function exportTarget(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports;
  if (typeof exports !== 'object' || exports === null) return undefined;
  const map = exports as Record<string, unknown>;
  if ('.' in map) return exportTarget(map['.']);
  for (const condition of ['import', 'node', 'default']) {
    const target = exportTarget(map[condition]);
    if (target) return target;
  }
  return undefined;
}
