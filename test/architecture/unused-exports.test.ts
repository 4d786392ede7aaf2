import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/build.js';
import { exportUses, type ExportUse } from './export-uses.js';

/** Folders whose exports must each have a user in another file; users are looked for there and in these. */
const CHECKED = ['src', 'plugins', 'tools', 'prompts'];
const USERS = ['test', 'bench', 'scripts'];

/**
 * The package's public entries (package.json `exports`): everything they export is API for other
 * packages (plugin authors, the CLI's importers), used or not here.
 */
const PUBLIC_ENTRIES = ['src/cli.ts', 'src/plugin-sdk/index.ts', 'src/plugin-sdk/testing.ts'];

/**
 * Exports kept with no user yet, each with why. Delete an entry when its first user lands (an entry
 * that has become used does not fail, so that parallel work merges cleanly).
 */
const ALLOWED: Array<{ file: string; names: string[]; why: string }> = [];

function fixFor(use: ExportUse): string {
  const where = `${use.file}: export '${use.name}' is imported by no other file.`;
  const fix = use.usedInFile
    ? `Remove the \`export\` keyword (or its name from the \`export { … }\` list): it is used only inside ${use.file}.`
    : `Delete it: nothing uses it, not even ${use.file}.`;
  return `${where} ${fix} If it is API for plugin authors, re-export it from src/plugin-sdk/index.ts; if a user is on its way, list it in ALLOWED in test/architecture/unused-exports.test.ts with why.`;
}

describe('exports', () => {
  it('the public entries listed here are the package.json exports', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }> };
    const entries = Object.values(pkg.exports)
      .map((target) => (typeof target === 'string' ? target : target.default))
      .filter((target) => target.startsWith('./dist/'))
      .map((target) => target.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'));
    expect(entries.sort()).toEqual([...PUBLIC_ENTRIES].sort());
  });

  it('every export in src/, plugins/, tools/ and prompts/ is used by another file (or is public API)', () => {
    const allowed = new Set(ALLOWED.flatMap((a) => a.names.map((name) => `${a.file}#${name}`)));
    const uses = exportUses(REPO_ROOT, CHECKED, USERS);
    expect(uses.length, 'the analysis sees the exports (not vacuous)').toBeGreaterThan(500);
    const unused = uses.filter((u) => u.usedBy.size === 0 && !PUBLIC_ENTRIES.includes(u.file) && !allowed.has(`${u.file}#${u.name}`));
    expect(unused.map(fixFor)).toEqual([]);
  }, 180_000);

  it('counts every way a module is used, and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unused-exports-'));
    try {
      const files: Record<string, string> = {
        'package.json': '{"type": "module"}',
        'lib/a.ts': [
          'export function named() { return 1; }',
          'export const viaNamespace = 2;',
          'export const viaImport = 3;',
          'export type ViaType = { n: number };',
          'export function onlyHere() { return 4; }',
          'export function nowhere() { return 5; }',
          'export const viaStar = 6;',
          'export interface Inferred { n: number }',
          'export function make(): Inferred { return { n: onlyHere() }; }',
          'const local = 7;',
          'export { local as renamed };',
          'export default function () { return 8; }',
        ].join('\n'),
        'lib/star.ts': "export * from './a.js';",
        'lib/reexport.ts': "export { viaImport } from './a.js';\nexport { nowhere } from './a.js';",
        // Uses make() without naming Inferred: only its emitted declaration names `import("./a.js").Inferred`.
        'lib/e.ts': "import { make } from './a.js';\nexport const made = make();",
        'lib/b.ts': [
          "import fallback, { named } from './a.js';",
          "import * as ns from './a.js';",
          "import type { ViaType } from './a.js';",
          "import { viaStar } from './star.js';",
          "import { renamed } from './a.js';",
          'export const all = named() + ns.viaNamespace + fallback() + viaStar + renamed + ((x: ViaType) => x.n)({ n: 1 });',
        ].join('\n'),
        'lib/c.ts': "export async function load() { const { viaImport } = await import('./reexport.js'); return viaImport; }",
        'users/d.ts': "import { all } from '../lib/b.js';\nimport { made } from '../lib/e.js';\nimport { load } from '../lib/c.js';\nvoid [all, made, load];",
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const uses = exportUses(dir, ['lib'], ['users']);
      const unused = uses
        .filter((u) => u.usedBy.size === 0)
        .map((u) => `${u.file}#${u.name}${u.usedInFile ? ' (used in its file)' : ''}`)
        .sort();
      expect(unused).toEqual(['lib/a.ts#onlyHere (used in its file)', 'lib/reexport.ts#nowhere']);
      const a = (name: string) => [...uses.find((u) => u.file === 'lib/a.ts' && u.name === name)!.usedBy].sort();
      expect(a('Inferred'), 'named only by an emitted declaration').toEqual(['lib/e.ts']);
      expect(a('viaImport'), 'through the re-export').toEqual(['lib/c.ts', 'lib/reexport.ts']);
      expect(a('viaStar')).toEqual(['lib/b.ts']);
      expect(uses.find((u) => u.file === 'lib/reexport.ts' && u.name === 'viaImport')!.usedBy).toEqual(new Set(['lib/c.ts']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
