import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { LICENCE_FILES } from './folder.js';

/** What a model folder says of its licence, and where it says it; null fields are not stated. */
export interface FolderLicence {
  id: string | null;
  name: string | null;
  link: string | null;
  /** Where it was read, e.g. ["README.md front matter", "LICENSE"]. */
  found_in: string[];
}

/** Front matter of a model card: the YAML between a leading `---` line and the next one. */
const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/;

/**
 * The licence a folder states: `license` in config.json, `license` / `license_name` / `license_link` in
 * README.md's front matter (the Hub's model-card metadata), and a licence file by its name. Null when
 * the folder says nothing; a card whose front matter does not parse is skipped, not an error.
 */
export function readFolderLicence(dir: string): FolderLicence | null {
  const found: FolderLicence = { id: null, name: null, link: null, found_in: [] };
  const config = readJson(join(dir, 'config.json'));
  if (typeof config?.license === 'string' && config.license.trim()) {
    found.id = config.license.trim();
    found.found_in.push('config.json');
  }
  const card = join(dir, 'README.md');
  const meta = existsSync(card) ? frontMatter(readFileSync(card, 'utf8')) : undefined;
  if (meta) {
    const text = (key: string) => (typeof meta[key] === 'string' && (meta[key] as string).trim() ? (meta[key] as string).trim() : null);
    const id = text('license');
    found.id ??= id;
    found.name = text('license_name');
    found.link = text('license_link');
    if (id || found.name || found.link) found.found_in.push('README.md front matter');
  }
  for (const file of LICENCE_FILES.filter((f) => f !== 'README.md' && existsSync(join(dir, f)))) found.found_in.push(file);
  return found.found_in.length ? found : null;
}

function frontMatter(text: string): Record<string, unknown> | undefined {
  const match = FRONT_MATTER.exec(text);
  if (!match) return undefined;
  try {
    // yaml loads only for a card with front matter.
    const value = (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(match[1]) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
