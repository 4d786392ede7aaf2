import { describe, expect, it, vi } from 'vitest';

/**
 * Each area's migrations module, by the name of the steps it exports. Importing any of them first, in a
 * fresh module graph, must give its steps whole, and the ordered list must still hold every step: the
 * area modules once imported the list and the list imported them, so whichever came first met the
 * other half-initialised (a ReferenceError in Node, "not iterable" under vitest).
 */
const AREA_MODULES = [
  ['../../src/workspace/migrations.js', 'CORE_MIGRATIONS'],
  ['../../src/training/migrations.js', 'TRAINING_MIGRATIONS'],
  ['../../src/evaluation/migrations.js', 'EVALUATION_RUN_MIGRATIONS'],
  ['../../src/registry/migrations.js', 'REGISTRY_MIGRATIONS'],
  ['../../src/datasets/migrations.js', 'DATASET_MIGRATIONS'],
  ['../../src/models/migrations.js', 'MODELS_MIGRATIONS'],
] as const;

interface Step {
  id: string;
  sql: string;
}

describe('migrations import order', () => {
  it.each(AREA_MODULES)('importing %s first gives its steps, and the list holds them in order', async (path, name) => {
    vi.resetModules();
    const area = (await import(path)) as Record<string, Step[]>;
    const steps = area[name]!;
    expect(steps.length).toBeGreaterThan(0);
    const { MIGRATIONS } = await import('../../src/workspace/migration-list.js');
    const ids = MIGRATIONS.map((m) => m.id);
    const at = ids.indexOf(steps[0]!.id);
    expect(ids.slice(at, at + steps.length)).toEqual(steps.map((s) => s.id));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
