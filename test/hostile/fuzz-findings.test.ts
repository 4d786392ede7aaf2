/** Findings of the fuzz run (fuzz.test.ts), each reduced to one call through the in-memory client. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logExperimentTool } from '../../tools/log-experiment.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { nested } from './fuzz-args.js';

describe('fuzz findings', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await connectTestClient();
  });
  afterAll(async () => t.close());

  it('log_experiment refuses params nested 100,000 deep with INVALID_INPUT (was INTERNAL: stack overflow storing them)', async () => {
    const result = await t.call('log_experiment', { experiment: 'fuzz', params: { deep: nested(100_000, false) } });
    expect(result.isError).toBe(true);
    expect(errorCode(result)).toBe('INVALID_INPUT');
    expect((result._meta as { details?: { field?: string } }).details?.field).toBe('params');
    // 32 levels are still taken.
    const ok = await t.callOk(logExperimentTool, { experiment: 'fuzz', params: nested(31, false) as Record<string, unknown> });
    expect(ok.run.experiment).toBe('fuzz');
  });
});

describe('fuzz findings: paths', () => {
  let t: TestClient;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ftm-fuzz-find-'));
    writeFileSync(join(dir, 'rows.jsonl'), `${JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'ok' }] })}\n`);
    t = await connectTestClient({ config: { allowed_roots: [dir] } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prepare_dataset with a model path that does not exist is FILE_ERROR on model (was INTERNAL: ENOENT from stat)', async () => {
    const result = await t.call('prepare_dataset', { path: join(dir, 'rows.jsonl'), model: join(dir, '.no-such-model') });
    expect(resultText(result)).toMatch(/^\[FILE_ERROR\] No model folder or tokenizer.json at/);
    expect((result._meta as { details?: { field?: string } }).details?.field).toBe('model');
  });

  it('prepare_dataset with model naming a JSON file that is not a tokenizer is MODEL_UNSUPPORTED (was INTERNAL from the tokenizer library)', async () => {
    for (const content of ['{"messages": []}', '{"model": {"type": "Nope"}}', '{"model": {"type": "BPE", "vocab": {}, "merges": []}, "added_tokens": [{"special": true}]}']) {
      writeFileSync(join(dir, 'not-a-tokenizer.json'), content);
      const result = await t.call('prepare_dataset', { path: join(dir, 'rows.jsonl'), model: join(dir, 'not-a-tokenizer.json') });
      expect(errorCode(result), `${content}: ${resultText(result)}`).toBe('MODEL_UNSUPPORTED');
    }
  });
});
