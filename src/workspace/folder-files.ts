import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every file under a folder, as a path relative to it with `/` separators and its size, sorted by path. */
export function filesIn(dir: string): Array<{ name: string; bytes: number }> {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return { name: relative(dir, path).split('\\').join('/'), bytes: statSync(path).size };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
