/** Shapes the registry stores and returns; tools mirror them in their zod schemas. */
import type { GovernanceRecord } from '../datasets/types.js';

export interface Lineage {
  /** Base model: a model record id (mdl_…) or a Hugging Face name from the adapter config. */
  base_model: string | null;
  dataset_id: string | null;
  /** The dataset version's content hash (manifest.content_hash). */
  dataset_hash: string | null;
  /** The frozen training config (config_id, method, approach, hyperparameters …). */
  config: Record<string, unknown> | null;
  job_id: string | null;
  evaluation_ids: string[];
  adapter: { peft_type: string | null; r: number | null; lora_alpha: number | null; target_modules: unknown } | null;
  /** Lineage fields that could not be filled (so an agent knows what evidence is missing). */
  missing: string[];
  /** The training data's governance records (PII redactions, legal basis, consent); absent in versions registered before they were kept. */
  data_governance?: GovernanceRecord[];
}

export interface ModelVersion {
  version_id: string;
  name: string;
  version: string;
  description: string;
  source_kind: 'job' | 'adapter';
  artifact_dir: string;
  artifact_sha256: string;
  lineage: Lineage;
  metrics: Record<string, number>;
  aliases: string[];
  created_at: string;
  /** Erasures (erase_subject) of data this version was trained on; promote_model refuses it without force and a reason. */
  tainted: Array<{ erasure_id: string; request_reference: string; at: string }>;
}

/** One quality gate's outcome (the shape of the metrics engineer's gates, narrowed to what the registry reads). */
export interface GateOutcome {
  metric: string;
  passed: boolean;
  value: number | null;
  threshold: number;
  comparator: string;
  message?: string;
}

/** Checks a set of metrics against the configured quality gates. */
export type GateChecker = (metrics: Record<string, number>) => GateOutcome[];

export interface AliasEvent {
  seq: number;
  alias: string;
  action: 'promote' | 'rollback';
  from_version: string | null;
  to_version: string;
  reason: string;
  forced: boolean;
  gates: GateOutcome[];
  at: string;
}
