import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareModelsTool } from '../../tools/compare-models.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';

// sacreBLEU 2.6.0 / rouge-score values on WMT17 en-de (20 segments), computed by the metrics
// area's make_expected.py and stored in test/fixtures/metrics/expected_values.json.
const EXPECTED = JSON.parse(readFileSync(new URL('../fixtures/metrics/expected_values.json', import.meta.url), 'utf8')) as {
  paired_bootstrap_wmt17: { improved_hypotheses: string[]; BLEU: { baseline_score: number; system_score: number }; chrF2: { baseline_score: number; system_score: number } };
  wmt17_ende20: { rouge_stemmed: { rougeL: { mean_fmeasure: number } } };
};
const PAIRS = readFileSync(new URL('../fixtures/metrics/wmt17_ende20.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { hypothesis: string; reference: string });

describe('compare_models metrics on outputs made elsewhere', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('reports sacreBLEU/rouge-score corpus values, deltas, significance and the examples that changed most', async () => {
    t = await connectTestClient();
    const improved = EXPECTED.paired_bootstrap_wmt17.improved_hypotheses;
    const path = join(t.home, 'wmt.jsonl');
    writeFileSync(path, PAIRS.map((p, i) => JSON.stringify({ prompt: `Translate segment ${i}`, reference: p.reference, outputs: { base: p.hypothesis, tuned: improved[i] } })).join('\n'));
    const out = await t.callOk(compareModelsTool, { outputs_path: path, baseline: 'base', metrics: ['bleu', 'chrf', 'rouge_l'], judge: 'none' });
    const base = out.models.find((m) => m.model === 'base')!.metrics;
    const tuned = out.models.find((m) => m.model === 'tuned')!.metrics;
    expect(base.bleu).toBeCloseTo(EXPECTED.paired_bootstrap_wmt17.BLEU.baseline_score, 10);
    expect(tuned.bleu).toBeCloseTo(EXPECTED.paired_bootstrap_wmt17.BLEU.system_score, 10);
    expect(base.chrf).toBeCloseTo(EXPECTED.paired_bootstrap_wmt17.chrF2.baseline_score, 10);
    expect(tuned.chrf).toBeCloseTo(EXPECTED.paired_bootstrap_wmt17.chrF2.system_score, 10);
    expect(base.rouge_l).toBeCloseTo(EXPECTED.wmt17_ende20.rouge_stemmed.rougeL.mean_fmeasure, 12);
    const bleuDelta = out.deltas.find((d) => d.metric === 'bleu')!;
    expect(bleuDelta.delta).toBeCloseTo(EXPECTED.paired_bootstrap_wmt17.BLEU.system_score - EXPECTED.paired_bootstrap_wmt17.BLEU.baseline_score, 10);
    expect(bleuDelta.direction).toBe('better');
    expect(bleuDelta.ci[0]).toBeLessThanOrEqual(bleuDelta.ci[1]);
    // sacreBLEU paired-bs on these systems: p = 0.0579 (BLEU), 0.0629 (chrF2); our resampling stream
    // differs from numpy's, so agreement is within Monte-Carlo error.
    expect(Math.abs(bleuDelta.p_value - 0.057942057942057944)).toBeLessThan(0.03);
    expect(Math.abs(out.deltas.find((d) => d.metric === 'chrf')!.p_value - 0.06293706293706294)).toBeLessThan(0.03);
    expect(bleuDelta.significant).toBe(false);
    // Only segments 3 and 7 (lines 4 and 8) changed; both became the reference.
    expect(out.changed_most.map((c) => c.line).sort()).toEqual([4, 8]);
    expect(out.changed_most.every((c) => c.model_output === c.reference && c.delta > 0)).toBe(true);
  });

  it('identical outputs: zero deltas, never significant, no change', async () => {
    t = await connectTestClient();
    const path = join(t.home, 'same.jsonl');
    writeFileSync(path, PAIRS.map((p, i) => JSON.stringify({ prompt: `Segment ${i}`, reference: p.reference, outputs: { a: p.hypothesis, b: p.hypothesis } })).join('\n'));
    const out = await t.callOk(compareModelsTool, { outputs_path: path, judge: 'none' });
    // sacreBLEU's paired-bs counts resampled |Δ| − mean|Δ| strictly above |Δ| = 0: none, so p = 1/1001;
    // a zero delta is never called significant.
    expect(out.deltas.map((d) => [d.metric, d.delta, d.p_value, d.significant, d.ci])).toEqual([
      ['chrf', 0, 1 / 1001, false, [0, 0]],
      ['bleu', 0, 1 / 1001, false, [0, 0]],
      ['rouge_l', 0, 1 / 1001, false, [0, 0]],
    ]);
    expect(out.verdict).toBe('no_significant_change');
    expect(out.changed_most).toEqual([]);
  });

  it('flags a regression when a candidate is significantly worse', async () => {
    t = await connectTestClient();
    const path = join(t.home, 'worse.jsonl');
    writeFileSync(path, PAIRS.map((p, i) => JSON.stringify({ prompt: `Segment ${i}`, reference: p.reference, outputs: { base: p.reference, broken: 'Nein.' } })).join('\n'));
    const out = await t.callOk(compareModelsTool, { outputs_path: path, baseline: 'base', metrics: ['chrf'], judge: 'none' });
    expect(out.verdict).toBe('regressed');
    expect(out.verdicts[0].reasons[0]).toMatch(/^worse: chrf -/);
    expect(out.deltas[0].p_value).toBeLessThan(0.01);
  });

  it('refuses malformed outputs files and unknown metrics with the line and field', async () => {
    t = await connectTestClient();
    const path = join(t.home, 'bad.jsonl');
    writeFileSync(path, `${JSON.stringify({ prompt: 'q', outputs: { a: 'x', b: 'y' } })}\n${JSON.stringify({ prompt: 'q', outputs: { a: 'x' } })}\n`);
    const bad = await t.call('compare_models', { outputs_path: path });
    expect(errorCode(bad)).toBe('DATASET_INVALID');
    expect(bad._meta).toMatchObject({ details: { line: 2 } });
    writeFileSync(path, `${JSON.stringify({ prompt: 'q', reference: 'r', outputs: { a: 'x', b: 'y' } })}\n`);
    expect(errorCode(await t.call('compare_models', { outputs_path: path, metrics: ['blue'] }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('compare_models', { outputs_path: path, baseline: 'c', judge: 'none' }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('compare_models', {}))).toBe('INVALID_INPUT');
  });
});
