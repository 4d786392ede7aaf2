import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const APP = fileURLToPath(new URL('../../plugins/modal/app/', import.meta.url));

function python(): string | undefined {
  for (const candidate of ['python3', 'python']) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
    if (probe.status === 0 && probe.stdout.trim() === '3') return candidate;
  }
  return undefined;
}

it('the Modal trainer’s pure parts pass their python unittest suite', () => {
  const interpreter = python();
  if (!interpreter) {
    // No Python here: the suite cannot run, which is not a failure of the trainer.
    process.stderr.write('modal-python: python3 not found; skipped the plugins/modal/app unittest run.\n');
    return;
  }
  const run = spawnSync(interpreter, ['-m', 'unittest', 'discover', '-s', '.', '-p', 'test_*.py', '-t', '.'], { cwd: APP, encoding: 'utf8', timeout: 90_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stderr).toMatch(/Ran (\d+) tests/);
  expect(Number(/Ran (\d+) tests/.exec(run.stderr)?.[1])).toBeGreaterThanOrEqual(20);
  expect(run.stderr).toMatch(/\nOK\s*$/);
});
