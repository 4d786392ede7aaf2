/**
 * String helpers that behave like Python's, so the metrics match their Python reference
 * implementations (sacreBLEU, rouge-score, the SQuAD script) character for character.
 */

/** The characters Python's `str.split()` / `str.isspace()` treat as whitespace (JS `\s` differs: \x1c-\x1f, \x85, \ufeff). */
const PY_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WHITESPACE_RUN = new RegExp(`[${PY_WHITESPACE}]+`);
const PY_WHITESPACE_CHAR = new RegExp(`^[${PY_WHITESPACE}]$`);

/** Python `s.split()`: splits on runs of whitespace and drops empty pieces. */
export function pySplit(text: string): string[] {
  const parts = text.split(PY_WHITESPACE_RUN);
  if (parts.length && parts[0] === '') parts.shift();
  if (parts.length && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function isPyWhitespace(char: string): boolean {
  return PY_WHITESPACE_CHAR.test(char);
}

/** Python `s.rstrip()`, scanning from the end (a regex `\s+$` would be quadratic on long inner runs). */
export function pyRstrip(text: string): string {
  let end = text.length;
  while (end > 0 && isPyWhitespace(text[end - 1])) end--;
  return end === text.length ? text : text.slice(0, end);
}

/** Counts of items (a Python `Counter`). */
export function countItems(items: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** Σ min(a[k], b[k]): the size of a Counter intersection. */
export function overlapCount(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let overlap = 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const [key, count] of small) {
    const other = large.get(key);
    if (other !== undefined) overlap += Math.min(count, other);
  }
  return overlap;
}
