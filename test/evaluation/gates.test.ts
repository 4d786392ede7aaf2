import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { checkGates, DEFAULT_GATES } from '../../src/evaluation/gates.js';

describe('quality gates', () => {
  it('defaults to the playbook: BLEU ≥ 35, ROUGE-L ≥ 0.40, win-rate ≥ 0.65', () => {
    const config = loadConfig({ argv: ['--home', '/tmp/ftm-gates-test'], env: {} });
    expect(config.evaluation.gates).toEqual([
      { metric: 'bleu', comparator: '>=', threshold: 35 },
      { metric: 'rouge_l', comparator: '>=', threshold: 0.4 },
      { metric: 'win_rate', comparator: '>=', threshold: 0.65 },
    ]);
    expect(config.evaluation.bootstrap_samples).toBe(1000);
  });

  it('reports each gate with its value; at the threshold passes, below fails, unmeasured fails', () => {
    const results = checkGates({ bleu: 35, rouge_l: 0.3999 }, DEFAULT_GATES);
    expect(results.map(({ metric, threshold, value, passed }) => ({ metric, threshold, value, passed }))).toEqual([
      { metric: 'bleu', threshold: 35, value: 35, passed: true },
      { metric: 'rouge_l', threshold: 0.4, value: 0.3999, passed: false },
      { metric: 'win_rate', threshold: 0.65, value: null, passed: false },
    ]);
    expect(results[2].message).toMatch(/not measured/);
    expect(checkGates({ bleu: 40 }, DEFAULT_GATES, { onlyMeasured: true }).map((g) => g.metric)).toEqual(['bleu']);
  });

  it('"<=" gates for losses, and NaN counts as not measured', () => {
    const gates = [{ metric: 'perplexity', comparator: '<=' as const, threshold: 20 }];
    expect(checkGates({ perplexity: 19.5 }, gates)[0].passed).toBe(true);
    expect(checkGates({ perplexity: 20.5 }, gates)[0].passed).toBe(false);
    expect(checkGates({ perplexity: Number.NaN }, gates)[0].value).toBeNull();
  });

  it('reads gates from the config file, and refuses a bad one with CONFIG_INVALID naming the key', () => {
    const file = JSON.stringify({ evaluation: { gates: [{ metric: 'macro_f1', threshold: 0.7 }] } });
    const config = loadConfig({ argv: ['--home', '/tmp/x', '--config', 'c.json'], env: {}, readFile: () => file });
    expect(config.evaluation.gates).toEqual([{ metric: 'macro_f1', comparator: '>=', threshold: 0.7 }]);
    const bad = JSON.stringify({ evaluation: { gates: [{ metric: 'bleu', threshold: 'high' }] } });
    expect(() => loadConfig({ argv: ['--home', '/tmp/x', '--config', 'c.json'], env: {}, readFile: () => bad })).toThrow(/evaluation\.gates\.0\.threshold/);
  });
});
