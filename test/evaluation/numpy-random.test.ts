import { describe, expect, it } from 'vitest';
import { NumpyGenerator, seedSequencePool, seedSequenceState64 } from '../../src/evaluation/metrics/numpy-random.js';
import { expected } from './fixtures.js';

interface SeedCase {
  seed: string;
  pool: number[];
  state64: string[];
  pcg_state: string;
  pcg_inc: string;
  raw: string[];
  integers: Record<string, number[]>;
  choice_20x20: number[][];
}

/** Values numpy printed for the same seeds (expected_values.json, numpy 2.4.6). */
describe.each(expected.numpy_rng.seeds as SeedCase[])('numpy default_rng($seed)', (c) => {
  const seed = BigInt(c.seed);
  it('SeedSequence pool and generate_state(4, uint64)', () => {
    expect(seedSequencePool(seed)).toEqual(c.pool);
    expect(seedSequenceState64(seed, 4).map(String)).toEqual(c.state64);
  });
  it('PCG64 state, increment and random_raw', () => {
    const g = new NumpyGenerator(seed);
    expect(String(g.pcgState.state)).toBe(c.pcg_state);
    expect(String(g.pcgState.inc)).toBe(c.pcg_inc);
    expect(Array.from({ length: 5 }, () => String(g.nextUint64()))).toEqual(c.raw);
  });
  it('integers(0, n) for small, odd and near-2^32 bounds, and choice(20, (20, 20))', () => {
    for (const [n, values] of Object.entries(c.integers)) {
      const g = new NumpyGenerator(seed);
      expect(values.map(() => g.integer(Number(n)))).toEqual(values);
    }
    const g = new NumpyGenerator(seed);
    expect(c.choice_20x20.map((row) => row.map(() => g.integer(20)))).toEqual(c.choice_20x20);
  });
});
