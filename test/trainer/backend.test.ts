import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPlugin } from '../../plugins/local/index.js';
import { LocalTrainingBackend } from '../../plugins/local/trainer/backend.js';
import { validateSpec } from '../../plugins/local/trainer/validate.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { Workspace } from '../../src/workspace/workspace.js';
import { convertStories260K, makeSpec, memorySink, STYLE_STORIES } from './helpers/job-fixtures.js';
import { testPluginContext } from '../../src/plugin-sdk/testing.js';
import { workerLedgerOf } from '../../src/training/worker-ledger.js';

let root: string;
let modelDir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ftm-backend-'));
  modelDir = convertStories260K(root);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = (overrides: Partial<Parameters<typeof makeSpec>[0]> = {}) =>
  makeSpec({ root, modelDir, train: join(STYLE_STORIES, 'train.jsonl'), validation: join(STYLE_STORIES, 'validation.jsonl'), task_type: 'text', ...overrides });

describe('local plugin', () => {
  it('probes the native binding cheaply and declares its capabilities', async () => {
    const probe = await localPlugin.probe!(testPluginContext({}));
    expect(probe.available).toBe(true);
    const caps = localPlugin.capabilities.training!;
    expect(caps.methods).toEqual(['sft', 'dpo', 'classification', 'embedding']);
    expect(caps.approaches).toEqual(['lora', 'qlora', 'full']);
    expect([caps.resume, caps.cancel, caps.remote, caps.inference, caps.max_concurrent_jobs]).toEqual([true, true, false, true, 1]);
    expect(caps.devices).toContain('cpu');
  });
});

describe('pre-flight validation', () => {
  const codes = (issues: ReturnType<typeof validateSpec>) => issues.map((i) => `${i.severity}:${i.code}:${i.field}`);

  it('accepts a good spec', () => {
    expect(validateSpec(spec()).filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('refuses what the local trainer cannot do, naming the field', () => {
    const qlora = spec();
    qlora.config.approach = 'qlora';
    expect(validateSpec(qlora).filter((i) => i.severity === 'error')).toEqual([]);
    qlora.config.hyperparameters.lora_r = 0;
    expect(codes(validateSpec(qlora))).toContain('error:CONFIG_INVALID:lora_r');
    expect(codes(validateSpec(spec({ method: 'dpo' })))).toContain('error:CAPABILITY_UNSUPPORTED:dataset_id');
    expect(codes(validateSpec(spec({ modelDir: join(root, 'nowhere') })))).toContain('error:MODEL_UNSUPPORTED:base_model');
    expect(codes(validateSpec(spec({ hyper: { batch_size: 0 } })))).toContain('error:CONFIG_INVALID:batch_size');
    expect(codes(validateSpec(spec({ hyper: { max_seq_length: 4096 } })))).toContain('warning:SEQ_TOO_LONG:max_seq_length');
    expect(codes(validateSpec(spec({ validation: undefined, hyper: { eval_steps: 5 } })))).toContain('warning:NO_VALIDATION_SPLIT:eval_steps');
    const threads = spec();
    threads.config.backend_options = { threads: 0, gpu: 'A100' };
    expect(codes(validateSpec(threads))).toEqual(expect.arrayContaining(['error:CONFIG_INVALID:backend_options.threads', 'warning:UNKNOWN_OPTION:backend_options']));
    // LoRA targets, checked against the architecture before any work starts
    expect(codes(validateSpec(spec({ hyper: { target_modules: ['q_proj', 'c_attn'], on_missing_target: 'error' } })))).toContain('error:INVALID_INPUT:target_modules');
    expect(codes(validateSpec(spec({ hyper: { target_modules: ['q_proj', 'c_attn'], on_missing_target: 'continue' } })))).toContain('warning:LORA_TARGETS_MISSING:target_modules');
    expect(codes(validateSpec(spec({ hyper: { target_modules: ['c_attn'], on_missing_target: 'continue' } })))).toContain('error:MODEL_UNSUPPORTED:target_modules');
    // embedding: the loss must fit the rows (checked on the task type; the split files are not read here)
    expect(codes(validateSpec(spec({ method: 'embedding', task_type: 'pair', hyper: { embedding_loss: 'triplet' } })))).toContain('error:CONFIG_INVALID:embedding_loss');
    expect(codes(validateSpec(spec({ method: 'embedding', task_type: 'scored_pair' })))).not.toContain('error:CONFIG_INVALID:embedding_loss');
    expect(codes(validateSpec(spec({ hyper: { embedding_loss: 'cosine' } })))).toContain('warning:UNKNOWN_OPTION:embedding_loss');
  });
});

describe('estimate', () => {
  it('measures this run’s own train step: tokens/s, seconds per step and the step count', async () => {
    const workspace = Workspace.open({ root: join(root, 'ws-estimate') });
    try {
      const backend = new LocalTrainingBackend({ logger: createSilentLogger(), workers: workerLedgerOf(workspace), threads: 1 });
      const figures = await backend.measure(spec({ job_id: 'job_estimate', hyper: { batch_size: 4, epochs: 1, max_seq_length: 96, gradient_accumulation: 2 } }));
      expect(figures.total_steps).toBe(Math.ceil(Math.ceil(52 / 4) / 2));
      expect(figures.seq_len).toBe(96);
      expect(figures.tokens_per_s).toBeGreaterThan(0);
      expect(figures.estimated_seconds).toBeGreaterThanOrEqual(0);
      expect(figures.provider).toBe('cpu');
    } finally {
      workspace.close();
    }
  });
});

describe('attach', () => {
  it('reports a vanished worker as interrupted, and a finished one as the state it left', async () => {
    const workspace = Workspace.open({ root: join(root, 'ws') });
    try {
      const backend = new LocalTrainingBackend({ logger: createSilentLogger(), workers: workerLedgerOf(workspace) });
      const s = spec({ job_id: 'job_attach' });
      const gone = memorySink();
      // pid 2^22 + 1 is above Linux's pid_max default: no such process.
      await backend.attach('4194305', s, gone);
      expect(gone.statuses).toEqual(['interrupted']);
      writeFileSync(join(s.output_dir, 'worker-state.json'), JSON.stringify({ pid: 4194305, state: 'succeeded' }));
      const finished = memorySink();
      await backend.attach('4194305', s, finished);
      expect(finished.statuses).toEqual(['succeeded']);
      await expect(backend.attach('not-a-pid', s, finished)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    } finally {
      workspace.close();
    }
  });
});
