/**
 * Versioned schema migrations, applied once each, in list order, inside a transaction.
 * Append only: a shipped migration is never edited; a change is a new entry.
 * Each area owns its steps (ids prefixed by area) in src/<area>/migrations.ts; this module only orders
 * them, and no area module imports it, so the import graph has no cycle.
 */
import { CORE_MIGRATIONS, type Migration } from './migrations.js';
import { TRAINING_MIGRATIONS } from '../training/migrations.js';
import { REGISTRY_MIGRATIONS } from '../registry/migrations.js';
import { EVALUATION_RUN_MIGRATIONS } from '../evaluation/migrations.js';
import { DATASET_MIGRATIONS } from '../datasets/migrations.js';
import { MODELS_MIGRATIONS } from '../models/migrations.js';
import { GENERATION_MIGRATIONS } from '../generation/migrations.js';
import { IMPROVEMENT_MIGRATIONS } from '../improvement/migrations.js';
import { ERASURE_MIGRATIONS } from '../erasure/migrations.js';
import { SAFETY_MIGRATIONS } from '../safety/migrations.js';

export const MIGRATIONS: readonly Migration[] = [
  ...CORE_MIGRATIONS,
  ...TRAINING_MIGRATIONS,
  ...EVALUATION_RUN_MIGRATIONS,
  ...REGISTRY_MIGRATIONS,
  ...DATASET_MIGRATIONS,
  ...MODELS_MIGRATIONS,
  ...GENERATION_MIGRATIONS,
  ...IMPROVEMENT_MIGRATIONS,
  // Last: it re-creates the immutability triggers of every area above.
  ...ERASURE_MIGRATIONS,
  // After the erasure step: its immutability trigger already yields to erasure_unlock.
  ...SAFETY_MIGRATIONS,
];
