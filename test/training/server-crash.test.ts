import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { JOB_STATUSES, JobLedger } from '../../src/training/ledger.js';
import { Workspace } from '../../src/workspace/workspace.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectFast } from './jobs-helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

/** Starts the child server, waits for `rounds` finished rounds plus a random few ms, then SIGKILLs it. */
async function killMidCall(home: string, rounds: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, home], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c) => {
      out += c;
      if ((out.match(/round \d+/g) ?? []).length < rounds) return;
      setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 15));
      resolve();
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited early (${code}): ${err}`))));
  });
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.on('exit', resolve)));
}

describe('a server killed in the middle of a tool call', () => {
  const homes: string[] = [];
  afterEach(() => {
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });

  it('leaves the workspace consistent: no half-written record or file, and its jobs are reconciled on the next start', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-crash-'));
    homes.push(home);
    await killMidCall(home, 3);

    // Final-named files are whole: every exported YAML parses and names a stored config.
    const exportsDir = join(home, 'exports');
    const finals = readdirSync(exportsDir).filter((n) => n.endsWith('.yaml') && !n.startsWith('.'));
    expect(finals.length).toBeGreaterThanOrEqual(3);
    const workspace = Workspace.open({ root: home }); // also sweeps the dead writer's temp files
    try {
      expect(workspace.db.pragma('integrity_check', { simple: true })).toBe('ok');
      const ledger = new JobLedger(workspace.db);
      const configs = workspace.db.prepare('SELECT config_id FROM training_configs').pluck().all() as string[];
      for (const id of configs) expect(ledger.getConfig(id).hyperparameters.max_steps).toBe(100_000);
      for (const name of finals) {
        const doc = parseYaml(readFileSync(join(exportsDir, name), 'utf8')) as { hyperparameters: { seed: number } };
        expect(`config-${doc.hyperparameters.seed}.yaml`).toBe(name);
      }
      expect(readdirSync(exportsDir).filter((n) => n.includes('.tmp-'))).toEqual([]);
      // Every job has its creation event (written in the same transaction) and a known status.
      const jobs = ledger.list({ limit: 1000 }).jobs;
      expect(jobs.length).toBeGreaterThanOrEqual(3);
      for (const job of jobs) {
        expect(JOB_STATUSES).toContain(job.status);
        expect(ledger.eventsSince(job.job_id, 0, 1).events[0]?.data).toEqual({ to: 'queued' });
        ledger.getPlan(job.plan_id!);
      }
    } finally {
      workspace.close();
    }

    // The next server start reconciles the jobs that died with the server.
    const t = await connectFast([testBackendPlugin({ capabilities: { max_concurrent_jobs: 100 } })], home);
    try {
      const left = t.services.jobs.jobLedger.list({ status: ['preparing', 'running'], limit: 1000 });
      expect(left.total).toBe(0);
      expect(t.services.jobs.jobLedger.list({ status: 'interrupted' }).total).toBeGreaterThanOrEqual(3);
    } finally {
      await t.close();
    }
  });
});
