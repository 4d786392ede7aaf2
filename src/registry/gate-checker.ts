import type { Services } from '../services.js';
import type { GateChecker } from './types.js';

// TEMPORARY until src/evaluation/gates.ts (metrics area) lands: reads config.evaluation.gates.
export function gateCheckerFor(services: Services): GateChecker {
  const gates = ((services.config as unknown as { evaluation?: { gates?: Array<{ metric: string; comparator: string; threshold: number }> } }).evaluation?.gates) ?? [];
  return (metrics) =>
    gates.map((g) => {
      const value = metrics[g.metric] ?? null;
      const passed = value !== null && (g.comparator === '>=' ? value >= g.threshold : value <= g.threshold);
      return { metric: g.metric, comparator: g.comparator, threshold: g.threshold, value, passed };
    });
}
