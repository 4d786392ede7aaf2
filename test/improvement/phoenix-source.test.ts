/**
 * An improvement policy reading Phoenix spans (the local fake of its REST API): the cursor is the last
 * span's start time plus the span ids seen at that instant, so spans that share it are neither judged
 * twice nor missed, and pool rows keep their span and trace ids.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PhoenixSpan } from '../../plugins/phoenix/client.js';
import { createImprovementPolicyTool } from '../../tools/create-improvement-policy.js';
import { runImprovementPolicyTool } from '../../tools/run-improvement-policy.js';
import type { TestClient } from '../helpers/mcp.js';
import { startFakePhoenix } from '../phoenix/fake-phoenix.js';
import { startFakeJudge } from './fake-judge.js';
import { GATES, loopWorkspace } from './helpers.js';

let t: TestClient | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const close of closers.splice(0)) await close();
});

function span(n: number, mark: 'GOOD' | 'BAD', start: string): PhoenixSpan {
  return {
    id: `s${n}`,
    name: 'llm',
    context: { trace_id: `${n}`.padStart(32, 'a'), span_id: `${n}`.padStart(16, 'b') },
    span_kind: 'LLM',
    parent_id: null,
    start_time: start,
    end_time: start,
    status_code: 'OK',
    attributes: {
      'openinference.span.kind': 'LLM',
      'llm.input_messages.0.message.role': 'user',
      'llm.input_messages.0.message.content': `Question ${n}?`,
      'llm.output_messages.0.message.role': 'assistant',
      'llm.output_messages.0.message.content': `${mark} answer ${n}.`,
    },
  };
}

/** A fake Phoenix serving `spans`, the fake judge, a loop workspace on them and a policy `name` reading the project. */
async function phoenixPolicy(name: string, spans: PhoenixSpan[], fail?: (path: string) => number | undefined) {
  const phoenix = await startFakePhoenix({ project: 'support-bot', spans, annotations: [], fail });
  const judge = await startFakeJudge();
  closers.push(phoenix.close, judge.close);
  const w = await loopWorkspace(judge.url, { phoenix: { base_url: phoenix.url } });
  t = w.t;
  const { policy_id } = await t.callOk(createImprovementPolicyTool, {
    name, source: { source: 'phoenix', query: { project: 'support-bot' } }, rubric: 'helpfulness', base_config_id: w.config_id, eval_dataset_id: w.eval_dataset_id, model_name: 'bot', gates: GATES,
  });
  return { phoenix, judge, policy_id, t: w.t };
}

describe('improvement policy on Phoenix spans', () => {
  it('reads each span once by start time and span id, and pools the good ones with their span ids', { timeout: 120_000 }, async () => {
    const T0 = '2026-12-01T00:00:00.000000+00:00';
    const T1 = '2026-12-01T00:05:00.000000+00:00';
    const spans = [span(1, 'GOOD', T0), span(2, 'BAD', T0), span(3, 'GOOD', T0)];
    const phoenix = await startFakePhoenix({ project: 'support-bot', spans, annotations: [] });
    const judge = await startFakeJudge();
    closers.push(phoenix.close, judge.close);
    const w = await loopWorkspace(judge.url, { phoenix: { base_url: phoenix.url } });
    t = w.t;
    const { policy_id } = await t.callOk(createImprovementPolicyTool, {
      name: 'px', source: { source: 'phoenix', query: { project: 'support-bot' } }, rubric: 'helpfulness', base_config_id: w.config_id, eval_dataset_id: w.eval_dataset_id, model_name: 'bot', gates: GATES,
    });
    const first = await t.callOk(runImprovementPolicyTool, { policy_id });
    expect(first).toMatchObject({ decision: 'pooled', policy: { pool: { unused: 2 } } });
    expect(first.policy.cursor).toEqual({ start_time: T0, seen_at_start_time: ['1'.padStart(16, 'b'), '2'.padStart(16, 'b'), '3'.padStart(16, 'b')] });
    expect(judge.judged).toHaveLength(3);

    // A late span at the same instant, and a newer one: both new, the three old ones not judged again.
    spans.push(span(4, 'GOOD', T0), span(5, 'GOOD', T1));
    const second = await t.callOk(runImprovementPolicyTool, { policy_id });
    expect(judge.judged).toHaveLength(5);
    expect(judge.judged.slice(3)).toEqual(['GOOD answer 4.', 'GOOD answer 5.']);
    expect(second.policy.pool.unused).toBe(4);
    expect(second.policy.cursor).toEqual({ start_time: T1, seen_at_start_time: ['5'.padStart(16, 'b')] });

    const third = await t.callOk(runImprovementPolicyTool, { policy_id });
    expect(third.decision).toBe('nothing_new');
    expect(judge.judged).toHaveLength(5);
    const refs = t.services.workspace.db.prepare('SELECT ref, span_id, trace_id FROM improvement_pool ORDER BY rowid').all();
    expect(refs).toEqual([1, 3, 4, 5].map((n) => ({ ref: `${n}`.padStart(16, 'b'), span_id: `${n}`.padStart(16, 'b'), trace_id: `${n}`.padStart(32, 'a') })));
  });

  it('writes each cycle\'s scores back to Phoenix as LLM span annotations, recorded on the cycle', { timeout: 120_000 }, async () => {
    const T0 = '2026-12-01T00:00:00.000000+00:00';
    const { phoenix, policy_id, t: client } = await phoenixPolicy('wb', [span(1, 'GOOD', T0), span(2, 'BAD', T0)]);
    const out = await client.callOk(runImprovementPolicyTool, { policy_id });
    const cycle = out.policy.cycles.at(-1)!;
    expect(cycle.writeback).toEqual({ target: 'phoenix:support-bot', written: 2, failed: 0, error: null });
    expect(phoenix.written.map((a) => [a.span_id, a.name, a.annotator_kind, a.result?.score, a.identifier])).toEqual([
      ['1'.padStart(16, 'b'), 'helpfulness', 'LLM', 0.9, 'finetune-mcp'],
      ['2'.padStart(16, 'b'), 'helpfulness', 'LLM', 0.1, 'finetune-mcp'],
    ]);
    expect(phoenix.written[0].metadata).toMatchObject({ judge_run_id: cycle.judge_run_id });
  });

  it('a write-back that Phoenix refuses does not fail the cycle: the rows are pooled and the failure is on the cycle', { timeout: 120_000 }, async () => {
    const T0 = '2026-12-01T00:00:00.000000+00:00';
    const { phoenix, policy_id, t: client } = await phoenixPolicy('wb-down', [span(1, 'GOOD', T0)], (path) => (path === '/v1/span_annotations' ? 500 : undefined));
    const out = await client.callOk(runImprovementPolicyTool, { policy_id });
    expect(out).toMatchObject({ decision: 'pooled', policy: { pool: { unused: 1 } } });
    const { writeback } = out.policy.cycles.at(-1)!;
    expect(writeback).toMatchObject({ target: 'phoenix:support-bot', written: 0, failed: 1 });
    expect(writeback!.error).toMatch(/^b+1: .*500/);
    expect(phoenix.written).toEqual([]);
  });
});
