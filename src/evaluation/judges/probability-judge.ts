import { FinetuneError } from '../../errors.js';
import type { ChatMessage, InferenceProvider, Judge, LocalModelFiles } from '../../plugins/providers.js';
import type { OutputScorer, OutputToJudge } from './output-scorer.js';
import type { Rubric } from './rubrics.js';

/**
 * A judge that reads a model's token probabilities instead of its text: the prompt ends in a yes/no
 * question and the score is P(yes) / (P(yes) + P(no)) of the answer that follows, teacher-forced (the
 * "P(True)" self-evaluation of Kadavath et al. 2022, "Language Models (Mostly) Know What They Know").
 * It needs a provider with log-probabilities (the local engine) and no JSON from the model, so a small
 * local model can judge; what its scores mean is only as good as that model (with a toy model such as
 * stories260K they mean nothing: only the mechanics are real).
 */

interface ProbabilityModel {
  inference: InferenceProvider;
  model: string;
  local_model?: LocalModelFiles;
  used: string;
}

/** P(yes) / (P(yes) + P(no)) after the messages, from the two answers' log-likelihoods. */
async function probabilityOfYes(target: ProbabilityModel, messages: ChatMessage[], signal?: AbortSignal): Promise<number> {
  if (!target.inference.score) {
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', `${target.used} gives no token probabilities, so it cannot judge by P(yes).`, { details: { field: 'judge' } });
  }
  const [yes, no] = await target.inference.score({
    model: target.model,
    local_model: target.local_model,
    items: [
      { messages, answer: 'Yes' },
      { messages, answer: 'No' },
    ],
    signal,
  });
  // The engine cuts a sequence at the model's context: an answer cut away leaves nothing to compare.
  if (!yes.answer_tokens || !no.answer_tokens) {
    throw new FinetuneError('INVALID_INPUT', `the judge prompt is longer than ${target.used} can read: no room is left for its yes/no answer`, { details: { field: 'rubric' } });
  }
  // exp(-nll_yes) / (exp(-nll_yes) + exp(-nll_no)), written so neither exponential under- or overflows.
  return 1 / (1 + Math.exp(yes.answer_nll - no.answer_nll));
}

/** judge_outputs' scorer on a model with log-probabilities: the score is P(yes) to "does the output meet the rubric?". */
export function probabilityOutputScorer(target: ProbabilityModel): OutputScorer {
  return {
    used: `${target.used} (P(yes) judge)`,
    model: target.model,
    async score(item: OutputToJudge, rubric: Rubric, signal?: AbortSignal) {
      const conversation = item.input.map((m) => `${m.role}: ${m.content}`).join('\n');
      const user =
        `Rubric: ${rubric.text}\n` +
        (item.context !== undefined ? `Context: ${item.context}\n` : '') +
        `Conversation:\n${conversation || '(none)'}\n` +
        `Answer: ${item.output}\n` +
        'Does the answer meet the rubric? Reply yes or no.';
      try {
        const p = await probabilityOfYes(target, [{ role: 'user', content: user }], signal);
        return { ok: true, score: p, reason: `P(yes) = ${p.toFixed(4)} of yes or no to "does the answer meet the rubric?" (token probabilities, no generated text)`, attempts: 1, usage: null };
      } catch (error) {
        // As with a generating judge: a row the model cannot read fails alone; anything else stops the run.
        if (error instanceof FinetuneError && error.code === 'INVALID_INPUT') return { ok: false, error: error.message, attempts: 1, usage: null };
        throw error;
      }
    },
  };
}

/** compare_models-style pairwise judge on a model with log-probabilities: A wins when P(yes) to "is A better than B?" is above one half. */
export function probabilityJudge(target: ProbabilityModel, signal?: AbortSignal): Judge {
  return {
    async compare(input) {
      const criteria = input.criteria?.length ? `Judge on: ${input.criteria.join(', ')}.\n` : '';
      const user = `Question: ${input.question}\n${criteria}Answer A: ${input.answer_a}\nAnswer B: ${input.answer_b}\nIs answer A better than answer B? Reply yes or no.`;
      const p = await probabilityOfYes(target, [{ role: 'user', content: user }], signal);
      return { winner: p > 0.5 ? 'a' : p < 0.5 ? 'b' : 'tie', rationale: `P(yes) = ${p.toFixed(4)} to "is A better than B?"` };
    },
  };
}
