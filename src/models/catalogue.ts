import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { CatalogueFileSchema, type CatalogueEntry } from './catalogue-schema.js';

/** The shipped catalogue of open-weight base models, dated; the file is data a person can read and correct. */
const CATALOGUE_FILE = join('assets', 'catalogue', 'base-models.json');

interface Catalogue {
  /** The date the shipped facts were checked, e.g. "2026-12-05". */
  as_of: string;
  entries: CatalogueEntry[];
  /** Ids that came from the config (`models.catalogue`), added or replacing a shipped entry. */
  from_config: Set<string>;
}

let shipped: { as_of: string; models: CatalogueEntry[] } | undefined;

/** Reads and checks the shipped file once; a broken file is a packaging bug, reported with the field. */
function shippedCatalogue(): { as_of: string; models: CatalogueEntry[] } {
  if (shipped) return shipped;
  const file = join(packageRoot(), CATALOGUE_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new FinetuneError('INTERNAL', `The base-model catalogue ${file} cannot be read: ${(error as Error).message}`, { details: { file } });
  }
  const parsed = CatalogueFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FinetuneError('INTERNAL', `The base-model catalogue ${file} is invalid at ${issue.path.join('.')}: ${issue.message}.`, { details: { file, field: issue.path.join('.') } });
  }
  shipped = parsed.data;
  return shipped;
}

/** The shipped entries with the config's own (already validated at start-up) added; a config entry replaces a shipped one of the same id. */
export function loadCatalogue(configured: readonly CatalogueEntry[]): Catalogue {
  const base = shippedCatalogue();
  const byId = new Map(base.models.map((m) => [m.id, m]));
  for (const entry of configured) byId.set(entry.id, entry);
  return { as_of: base.as_of, entries: [...byId.values()], from_config: new Set(configured.map((e) => e.id)) };
}
