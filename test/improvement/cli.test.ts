import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createImprovementPolicyTool } from '../../tools/create-improvement-policy.js';
import { getImprovementPolicyTool } from '../../tools/get-improvement-policy.js';
import { builtCli } from '../helpers/build.js';
import type { TestClient } from '../helpers/mcp.js';
import { startFakeJudge } from './fake-judge.js';
import { appendOutputs, GATES, loopWorkspace } from './helpers.js';

/** The built CLI in a child process, run asynchronously: the fake judge answers from this one. */
function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [builtCli(), ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, FINETUNE_MCP_HOME: '' } }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

let t: TestClient | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const close of closers.splice(0)) await close();
});

describe('finetune-mcp improve --policy NAME (one cycle, as cron runs it)', () => {
  it('runs a cycle in its own process on the same workspace, then finds nothing new; an unknown policy exits 1', { timeout: 180_000 }, async () => {
    const judge = await startFakeJudge();
    closers.push(judge.close);
    const w = await loopWorkspace(judge.url);
    t = w.t;
    await t.callOk(createImprovementPolicyTool, { name: 'cron-loop', source: { path: w.prod }, rubric: 'helpfulness', base_config_id: w.config_id, eval_dataset_id: w.eval_dataset_id, model_name: 'stories-bot', gates: GATES });
    appendOutputs(w.prod, 'a', 2, 1);
    const config = join(t.home, 'cli-config.json');
    writeFileSync(config, JSON.stringify({ judge: { base_url: judge.url, model: 'judge-1', api_key: 'sk-test-judge', max_retries: 0 }, evaluation: { gates: GATES } }));
    const run = (policy = 'cron-loop') => cli(['improve', '--policy', policy, '--home', t!.home, '--config', config, '--json']);

    const first = await run();
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ decision: 'pooled', judged: 3, added: 2, job_id: null, pool: { unused: 2, used: 0 } });
    expect(judge.judged).toHaveLength(3);

    const second = await run();
    expect(second.status).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ decision: 'nothing_new', judged: 0 });
    expect(judge.judged).toHaveLength(3);
    const shown = await t.callOk(getImprovementPolicyTool, { policy_id: 'cron-loop' });
    expect(shown.cycles.map((c) => c.decision)).toEqual(['pooled', 'nothing_new']);

    const missing = await run('nope');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("[NOT_FOUND] No improvement policy 'nope'.");
  });
});
