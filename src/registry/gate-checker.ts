import { checkGates, EvaluationSettingsSchema } from '../evaluation/gates.js';
import type { Services } from '../services.js';
import type { GateChecker } from './types.js';

/** The quality gates of the config (`evaluation.gates`, playbook defaults when unset), as the registry checks them. */
export function gateCheckerFor(services: Services): GateChecker {
  const settings = EvaluationSettingsSchema.parse((services.config as { evaluation?: unknown }).evaluation ?? {});
  return (metrics) => checkGates(metrics, settings.gates);
}
