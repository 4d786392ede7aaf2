import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const TRAINER = fileURLToPath(new URL('../../trainer/', import.meta.url));

function python(): string | undefined {
  for (const candidate of ['python3', 'python']) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
    if (probe.status === 0 && probe.stdout.trim() === '3') return candidate;
  }
  return undefined;
}

const interpreter = python();
/** Why the GPU stack cannot be imported here (undefined when it can). */
const noTorch = interpreter ? spawnSync(interpreter, ['-c', 'import torch, transformers, peft, trl'], { encoding: 'utf8' }).stderr.trim().split('\n').pop() || undefined : 'python3 not found';
if (noTorch) process.stderr.write(`trainer-python: skipped the torch part of trainer/ (${noTorch}).\n`);

it.skipIf(!interpreter)('the container trainer’s pure parts pass their python unittest suite', () => {
  const run = spawnSync(interpreter!, ['-m', 'unittest', 'discover', '-s', '.', '-p', 'test_*.py', '-t', '.'], { cwd: TRAINER, encoding: 'utf8', timeout: 90_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  expect(run.status, run.stderr).toBe(0);
  expect(Number(/Ran (\d+) tests/.exec(run.stderr)?.[1])).toBeGreaterThanOrEqual(30);
  expect(run.stderr).toMatch(/\nOK\s*$/);
});

it.skipIf(Boolean(noTorch))('the trainer imports its GPU stack (torch, transformers, peft, trl) where they are installed', () => {
  const run = spawnSync(interpreter!, ['-c', 'import ftm_trainer.train, torch, transformers, peft, trl; print(torch.__version__)'], { cwd: TRAINER, encoding: 'utf8', timeout: 120_000 });
  expect(run.status, run.stderr).toBe(0);
});
