import type { Config } from '../src/config.js';

/** The configured quality gates as Markdown list lines, indented to sit under a numbered step. */
export function gatesList(config: Config): string {
  const gates = config.evaluation.gates;
  if (!gates.length) return '   - none configured (evaluation.gates is empty): every promotion passes; say so to the user.';
  return gates.map((g) => `   - ${g.metric} ${g.comparator} ${g.threshold}`).join('\n');
}

/** Tool arguments written as the prompts write them: {key: "value", n: 3}, leaving out what was not given. */
export function callArgs(values: Record<string, string | number | string[] | undefined>): string {
  const parts = Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  return `{${parts.join(', ')}}`;
}
