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

describe('finetune-mcp demo improve (issue 15: the improvement loop, offline)', () => {
  it('judges shipped spans by P(yes), pools under the threshold, retrains when it is crossed, then makes the gated decision', { timeout: 300_000 }, () => {
    const loopHome = mkdtempSync(join(tmpdir(), 'ftm-demo-improve-'));
    try {
      const run = spawnSync(process.execPath, [builtCli(), 'demo', 'improve', '--home', loopHome], { encoding: 'utf8', timeout: 290_000, env: { ...process.env, FINETUNE_MCP_HOME: '' } });
      expect(run.stderr).not.toContain('The demo stopped');
      expect(run.status).toBe(0);
      const out = run.stdout;
      expect(out).toMatch(/job_\w+ → moon-bot@1\.0\.0 on staging/);
      // Six spans a day, each scored by the local model's P(yes): a number in (0, 1) per span, none failed.
      const scoreLines = [...out.matchAll(/judged 6 spans \(jrun_\w+\), P\(yes\) scores: ((?:0\.\d{3} ?){6})\n/g)];
      expect(scoreLines).toHaveLength(2);
      expect(out).toMatch(/decision: pooled\n\s+reason:\s+judged 6, added [0-3]; pool [0-3]\/4/);
      expect(out).toMatch(/decision: retraining\n\s+reason:\s+pool reached 4: job job_\w+ trains on ds_\w+/);
      const third = /cycle 3: (\w+)\s+judged 0, added 0, evidence eval_\w+ eval_\w+ cmp_\w+/.exec(out);
      expect(third, 'cycle 3 with both evaluations and the win-rate comparison').not.toBeNull();
      expect(['promoted', 'regression', 'held']).toContain(third![1]);
      expect(out).toMatch(/win_rate [\d.]+/);
      expect(out).toContain(`cycle 3 decided ${third![1]}`);
      expect(out).toMatch(/finetune_mcp_judge_score_count\{rubric="story_quality",source="file",policy="moon-loop"\} 12/);
      expect(out).toContain('finetune_mcp_improvement_retrains_total{policy="moon-loop"} 1');
      // The staging alias moved exactly when cycle 3 promoted.
      expect(out).toContain(`staging holds ${third![1] === 'promoted' ? '1.1.0' : '1.0.0'}`);
    } finally {
      rmSync(loopHome, { recursive: true, force: true });
    }
  });
});
