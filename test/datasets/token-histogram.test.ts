/** The token histogram a dataset version's manifest keeps (issue 21: the dashboard draws it). */
import { describe, expect, it } from 'vitest';
import { histogram } from '../../src/datasets/stats.js';

describe('histogram of tokens per example', () => {
  it('bins whole token counts into at most 20 equal-width ranges that cover min..max', () => {
    const values = Uint32Array.from({ length: 1000 }, (_, i) => 10 + ((i * 37) % 300)); // 10..309
    const { edges, counts } = histogram(values);
    expect(counts.length).toBeLessThanOrEqual(20);
    expect(edges.length).toBe(counts.length + 1);
    expect(edges[0]).toBe(10);
    expect(edges.at(-1)!).toBeGreaterThan(309);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1000);
    // Each value is in the bin whose range holds it.
    const width = edges[1] - edges[0];
    expect(Number.isInteger(width)).toBe(true);
    for (const v of [10, 150, 309]) expect(counts[Math.floor((v - 10) / width)]).toBeGreaterThan(0);
  });

  it('gives one-token bins when the range is narrow, and nothing for no rows', () => {
    expect(histogram([5, 6, 6, 7])).toEqual({ edges: [5, 6, 7, 8], counts: [1, 2, 1] });
    expect(histogram([])).toEqual({ edges: [], counts: [] });
  });
});
