import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../errors.js';

/**
 * Where an export tool may write one file: not a folder (overwrite never replaces one: a fuzzed call
 * named the workspace itself), and not an existing file unless `overwrite`. `given` is the path as
 * the caller wrote it, `exampleName` a file name to suggest inside a folder.
 */
export function checkExportTarget(given: string, path: string, overwrite: boolean, exampleName: string): void {
  if (!existsSync(path)) return;
  if (statSync(path).isDirectory()) {
    throw new FinetuneError('INVALID_INPUT', `'${given}' is a folder; this tool writes one file.`, { recovery: `Name a file, e.g. "${join(given, exampleName)}".`, details: { field: 'path' } });
  }
  if (!overwrite) throw new FinetuneError('INVALID_INPUT', `'${given}' already exists.`, { recovery: 'Choose another path, or pass overwrite=true to replace it.', details: { field: 'path' } });
}
