import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: assets/ sits beside src/ in the source tree and beside dist/src in the build. */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join('dist', 'src')) ? join(here, '..', '..') : join(here, '..');
}
