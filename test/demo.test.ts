import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtCli } from './helpers/build.js';

const home = mkdtempSync(join(tmpdir(), 'ftm-demo-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('finetune-mcp demo (the README main job)', () => {
  it('runs the whole path offline and the fine-tune beats its base on held-out stories', { timeout: 300_000 }, () => {
    const run = spawnSync(process.execPath, [builtCli(), 'demo', '--home', home], { encoding: 'utf8', timeout: 290_000, env: { ...process.env, FINETUNE_MCP_HOME: '' } });
    expect(run.stderr).not.toContain('The demo stopped');
    expect(run.status).toBe(0);
    const out = run.stdout;
    for (const step of ['[1/11] Import the base model', '[5/11] Train on the local ONNX Runtime backend', '[9/11] Promote it to staging', '[11/11] Summary']) expect(out).toContain(step);
    expect(out).toMatch(/verdict go/);
    expect(out).toMatch(/step 60\/60 .*\(succeeded\)|succeeded; best eval loss/);
    const metric = (name: string) => {
      const m = new RegExp(`${name}\\s+base\\s+([\\d.]+)\\s+fine-tuned\\s+([\\d.]+)`).exec(out);
      expect(m, `${name} line in the demo output`).not.toBeNull();
      return { base: Number(m![1]), tuned: Number(m![2]) };
    };
    const perplexity = metric('perplexity');
    expect(perplexity.tuned).toBeLessThan(perplexity.base / 2);
    expect(metric('rouge_l').tuned).toBeGreaterThan(metric('rouge_l').base);
    expect(out).not.toMatch(/gate .* FAIL/);
    // Every artifact the summary names is on disk.
    const jobs = readdirSync(join(home, 'jobs'));
    expect(jobs).toHaveLength(1);
    for (const part of ['output/adapter/adapter_config.json', 'output/adapter/adapter_model.safetensors', 'output/merged/config.json']) {
      expect(existsSync(join(home, 'jobs', jobs[0], part)), part).toBe(true);
    }
    expect(existsSync(join(home, 'registry', 'moon-stories-1.0.0.md'))).toBe(true);
  });
});

describe('finetune-mcp demo generate (issue 16: generated rows under human review)', () => {
  it('the local model writes rows from the handbook, the review CLI decides, the approved version trains', { timeout: 300_000 }, () => {
    const genHome = mkdtempSync(join(tmpdir(), 'ftm-demo-generate-'));
    try {
      const run = spawnSync(process.execPath, [builtCli(), 'demo', 'generate', '--home', genHome], { encoding: 'utf8', timeout: 290_000, env: { ...process.env, FINETUNE_MCP_HOME: '' } });
      expect(run.stderr).not.toContain('The demo stopped');
      expect(run.status).toBe(0);
      const out = run.stdout;
      expect(out).toMatch(/rq_\w+: 8 rows pending review, 0 failed/);
      expect(out).toMatch(/from examples\/handbook\/\S+\.md chunk \d+ \[\d+, \d+\)/);
      expect(out).toMatch(/\$ npx finetune-mcp review approve rq_\w+ 1-4 --reviewer demo-reviewer\n\s+Approved 4 row\(s\)/);
      expect(out).toMatch(/ds_\w+: 4 approved rows \(4 rejected left out\), reviewers demo-reviewer/);
      expect(out).toContain('refused, as it must be');
      expect(out).toMatch(/job_\w+ succeeded in \d+ steps/);
      // The version holds the approved rows only, each with its provenance line.
      const [dataset] = readdirSync(join(genHome, 'datasets')).filter((d) => d.startsWith('ds_'));
      const rows = readFileSync(join(genHome, 'datasets', dataset, 'rows.jsonl'), 'utf8').trim().split('\n');
      const provenance = readFileSync(join(genHome, 'datasets', dataset, 'provenance.jsonl'), 'utf8').trim().split('\n');
      expect(rows).toHaveLength(4);
      expect(provenance).toHaveLength(4);
    } finally {
      rmSync(genHome, { recursive: true, force: true });
    }
  });
});
