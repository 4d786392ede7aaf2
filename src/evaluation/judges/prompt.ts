import type { JudgeVerdict } from '../../plugins/providers.js';

/**
 * The pairwise judge prompt, in the style of MT-Bench's pairwise comparison (Zheng et al. 2023):
 * the verdict is the last "[[A]]", "[[B]]" or "[[C]]" (tie) in the judge's answer.
 */
export const JUDGE_SYSTEM =
  'Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question ' +
  'displayed below. Choose the assistant that follows the user instructions and answers the question better. Do not allow the ' +
  'order in which the responses were presented, their length or the assistants\u2019 names to influence your evaluation. Be as ' +
  'objective as possible. After a short explanation, output your final verdict by strictly following this format: "[[A]]" if ' +
  'assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.';

export function judgeUserMessage(input: { question: string; answer_a: string; answer_b: string; criteria?: string[] }): string {
  const criteria = input.criteria?.length ? `\nJudge on: ${input.criteria.join(', ')}.\n` : '';
  return (
    `[User Question]\n${input.question}\n${criteria}\n` +
    `[The Start of Assistant A's Answer]\n${input.answer_a}\n[The End of Assistant A's Answer]\n\n` +
    `[The Start of Assistant B's Answer]\n${input.answer_b}\n[The End of Assistant B's Answer]`
  );
}

/** Reads the last verdict mark; an answer without one counts as a tie (and is reported as unparsed). */
export function parseVerdict(text: string): JudgeVerdict & { parsed: boolean } {
  const marks = [...text.matchAll(/\[\[\s*([ABC])\s*\]\]/g)];
  const last = marks[marks.length - 1]?.[1];
  const winner = last === 'A' ? 'a' : last === 'B' ? 'b' : 'tie';
  return { winner, rationale: text.trim().slice(0, 2000), parsed: last !== undefined };
}
