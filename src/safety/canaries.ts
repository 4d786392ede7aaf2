import { createHmac, randomBytes } from 'node:crypto';
import { phoneE164 } from '../datasets/pii-phone.js';
import { piiPatterns, redact, PII_KINDS } from '../datasets/pii.js';
import { rowStrings } from '../datasets/row-text.js';
import type { Services } from '../services.js';

interface FoundValue {
  kind: string;
  /** HMAC-SHA256 of the normalised value under the workspace's canary key: compared, never shown. */
  hash: string;
}

/** The workspace's canary key, made once: hashes are comparable within the workspace and useless outside it. */
function canaryKey(services: Services): string {
  const db = services.workspace.db;
  db.prepare("INSERT OR IGNORE INTO workspace_meta (key, value) VALUES ('canary_key', ?)").run(randomBytes(32).toString('hex'));
  return db.prepare("SELECT value FROM workspace_meta WHERE key = 'canary_key'").pluck().get() as string;
}

/** Finds personal values in text with the datasets' PII detectors; returns each as kind + keyed hash. */
export function personalValueFinder(services: Services): (text: string) => FoundValue[] {
  const regions = services.datasets.settings.pii.regions;
  const patterns = piiPatterns(PII_KINDS, [], regions);
  const key = canaryKey(services);
  const normalise = (kind: string, value: string): string => {
    if (kind === 'email') return value.toLowerCase();
    if (kind === 'phone') return phoneE164(value, regions)[0] ?? value.replace(/\D/g, '');
    if (kind === 'iban' || kind === 'credit_card') return value.replace(/[\s-]/g, '').toUpperCase();
    return value;
  };
  return (text) =>
    redact(text, patterns).findings.map((f) => {
      const value = normalise(f.kind, text.slice(f.start, f.start + f.length));
      return { kind: f.kind, hash: createHmac('sha256', key).update(`${f.kind}:${value}`).digest('hex') };
    });
}

/**
 * The canaries of a dataset version: every personal value its rows hold, as kind + keyed hash. Made
 * on first use and kept (remade when the version's content hash changed, after an erasure).
 */
export async function canariesOf(services: Services, datasetId: string, find: (text: string) => FoundValue[], signal?: AbortSignal): Promise<Map<string, string>> {
  const db = services.workspace.db;
  const record = services.datasets.get(datasetId);
  const made = db.prepare('SELECT content_hash FROM safety_canary_sets WHERE dataset_id = ?').pluck().get(datasetId) as string | undefined;
  if (made !== record.manifest.content_hash) {
    const found = new Map<string, string>();
    for await (const { row } of services.datasets.rows(datasetId, undefined, signal)) {
      for (const text of rowStrings(row)) for (const v of find(text)) found.set(v.hash, v.kind);
    }
    db.transaction(() => {
      db.prepare('DELETE FROM safety_canaries WHERE dataset_id = ?').run(datasetId);
      const insert = db.prepare('INSERT OR IGNORE INTO safety_canaries (dataset_id, kind, hash) VALUES (?, ?, ?)');
      for (const [hash, kind] of found) insert.run(datasetId, kind, hash);
      db.prepare('INSERT OR REPLACE INTO safety_canary_sets (dataset_id, content_hash, values_found, created_at) VALUES (?, ?, ?, ?)').run(datasetId, record.manifest.content_hash, found.size, new Date().toISOString());
    })();
  }
  const rows = db.prepare('SELECT hash, kind FROM safety_canaries WHERE dataset_id = ?').all(datasetId) as Array<{ hash: string; kind: string }>;
  return new Map(rows.map((r) => [r.hash, r.kind]));
}
