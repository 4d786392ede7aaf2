/**
 * The right to erasure (GDPR art. 17): every row of every dataset version that holds a data subject
 * is removed, every other file and database cell of the workspace that names them is scrubbed, each
 * model version trained on an affected version is marked tainted, and an append-only, hash-chained
 * log says what was done without ever holding the identifiers. docs/erasure.md has the design.
 *
 * Order, so that a crash loses nothing and a second run finishes the first: the new content is
 * written to temp files (hashed as it goes); one transaction then updates the records, scrubs the
 * database, marks the taints and appends the log; only then are the temps renamed over the files.
 * Interrupted after the transaction, the files still hold the rows, and running the same erasure
 * again finds and removes them (the log then holds both runs).
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { readLines } from '../datasets/line-reader.js';
import { rowStrings } from '../datasets/row-text.js';
import type { DatasetManifest } from '../datasets/types.js';
import { HashingFileWriter } from '../datasets/version-writer.js';
import { fsyncDir, tempPathFor, TEMP_MARK } from '../workspace/atomic-write.js';
import { newId } from '../workspace/ids.js';
import { appendErasure, verifyErasureLog } from './log.js';
import { scrubber, subjectMatcher, type SubjectIdentifier, type SubjectMatcher } from './subject.js';

const ROW_FILES = ['rows.jsonl', 'train.jsonl', 'validation.jsonl', 'test.jsonl'] as const;
/** Files keyed by the 1-based line of rows.jsonl they describe. */
const LINE_KEYED = ['provenance.jsonl', 'lineage.jsonl'];
/** Folders holding model weights and tokenizers only: nothing a person wrote lands there. */
const SKIPPED_AREAS = new Set(['models', 'hub-cache']);
const TEXT_FILE = /\.(jsonl?|csv|tsv|txt|md|log|ya?ml|html?)$/i;
const MAX_TEXT_FILE = 256 * 1024 * 1024;
// Canaries are keyed hashes (the versions' are dropped below and remade from the erased rows).
const EXCLUDED_TABLES = new Set(['schema_migrations', 'erasure_log', 'erasure_unlock', 'model_version_taints', 'safety_canaries', 'safety_canary_sets']);

interface EraseOptions {
  identifiers: SubjectIdentifier[];
  reason: string;
  request_reference: string;
  dry_run: boolean;
}

interface VersionErasure {
  dataset_id: string;
  rows_removed: Record<string, number>;
}

interface ErasureResult {
  erasure_id: string | null;
  dry_run: boolean;
  dataset_versions: VersionErasure[];
  files_scrubbed: string[];
  database_cells: Record<string, number>;
  jobs: string[];
  tainted_versions: Array<{ version_id: string; name: string; version: string }>;
  skipped_files: Array<{ file: string; why: string }>;
  /** Files outside the workspace that affected versions were imported from: out of reach, said so. */
  outside_workspace: string[];
  database_compacted: boolean | null;
  log: { entries: number; verified: boolean; problem?: string };
}

/** A file's replacement, written beside it and renamed over it once the records are committed. */
interface Replacement {
  target: string;
  temp: string;
}

export async function eraseSubject(services: Services, options: EraseOptions): Promise<ErasureResult> {
  const { workspace } = services;
  const db = workspace.db;
  const matcher = subjectMatcher(options.identifiers, services.datasets.settings.pii.regions);
  for (const field of ['reason', 'request_reference'] as const) {
    if (matcher.find(options[field]).length) {
      throw new FinetuneError('INVALID_INPUT', `${field} names the data subject; the erasure log keeps it, so it must not.`, {
        recovery: `Describe the request without the person's identifiers (e.g. "DSR 2026-114, art. 17").`,
        details: { field },
      });
    }
  }
  const surfaces = new Set<string>();
  const replacements: Replacement[] = [];
  const erasureId = newId('erasure');
  const at = new Date().toISOString();

  try {
    // 1. Dataset versions: which rows hold the subject.
    const versions: Array<{ id: string; dir: string; manifest: DatasetManifest; removed: Map<string, Set<number>> }> = [];
    for (const id of db.prepare('SELECT id FROM datasets ORDER BY created_at, id').pluck().all() as string[]) {
      const record = services.datasets.get(id);
      const removed = new Map<string, Set<number>>();
      for (const name of ROW_FILES) {
        const lines = await matchingLines(join(record.dir, name), matcher, surfaces, services.datasets.settings.max_line_bytes);
        if (lines.size) removed.set(name, lines);
      }
      if (removed.size) versions.push({ id, dir: record.dir, manifest: record.manifest, removed });
    }

    // 2. Every other text file of the workspace, and the database's text cells.
    const textFiles: string[] = [];
    const skipped: ErasureResult['skipped_files'] = [];
    const affectedDirs = new Set(versions.map((v) => v.dir));
    for (const file of walk(workspace.root)) {
      const rel = relative(workspace.root, file);
      const area = rel.split(/[\\/]/)[0];
      if (SKIPPED_AREAS.has(area) || !TEXT_FILE.test(file)) continue;
      if (area === 'datasets' && (ROW_FILES as readonly string[]).includes(basename(file))) continue;
      if (affectedDirs.has(dirname(file)) && (LINE_KEYED.includes(basename(file)) || basename(file) === 'manifest.json')) continue;
      const size = statSync(file).size;
      if (size > MAX_TEXT_FILE) {
        skipped.push({ file: rel, why: `${size} bytes: larger than the ${MAX_TEXT_FILE / 1024 / 1024} MiB a scrub reads at once; check it by hand` });
        continue;
      }
      const text = readFileSync(file, 'utf8');
      const found = matcher.find(text);
      if (found.length || [...surfaces].some((s) => includesFold(text, s))) {
        found.forEach((s) => surfaces.add(s));
        textFiles.push(file);
      }
    }
    const cells = databaseCells(services, matcher, surfaces);

    // 3. Who trained on what was affected.
    const affected = versions.map((v) => v.id);
    const jobs = affected.length ? (db.prepare(`SELECT j.job_id FROM jobs j JOIN training_configs c ON c.config_id = j.config_id WHERE c.dataset_id IN (${affected.map(() => '?').join(',')}) ORDER BY j.created_at`).pluck().all(...affected) as string[]) : [];
    const tainted = (db.prepare('SELECT id, name, version, lineage FROM model_versions ORDER BY created_at').all() as Array<{ id: string; name: string; version: string; lineage: string }>)
      .filter((v) => {
        const lineage = JSON.parse(v.lineage) as { dataset_id?: string | null; job_id?: string | null };
        return (lineage.dataset_id && affected.includes(lineage.dataset_id)) || (lineage.job_id && jobs.includes(lineage.job_id));
      })
      .map((v) => ({ version_id: v.id, name: v.name, version: v.version }));

    const outside_workspace = [...new Set(versions.map((v) => v.manifest.source.path))].filter((p) => isAbsolute(p) && !p.startsWith(workspace.root) && exists(p));
    const dataset_versions = versions.map((v) => ({ dataset_id: v.id, rows_removed: Object.fromEntries([...v.removed].map(([f, lines]) => [f.replace('.jsonl', ''), lines.size])) }));
    const database_cells: Record<string, number> = {};
    for (const c of cells) database_cells[c.table] = (database_cells[c.table] ?? 0) + 1;
    const files_scrubbed = textFiles.map((f) => relative(workspace.root, f));
    const summary = {
      identifiers: matcher.kinds,
      dataset_versions,
      files_scrubbed: files_scrubbed.length,
      database_cells,
      jobs,
      tainted_versions: tainted.map((t) => t.version_id),
    };
    if (options.dry_run) {
      return { erasure_id: null, dry_run: true, dataset_versions, files_scrubbed, database_cells, jobs, tainted_versions: tainted, skipped_files: skipped, outside_workspace, database_compacted: null, log: logState(services) };
    }

    // 4. New content, beside the old.
    const updatedRecords: Array<{ id: string; manifest: DatasetManifest }> = [];
    const clean = scrubber([...surfaces]);
    for (const v of versions) {
      const hashes: Record<string, string> = {};
      const counts: Record<string, number> = {};
      for (const name of ROW_FILES) {
        const path = join(v.dir, name);
        if (!exists(path)) continue;
        const rewritten = await rewriteRows(path, v.removed.get(name) ?? new Set(), clean, services.datasets.settings.max_line_bytes);
        hashes[name] = rewritten.sha256;
        counts[name.replace('.jsonl', '')] = rewritten.rows;
        if (rewritten.temp) replacements.push({ target: path, temp: rewritten.temp });
      }
      const dropped = v.removed.get('rows.jsonl') ?? new Set<number>();
      for (const name of LINE_KEYED) {
        const path = join(v.dir, name);
        if (exists(path)) replacements.push({ target: path, temp: writeTemp(path, renumbered(readFileSync(path, 'utf8'), dropped, clean)) });
      }
      const split = v.manifest.counts.train !== undefined;
      const manifest: DatasetManifest = JSON.parse(
        clean(
          JSON.stringify({
            ...v.manifest,
            content_hash: split
              ? createHash('sha256').update(ROW_FILES.map((f) => hashes[f]).join('\n')).digest('hex')
              : hashes['rows.jsonl'],
            counts: split ? { rows: counts.rows, train: counts.train, validation: counts.validation, test: counts.test } : { rows: counts.rows },
            erasures: [...(v.manifest.erasures ?? []), { erasure_id: erasureId, request_reference: options.request_reference, at, rows_removed: dataset_versions.find((d) => d.dataset_id === v.id)!.rows_removed }],
          }),
        ),
      ) as DatasetManifest;
      replacements.push({ target: join(v.dir, 'manifest.json'), temp: writeTemp(join(v.dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`) });
      updatedRecords.push({ id: v.id, manifest });
    }
    for (const file of textFiles) replacements.push({ target: file, temp: writeTemp(file, clean(readFileSync(file, 'utf8'))) });

    // 5. One transaction: records, cells, taints, log.
    // Freed cells are zeroed as they go; VACUUM below then drops the free pages altogether.
    db.pragma('secure_delete = ON');
    try {
      db.transaction(() => {
      db.prepare('INSERT INTO erasure_unlock (held) VALUES (1)').run();
      for (const c of cells) db.prepare(`UPDATE "${c.table}" SET "${c.column}" = ? WHERE rowid = ?`).run(clean(c.value), c.rowid);
      for (const r of updatedRecords) {
        db.prepare('UPDATE datasets SET content_hash = ?, rows = ?, manifest = ? WHERE id = ?').run(r.manifest.content_hash, r.manifest.counts.rows, JSON.stringify(r.manifest), r.id);
        db.prepare('DELETE FROM safety_canaries WHERE dataset_id = ?').run(r.id);
        db.prepare('DELETE FROM safety_canary_sets WHERE dataset_id = ?').run(r.id);
      }
      appendErasure(db, { id: erasureId, request_reference: options.request_reference, reason: options.reason, summary, at });
      const taint = db.prepare('INSERT INTO model_version_taints (version_id, erasure_id, request_reference, dataset_ids, at) VALUES (?, ?, ?, ?, ?)');
      for (const t of tainted) taint.run(t.version_id, erasureId, options.request_reference, JSON.stringify(affected), at);
      db.prepare('DELETE FROM erasure_unlock').run();
      }).immediate();
    } finally {
      db.pragma('secure_delete = OFF');
    }

    // 6. The files, then the database's free pages and write-ahead log.
    for (const r of replacements.splice(0)) {
      renameSync(r.temp, r.target);
      fsyncDir(dirname(r.target));
    }
    const database_compacted = compact(services);
    services.logger.info({ erasure_id: erasureId, versions: affected.length, files: files_scrubbed.length, tainted: tainted.length }, 'subject erased');
    return { erasure_id: erasureId, dry_run: false, dataset_versions, files_scrubbed, database_cells, jobs, tainted_versions: tainted, skipped_files: skipped, outside_workspace, database_compacted, log: logState(services) };
  } finally {
    for (const r of replacements) rmSync(r.temp, { force: true });
  }
}

function logState(services: Services): ErasureResult['log'] {
  const check = verifyErasureLog(services.workspace.db);
  return { entries: check.entries, verified: check.ok, ...(check.problem ? { problem: check.problem } : {}) };
}

/** Lines of a JSONL file any of whose string values names the subject (their written forms go to `surfaces`). */
async function matchingLines(path: string, matcher: SubjectMatcher, surfaces: Set<string>, maxLineBytes: number): Promise<Set<number>> {
  const lines = new Set<number>();
  if (!exists(path)) return lines;
  for await (const raw of readLines(path, { maxLineBytes })) {
    if (raw.too_long || !raw.byte_length) continue;
    const found = matcher.find(rowStrings(JSON.parse(raw.bytes.toString('utf8'))).join('\n'));
    if (!found.length) continue;
    lines.add(raw.line);
    found.forEach((s) => surfaces.add(s));
  }
  return lines;
}

/** Writes the file without `drop`'s lines to a temp (only when something changes) and hashes what the file will hold. */
async function rewriteRows(path: string, drop: Set<number>, scrub: (text: string) => string, maxLineBytes: number): Promise<{ temp: string | null; sha256: string; rows: number }> {
  const temp = tempPathFor(path);
  const fd = openSync(temp, 'wx', 0o644);
  const out = new HashingFileWriter(fd);
  let rows = 0;
  let changed = drop.size > 0;
  try {
    for await (const raw of readLines(path, { maxLineBytes })) {
      if (drop.has(raw.line) || (!raw.byte_length && !raw.too_long)) continue;
      const line = raw.bytes.toString('utf8');
      const scrubbed = scrub(line);
      if (scrubbed !== line) changed = true;
      out.write(`${scrubbed}\n`);
      rows++;
    }
    const sha256 = out.digest();
    fsyncSync(fd);
    closeSync(fd);
    if (!changed) rmSync(temp, { force: true });
    return { temp: changed ? temp : null, sha256, rows };
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
}

/** A line-keyed file without the entries of dropped rows, the others renumbered to the rows' new lines. */
function renumbered(text: string, dropped: Set<number>, scrub: (text: string) => string): string {
  const gone = [...dropped].sort((a, b) => a - b);
  const kept: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as { line?: number };
    if (typeof entry.line === 'number') {
      if (dropped.has(entry.line)) continue;
      const before = gone.filter((n) => n < entry.line!).length;
      entry.line -= before;
    }
    kept.push(scrub(JSON.stringify(entry)));
  }
  return kept.length ? `${kept.join('\n')}\n` : '';
}

function writeTemp(target: string, content: string): string {
  const temp = tempPathFor(target);
  writeFileSync(temp, content, { flag: 'wx', mode: 0o644 });
  const fd = openSync(temp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  return temp;
}

interface Cell {
  table: string;
  column: string;
  rowid: number;
  value: string;
}

/** Text cells of every table that name the subject: pre-filtered in SQL by short literals, then matched. */
function databaseCells(services: Services, matcher: SubjectMatcher, surfaces: Set<string>): Cell[] {
  const db = services.workspace.db;
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[]).filter((t) => !EXCLUDED_TABLES.has(t));
  const probes = [...new Set([...matcher.probes, ...surfaces])];
  const cells: Cell[] = [];
  for (const table of tables) {
    const columns = (db.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string; type: string }>).filter((c) => /TEXT|^$/i.test(c.type)).map((c) => c.name);
    for (const column of columns) {
      const where = probes.map(() => `instr(lower("${column}"), lower(?)) > 0`).join(' OR ');
      const rows = db.prepare(`SELECT rowid AS rowid, "${column}" AS value FROM "${table}" WHERE typeof("${column}") = 'text' AND (${where})`).all(...probes) as Array<{ rowid: number; value: string }>;
      for (const r of rows) {
        const found = matcher.find(r.value);
        found.forEach((s) => surfaces.add(s));
        if (found.length || [...surfaces].some((s) => includesFold(r.value, s))) cells.push({ table, column, rowid: r.rowid, value: r.value });
      }
    }
  }
  return cells;
}

/** Rebuilds the database without free pages and empties the write-ahead log, so no old page keeps a scrubbed value. */
function compact(services: Services): boolean {
  const db = services.workspace.db;
  try {
    db.exec('VACUUM');
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    return result?.busy === 0;
  } catch (error) {
    services.logger.warn({ err: error }, 'erasure: VACUUM or checkpoint could not run (another process holds the database); run erase_subject again later');
    return false;
  }
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name.includes(TEMP_MARK)) continue;
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

function includesFold(text: string, surface: string): boolean {
  return text.toLowerCase().includes(surface.toLowerCase());
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
