import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processStart } from '../../src/training/process-identity.js';
import { PENDING_TEMPS_DIR } from '../../src/workspace/pending-temps.js';
import { exportDatasetTool } from '../../tools/export-dataset.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { registerModelTool } from '../../tools/register-model.js';
import { fixture, FIXTURES } from '../datasets/helpers.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { writeAdapter } from '../registry/records.js';

const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

/** A pid that named a process which has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

function note(home: string, name: string, entry: { path: string; pid: number; start: string | null }): void {
  mkdirSync(join(home, PENDING_TEMPS_DIR), { recursive: true });
  writeFileSync(join(home, PENDING_TEMPS_DIR, name), JSON.stringify(entry));
}

describe('leftovers of a crash are swept at the next start (issue 13 item 18)', () => {
  const clients: TestClient[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const start = async (home: string, out: string) => {
    const c = await connectTestClient({ home, config: { allowed_roots: [FIXTURES, out] } });
    clients.push(c);
    return c;
  };

  it('an export temp beside the user target is noted while written, and removed at start once its writer is gone; a live writer keeps its own', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-leftover-home-'));
    const out = mkdtempSync(join(tmpdir(), 'ftm-leftover-out-'));
    dirs.push(home, out);
    const first = await start(home, out);
    const { dataset_id } = await first.callOk(prepareDatasetTool, { path: fixture('toy_chat_fine_tuning.jsonl') });

    // While export_dataset writes, its temp file beside the target is noted in the workspace.
    const seen: Array<{ path: string; exists: boolean }> = [];
    const original = fs.writeSync;
    fs.writeSync = ((...args: Parameters<typeof original>) => {
      for (const name of existsSync(join(home, PENDING_TEMPS_DIR)) ? readdirSync(join(home, PENDING_TEMPS_DIR)) : []) {
        if (!name.endsWith('.json') || name.startsWith('.')) continue;
        const path = (JSON.parse(readFileSync(join(home, PENDING_TEMPS_DIR, name), 'utf8')) as { path: string }).path;
        if (dirname(path) === out) seen.push({ path, exists: existsSync(path) });
      }
      return original(...args);
    }) as typeof original;
    syncBuiltinESMExports();
    try {
      await first.callOk(exportDatasetTool, { dataset_id, path: join(out, 'train.jsonl'), format: 'openai_chat' });
    } finally {
      fs.writeSync = original;
      syncBuiltinESMExports();
    }
    expect(seen.some((s) => s.exists && s.path.includes('.train.jsonl.tmp-'))).toBe(true);
    // After the rename the note is gone: nothing is left for a sweep to remove.
    expect(readdirSync(join(home, PENDING_TEMPS_DIR)).filter((n) => n.endsWith('.json'))).toEqual([]);
    await first.close();
    clients.splice(0);

    // A crash mid-export: a 115 MB-style temp left in the user's folder (here a small one), its note naming a dead writer;
    // another from a process whose pid was reused since (this test's pid, another start time); and one still being written.
    const dead = join(out, `.model.onnx.tmp-${deadPid()}-0a0b`);
    const reused = join(out, `.other.jsonl.tmp-${process.pid}-0c0d`);
    const live = join(out, `.live.jsonl.tmp-${process.pid}-0e0f`);
    mkdirSync(dead);
    writeFileSync(join(dead, 'model.onnx'), Buffer.alloc(1024));
    writeFileSync(reused, 'x');
    writeFileSync(live, 'x');
    note(home, 'a.json', { path: dead, pid: Number(dead.split('.tmp-')[1].split('-')[0]), start: null });
    note(home, 'b.json', { path: reused, pid: process.pid, start: 'linux:another-boot:1' });
    note(home, 'c.json', { path: live, pid: process.pid, start: processStart(process.pid) });
    // A note that names something other than a temp never removes it.
    note(home, 'd.json', { path: join(out, 'train.jsonl'), pid: deadPid(), start: null });

    await start(home, out);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(reused)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(join(out, 'train.jsonl'))).toBe(true);
    expect(readdirSync(join(home, PENDING_TEMPS_DIR)).sort()).toEqual(['c.json']);
  });

  it("a folder written outside the workspace (export_model's output_path) is noted while its temp exists; one inside is not", async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-leftover-home-'));
    const out = mkdtempSync(join(tmpdir(), 'ftm-leftover-out-'));
    dirs.push(home, out);
    const t = await start(home, out);
    const notes = () => (existsSync(join(home, PENDING_TEMPS_DIR)) ? readdirSync(join(home, PENDING_TEMPS_DIR)).filter((n) => n.endsWith('.json')) : []);
    let during: string[] = [];
    await t.services.workspace.writeDir(join(out, 'onnx-export'), (tmp) => {
      during = notes().map((n) => (JSON.parse(readFileSync(join(home, PENDING_TEMPS_DIR, n), 'utf8')) as { path: string }).path);
      writeFileSync(join(tmp, 'model.onnx'), 'x');
      expect(during).toEqual([tmp]);
    });
    expect(during).toHaveLength(1);
    expect(notes()).toEqual([]);
    await t.services.workspace.writeDir(join(home, 'exports', 'inside'), () => expect(notes()).toEqual([]));
  });

  it('a registry folder no version row names is removed once older than the grace period; registered and fresh ones stay', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-leftover-home-'));
    const out = mkdtempSync(join(tmpdir(), 'ftm-leftover-out-'));
    dirs.push(home, out);
    const first = await start(home, out);
    const adapter = writeAdapter(join(out, 'adapter'));
    const { model_version: v } = await first.callOk(registerModelTool, { name: 'bot', version: '1.0.0', adapter_path: adapter });
    await first.close();
    clients.splice(0);

    const registry = join(home, 'registry');
    const registered = dirname(v.artifact_dir);
    const orphan = join(registry, 'mv_01orphanedbycrash0000000000');
    const fresh = join(registry, 'mv_01beingregisterednow00000000');
    for (const dir of [orphan, fresh]) writeAdapter(join(dir, 'adapter'));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    for (const dir of [orphan, registered]) utimesSync(dir, twoHoursAgo, twoHoursAgo);

    await start(home, out);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(join(v.artifact_dir, 'adapter_model.safetensors'))).toBe(true);
  });
});
