/**
 * bench/gpu.sh as far as a machine without a GPU can run it: its argument handling, and its whole
 * CPU path (the same training steps, timing and summary file a GPU run writes, providers cpu only);
 * asked for webgpu here, it reports that provider as unable to run (exit 5), not a gradient mismatch.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = new URL('../../bench/gpu.sh', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'ftm-gpu-sh-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync('bash', [script, ...args], { encoding: 'utf8', env: { ...process.env, OUT: '' } });

interface Summary {
  rows: Array<{ shape: string; approach: string; provider: string; tokens_per_s?: number; loss?: number; error?: string }>;
}

describe('bench/gpu.sh', () => {
  it('prints its usage and refuses bad arguments with exit 2, naming the argument', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--providers LIST/);
    for (const [args, message] of [
      [['--steps', 'x'], /--steps must be a whole number/],
      [['--bogus'], /unknown argument '--bogus'/],
      [['--shapes', 's9'], /unknown shape 's9'/],
      [['--providers', 'rocm'], /unknown provider 'rocm'/],
      [['--approaches', 'full'], /unknown approach 'full'/],
      [['--out'], /--out needs a value/],
      [['--tolerance', 'abc'], /--tolerance must be a number/],
    ] as const) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('runs the CPU path end to end: LoRA and QLoRA steps on stories260K, timed, into gpu-summary.json', () => {
    const r = run('--cpu-only', '--skip-install', '--steps', '1', '--warmup', '0', '--threads', '1', '--out', out);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'gpu-summary.json'), 'utf8')) as Summary;
    expect(summary.rows.map((row) => `${row.approach}/${row.provider}`)).toEqual(['lora/cpu', 'qlora/cpu']);
    for (const row of summary.rows) {
      expect(row.error).toBeUndefined();
      expect(row.tokens_per_s).toBeGreaterThan(0);
      expect(row.loss).toBeGreaterThan(0);
    }
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toMatch(/s260k \| qlora \| cpu \|/);
  }, 120_000);

  it('without a GPU, reports webgpu as unable to run (exit 5) with the engine’s reason', () => {
    const r = run('--providers', 'webgpu', '--skip-install', '--approaches', 'lora', '--steps', '1', '--warmup', '0', '--threads', '1', '--out', join(out, 'webgpu'));
    const summary = JSON.parse(readFileSync(join(out, 'webgpu', 'gpu-summary.json'), 'utf8')) as Summary;
    const webgpu = summary.rows.find((row) => row.provider === 'webgpu')!;
    if (webgpu.error === undefined) return; // a machine with a GPU: the run itself is the check
    expect(r.status).toBe(5);
    expect(webgpu.error).toMatch(/webgpu.*could not start/);
  }, 120_000);
});
