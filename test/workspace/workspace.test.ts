import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeDirAtomic, writeFileAtomic } from '../../src/workspace/atomic-write.js';
import { withRoots } from '../../src/workspace/confine.js';
import { migrate, openDatabase } from '../../src/workspace/database.js';
import { newId } from '../../src/workspace/ids.js';
import { MIGRATIONS } from '../../src/workspace/migration-list.js';
import { immutableTable } from '../../src/workspace/migrations.js';
import { Workspace } from '../../src/workspace/workspace.js';
import { REPO_ROOT } from '../helpers/build.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ftm-ws-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs writeFileAtomic in a child process that is SIGKILLed at the rename: the crash the design must survive. */
function crashBeforeRename(target: string): number | null {
  const module = pathToFileURL(join(REPO_ROOT, 'src/workspace/atomic-write.ts')).href;
  const script = `
    const fs = require('node:fs');
    const { syncBuiltinESMExports } = require('node:module');
    fs.renameSync = () => process.kill(process.pid, 'SIGKILL');
    syncBuiltinESMExports();
    import(${JSON.stringify(module)}).then(({ writeFileAtomic }) => writeFileAtomic(${JSON.stringify(target)}, 'x'.repeat(1 << 20)));
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
  return run.signal === 'SIGKILL' ? 9 : run.status;
}

describe('atomic writes', () => {
  it('a crash between temp write and rename leaves no partial file, and the next open sweeps the temp', () => {
    const target = join(dir, 'datasets', 'manifest.json');
    mkdirSync(join(dir, 'datasets'), { recursive: true });
    expect(crashBeforeRename(target)).toBe(9);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(join(dir, 'datasets')).some((f) => f.includes('.tmp-'))).toBe(true);
    Workspace.open({ root: dir }).close();
    expect(readdirSync(join(dir, 'datasets'))).toEqual([]);
  });

  it('a crash keeps the previous content whole', () => {
    const target = join(dir, 'config.json');
    writeFileAtomic(target, '{"version":1}');
    crashBeforeRename(target);
    expect(readFileSync(target, 'utf8')).toBe('{"version":1}');
  });

  it('writes a folder as a whole or not at all', async () => {
    const target = join(dir, 'models', 'mdl_1');
    await expect(
      writeDirAtomic(target, (tmp) => {
        writeFileAtomic(join(tmp, 'config.json'), '{}');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(join(dir, 'models'))).toEqual([]);
    await writeDirAtomic(target, (tmp) => writeFileAtomic(join(tmp, 'config.json'), '{}'));
    expect(readdirSync(target)).toEqual(['config.json']);
  });
});

describe('database and migrations', () => {
  it('runs each migration once, across reopenings', () => {
    const file = join(dir, 'w.db');
    const migrations = [
      { id: 'test_0001_a', sql: 'CREATE TABLE a (id TEXT PRIMARY KEY, v INTEGER)' },
      { id: 'test_0002_b', sql: `CREATE TABLE b (id TEXT PRIMARY KEY, a_id TEXT NOT NULL REFERENCES a(id)); ${immutableTable('b')}` },
    ];
    const db = openDatabase(file);
    expect(migrate(db, migrations)).toEqual(['test_0001_a', 'test_0002_b']);
    expect(migrate(db, migrations)).toEqual([]);
    db.close();
    const again = openDatabase(file);
    expect(migrate(again, [...migrations, { id: 'test_0003_c', sql: 'CREATE TABLE c (x)' }])).toEqual(['test_0003_c']);
    expect(again.pragma('journal_mode', { simple: true })).toBe('wal');
    // foreign keys are enforced, immutable rows refuse updates
    expect(() => again.prepare("INSERT INTO b VALUES ('b1', 'missing')").run()).toThrow(/FOREIGN KEY/);
    again.prepare("INSERT INTO a VALUES ('a1', 1)").run();
    again.prepare("INSERT INTO b VALUES ('b1', 'a1')").run();
    expect(() => again.prepare("UPDATE b SET a_id = 'a1' WHERE id = 'b1'").run()).toThrow(/IMMUTABLE_RECORD/);
    again.close();
  });

  it('refuses a migration list with a repeated id', () => {
    const db = openDatabase(join(dir, 'w.db'));
    expect(() => migrate(db, [{ id: 'x', sql: '' }, { id: 'x', sql: '' }])).toThrow(/appears twice/);
    db.close();
  });

  it('the shipped migrations apply on a new workspace', () => {
    const ws = Workspace.open({ root: dir });
    const applied = ws.db.prepare('SELECT id FROM schema_migrations ORDER BY rowid').pluck().all();
    expect(applied).toEqual(MIGRATIONS.map((m) => m.id));
    ws.close();
  });
});

describe('ids and paths', () => {
  it('ids carry their prefix and sort by time', () => {
    const a = newId('dataset', 1_700_000_000_000);
    const b = newId('dataset', 1_700_000_000_001);
    expect(a).toMatch(/^ds_[0-9a-z]{20}$/);
    expect(a < b).toBe(true);
  });

  it('refuses paths outside the allowed roots, symlinks included', () => {
    const inside = join(dir, 'data');
    mkdirSync(inside);
    const ws = Workspace.open({ root: join(dir, 'home'), allowedRoots: [inside] });
    expect(ws.resolveUserPath(join(inside, 'a.jsonl'))).toBe(join(inside, 'a.jsonl'));
    expect(ws.resolveUserPath(join(dir, 'home', 'exports', 'x.jsonl'))).toContain('exports');
    expect(() => ws.resolveUserPath('/etc/passwd')).toThrow(/outside the allowed roots/);
    expect(() => ws.resolveUserPath(join(inside, '..', 'secret'))).toThrow(/PATH|outside/);
    symlinkSync('/etc', join(inside, 'escape'));
    expect(() => ws.resolveUserPath(join(inside, 'escape', 'passwd'))).toThrow(/outside the allowed roots/);
    ws.close();
  });
});

describe('writes in a tool call are checked again after the folder was resolved', () => {
  let root: string;
  let outside: string;
  beforeEach(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'ftm-write-race-')));
    outside = realpathSync(mkdtempSync(join(tmpdir(), 'ftm-write-outside-')));
    mkdirSync(join(root, 'out'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  /** Moves root/out (with any temp in it) outside and leaves a link to it: the swap a check/use race needs. */
  const swapForLink = () => {
    renameSync(join(root, 'out'), join(outside, 'moved'));
    symlinkSync(join(outside, 'moved'), join(root, 'out'));
  };

  it('a folder whose parent became a link outside the roots while it was filled is refused, and nothing lands outside', async () => {
    const write = withRoots([root], () => writeDirAtomic(join(root, 'out', 'export'), (dir) => {
      writeFileSync(join(dir, 'rows.jsonl'), '{}\n');
      swapForLink();
    }));
    await expect(write).rejects.toThrow(/outside the allowed roots/);
    expect(readdirSync(join(outside, 'moved'))).toEqual([]);
  });

  it('a file is created, never opened through an existing temp link, and lands inside the roots', () => {
    withRoots([root], () => writeFileAtomic(join(root, 'out', 'a.json'), '{}'));
    expect(readFileSync(join(root, 'out', 'a.json'), 'utf8')).toBe('{}');
    swapForLink();
    expect(() => withRoots([root], () => writeFileAtomic(join(root, 'out', 'b.json'), '{}'))).toThrow(/outside the allowed roots/);
    expect(readdirSync(join(outside, 'moved'))).toEqual(['a.json']);
  });
});
