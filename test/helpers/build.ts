import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILT_CLI = join(REPO_ROOT, 'dist', 'src', 'cli.js');

/** The built CLI (`npm test` builds first through `pretest`); builds it here, as `npm run build` does, when run alone. */
export function builtCli(): string {
  if (!existsSync(BUILT_CLI)) execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  return BUILT_CLI;
}
