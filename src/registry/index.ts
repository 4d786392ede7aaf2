import type { Services } from '../services.js';
import { Experiments } from './experiments.js';
import { ModelRegistry } from './registry.js';
import { gateCheckerFor } from './gate-checker.js';

/**
 * The registry keeps no state besides the workspace, so tools build it per call from the
 * services (which also keeps it out of the shared Services construction order).
 */
export function registryOf(services: Services): ModelRegistry {
  return new ModelRegistry(services, gateCheckerFor(services));
}

export function experimentsOf(services: Services): Experiments {
  return new Experiments(services);
}
