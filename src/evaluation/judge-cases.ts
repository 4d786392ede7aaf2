import type { Judge } from '../plugins/providers.js';
import type { EvalCase } from './cases.js';
import { judgeBothOrders, winRate, type PairOutcome, type WinRate } from './judges/pairwise.js';
import { signTestPValue } from './sign-test.js';
import { throwIfCancelled } from './abort.js';

export interface JudgedModel extends WinRate {
  model: string;
  /** Sign test of wins against losses (ties dropped): small means the preference is not chance. */
  p_value: number;
  outcomes: Array<PairOutcome & { line: number }>;
}

/**
 * Judges every case of each candidate against the baseline, both orders, a few requests at a time.
 * Checks the abort signal between cases and reports progress.
 */
export async function judgeAgainstBaseline(input: {
  judge: Judge;
  cases: EvalCase[];
  baseline: string[];
  candidates: Array<{ model: string; outputs: string[] }>;
  criteria?: string[];
  concurrency?: number;
  signal?: AbortSignal;
  onCase?: () => Promise<void>;
}): Promise<JudgedModel[]> {
  const results: JudgedModel[] = [];
  for (const candidate of input.candidates) {
    const outcomes: Array<PairOutcome & { line: number }> = new Array(input.cases.length);
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= input.cases.length) return;
        throwIfCancelled(input.signal, 'Judging');
        const c = input.cases[i];
        const question = c.messages.length ? c.messages.map((m) => `${m.role}: ${m.content}`).join('\n') : c.prompt;
        const outcome = await judgeBothOrders(input.judge, { question, candidate: candidate.outputs[i], baseline: input.baseline[i], criteria: input.criteria });
        outcomes[i] = { ...outcome, line: c.line };
        await input.onCase?.();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, input.concurrency ?? 4) }, worker));
    const rate = winRate(outcomes);
    results.push({ model: candidate.model, ...rate, p_value: signTestPValue(rate.wins, rate.losses), outcomes });
  }
  return results;
}
