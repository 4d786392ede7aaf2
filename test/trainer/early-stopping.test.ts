import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPeftAdapter } from '../../src/models/files/peft.js';
import { listCheckpoints } from '../../plugins/local/trainer/checkpoint.js';
import { runJob } from '../../plugins/local/trainer/job.js';
import { convertStories260K, makeSpec, memorySink, STYLE_STORIES, writeJsonl } from './helpers/job-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ftm-early-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('early stopping on stories260K', () => {
  it('stops when plain-story eval loss keeps rising under pirate training, and ships the best checkpoint', async () => {
    const modelDir = convertStories260K(root);
    // Validation on ordinary TinyStories: pirate fine-tuning at a high rate makes it worse, fast.
    const plain = readFileSync(new URL('../fixtures/tinystories/TinyStories-valid.head.txt', import.meta.url), 'utf8')
      .split('<|endoftext|>')
      .map((s) => s.trim())
      .filter(Boolean)
      .slice(1, 9)
      .map((text) => ({ text }));
    const validation = writeJsonl(join(root, 'plain.jsonl'), plain);
    const spec = makeSpec({ root, modelDir, train: join(STYLE_STORIES, 'train.jsonl'), validation, task_type: 'text', hyper: { epochs: 3, learning_rate: 3e-2, eval_steps: 2, early_stopping_patience: 2, max_seq_length: 128, save_total_limit: 1 } });
    const sink = memorySink();
    const result = await runJob(spec, sink, { threads: 2 });
    const { outcome } = result;
    expect(outcome.reason).toBe('early_stopped');
    expect(outcome.global_step).toBeLessThan(outcome.total_steps);
    expect(sink.events.map((e) => e.type)).toContain('early_stopping');
    const evals = sink.series('eval_loss').filter(([s]) => s > 0);
    const best = evals.reduce((a, b) => (b[1] < a[1] ? b : a));
    expect(outcome.best_step).toBe(best[0]);
    // keep-last-1 plus the best
    expect(listCheckpoints(join(spec.output_dir, 'checkpoints'))).toEqual([outcome.best_step, outcome.global_step]);
    // the shipped adapter is the best checkpoint's, not the last step's
    const shipped = readPeftAdapter(result.adapter_dir!);
    const bestCkpt = readPeftAdapter(join(spec.output_dir, 'checkpoints', `step-${outcome.best_step}`, 'adapter'));
    const lastCkpt = readPeftAdapter(join(spec.output_dir, 'checkpoints', `step-${outcome.global_step}`, 'adapter'));
    const module = [...shipped.tensors.keys()][0];
    expect(Array.from(shipped.tensors.get(module)!.B.data)).toEqual(Array.from(bestCkpt.tensors.get(module)!.B.data));
    expect(Array.from(shipped.tensors.get(module)!.B.data)).not.toEqual(Array.from(lastCkpt.tensors.get(module)!.B.data));
    expect(sink.artifacts.find((a) => a.kind === 'adapter')?.meta).toMatchObject({ best_step: outcome.best_step, weights_step: outcome.best_step, step: outcome.global_step });
  }, 60_000);
});
