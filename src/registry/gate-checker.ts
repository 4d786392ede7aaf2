import { checkGates } from '../evaluation/gates.js';
import type { Services } from '../services.js';
import type { GateChecker } from './types.js';

/** The configured quality gates (config `evaluation.gates`), checked by the evaluation area's checkGates. */
export function gateCheckerFor(services: Services): GateChecker {
  const gates = services.config.evaluation.gates;
  return (metrics) => checkGates(metrics, gates);
}
