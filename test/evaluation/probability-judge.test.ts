/**
 * The P(yes) judge (Kadavath et al. 2022): the score is P(yes) / (P(yes) + P(no)) from the answers'
 * teacher-forced log-likelihoods. Checked against a provider whose log-likelihoods are given, so the
 * expected numbers are worked out by hand: nll_yes 1, nll_no 2 → e^-1 / (e^-1 + e^-2) = 1 / (1 + e^-1).
 */
import { describe, expect, it } from 'vitest';
import { probabilityJudge, probabilityOutputScorer } from '../../src/evaluation/judges/probability-judge.js';
import { resolveRubric } from '../../src/evaluation/judges/rubrics.js';
import type { InferenceProvider, ScoreRequest, SequenceScore } from '../../src/plugins/providers.js';

/** A provider that gives each answer the NLL in `nll` (answer_tokens 0 for one missing: cut off by the context). */
function provider(nll: Record<string, number | undefined>, seen: ScoreRequest[] = []): InferenceProvider {
  return {
    generate: async () => {
      throw new Error('a probability judge never generates');
    },
    score: async (request) => {
      seen.push(request);
      return request.items.map((item): SequenceScore => {
        const value = nll[item.answer!];
        return { nll: 0, tokens: 10, answer_nll: value ?? 0, answer_tokens: value === undefined ? 0 : 1 };
      });
    },
  };
}

describe('P(yes) judge', () => {
  it('scores one output as P(yes) / (P(yes) + P(no)), asking a yes/no question about the rubric', async () => {
    const seen: ScoreRequest[] = [];
    const scorer = probabilityOutputScorer({ inference: provider({ Yes: 1, No: 2 }, seen), model: 'm', used: 'local model m' });
    const verdict = await scorer.score({ input: [{ role: 'user', content: 'Hi?' }], output: 'Hello.' }, resolveRubric('helpfulness'));
    expect(verdict).toMatchObject({ ok: true, attempts: 1, usage: null });
    expect(verdict.ok && verdict.score).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
    expect(seen[0].items.map((i) => i.answer)).toEqual(['Yes', 'No']);
    expect(seen[0].items[0].messages![0].content).toMatch(/^Rubric: Helpfulness:[\s\S]*Answer: Hello\.\nDoes the answer meet the rubric\? Reply yes or no\.$/);
    expect(scorer.used).toBe('local model m (P(yes) judge)');
  });

  it('stays finite for log-likelihoods far apart, and fails the row (not the run) when the answer does not fit', async () => {
    const far = probabilityOutputScorer({ inference: provider({ Yes: 2000, No: 0 }), model: 'm', used: 'm' });
    const low = await far.score({ input: [], output: 'x' }, resolveRubric('safety'));
    expect(low.ok && low.score).toBe(0);
    const cut = probabilityOutputScorer({ inference: provider({ Yes: 1 }), model: 'm', used: 'local model m' });
    const failed = await cut.score({ input: [], output: 'x' }, resolveRubric('safety'));
    expect(failed).toMatchObject({ ok: false, error: 'the judge prompt is longer than local model m can read: no room is left for its yes/no answer' });
  });

  it('compares two answers: A wins above one half, B below, a tie at exactly one half', async () => {
    const input = { question: 'Q', answer_a: 'a', answer_b: 'b' };
    expect((await probabilityJudge({ inference: provider({ Yes: 0.5, No: 1 }), model: 'm', used: 'm' }).compare(input)).winner).toBe('a');
    expect((await probabilityJudge({ inference: provider({ Yes: 1, No: 0.5 }), model: 'm', used: 'm' }).compare(input)).winner).toBe('b');
    expect((await probabilityJudge({ inference: provider({ Yes: 1, No: 1 }), model: 'm', used: 'm' }).compare(input)).winner).toBe('tie');
  });

  it('refuses a provider without token probabilities', async () => {
    const scorer = probabilityOutputScorer({ inference: { generate: provider({}).generate }, model: 'm', used: 'endpoint m' });
    await expect(scorer.score({ input: [], output: 'x' }, resolveRubric('safety'))).rejects.toThrow('endpoint m gives no token probabilities');
  });
});
