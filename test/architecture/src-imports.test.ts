import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/build.js';
import { cycles, importGraph, loopThrough } from './import-graph.js';

const graph = importGraph(join(REPO_ROOT, 'src'));
const edges = (pick: (m: { runtime: string[]; typeOnly: string[] }) => string[]) =>
  new Map([...graph].map(([file, imports]) => [file, pick(imports).filter((target) => graph.has(target))]));

/**
 * Known cycles, each a set of modules a found cycle may lie within; anything else fails. Delete an
 * entry when its fix lands, so it cannot come back.
 */
const KNOWN_RUNTIME_CYCLES: Array<{ why: string; modules: string[] }> = [];
const KNOWN_TYPE_CYCLES: Array<{ why: string; modules: string[] }> = [...KNOWN_RUNTIME_CYCLES];

function unexplained(found: string[][], known: Array<{ modules: string[] }>, graphEdges: Map<string, string[]>): string[] {
  return found
    .filter((component) => !known.some((k) => component.every((m) => k.modules.includes(m))))
    .map((component) => `${loopThrough(component, graphEdges).join(' → ')}${component.length > 2 ? ` (${component.length} modules in the cycle)` : ''}`);
}

describe('src/ import graph', () => {
  it('sees the modules and their imports (the check below is not vacuous)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('services.ts')!.runtime).toContain('plugins/builtin.ts');
  });

  it('has no cycle of imports that load code', () => {
    const runtime = edges((m) => m.runtime);
    expect(unexplained(cycles(runtime), KNOWN_RUNTIME_CYCLES, runtime)).toEqual([]);
  });

  it('has no cycle of imports at all, type-only imports included (beyond the known ones being removed)', () => {
    const all = edges((m) => [...m.runtime, ...m.typeOnly]);
    expect(unexplained(cycles(all), KNOWN_TYPE_CYCLES, all)).toEqual([]);
  });

  it('finds a cycle when there is one, and names it', () => {
    const made = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    const found = cycles(made);
    expect(found).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(loopThrough(found[0]!, made)).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
  });

  it('imports no concrete plugin except through the built-in list (static or import())', () => {
    const allowed = /^plugins\/builtin\.ts/;
    const reachingPlugins = [...graph]
      .flatMap(([file, m]) => [...m.runtime, ...m.typeOnly, ...m.dynamic].filter((t) => t.startsWith('../plugins/')).map((t) => `${file} → ${t}`))
      .filter((edge) => !allowed.test(edge));
    expect(reachingPlugins).toEqual([]);
    expect([...graph.get('plugins/builtin.ts')!.runtime].some((t) => t.startsWith('../plugins/'))).toBe(true);
  });
});
