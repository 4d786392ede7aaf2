import { z } from 'zod';
import { GovernanceSchema } from '../datasets/schemas.js';

/** Zod shapes of registry records, shared by the registry tools' output schemas. */

export const GateSchema = z.object({
  metric: z.string().describe('Metric the gate checks, e.g. "bleu" or "win_rate".'),
  comparator: z.string().describe('How the value is compared with the threshold, e.g. ">=".'),
  threshold: z.number().describe('Threshold from the config (evaluation.gates), e.g. 35.'),
  value: z.number().nullable().describe('Measured value; null when the version has no such metric.'),
  passed: z.boolean().describe('Whether the gate passes.'),
  message: z.string().optional().describe('Why it failed, when it did.'),
});

const LineageSchema = z.object({
  base_model: z.string().nullable().describe('Base model id or name, e.g. "mdl_01j…" or "stories260K".'),
  dataset_id: z.string().nullable().describe('Dataset version the adapter was trained on, e.g. "ds_01j…".'),
  dataset_hash: z.string().nullable().describe("That dataset version's content hash (sha256 hex)."),
  config: z.record(z.string(), z.unknown()).nullable().describe('Frozen training config (method, approach, hyperparameters …) or null.'),
  job_id: z.string().nullable().describe('Training job that produced it, e.g. "job_01j…".'),
  evaluation_ids: z.array(z.string()).describe('Evaluations backing its metrics, e.g. ["eval_01j…"].'),
  adapter: z
    .object({
      peft_type: z.string().nullable().describe('PEFT type, e.g. "LORA".'),
      r: z.number().nullable().describe('LoRA rank, e.g. 8.'),
      lora_alpha: z.number().nullable().describe('LoRA alpha, e.g. 16.'),
      target_modules: z.unknown().describe('Adapted modules, e.g. ["q_proj","v_proj"].'),
    })
    .nullable()
    .describe('Adapter settings read from adapter_config.json.'),
  missing: z.array(z.string()).describe('Lineage fields that could not be recorded, e.g. ["job_id","config"].'),
  data_governance: z.array(GovernanceSchema).optional().describe("The training data's PII redactions with legal basis and consent reference ([] when none was recorded)."),
});

export const ModelVersionSchema = z.object({
  version_id: z.string().describe('Registry id of this version, e.g. "mv_01j…".'),
  name: z.string().describe('Registered model name, e.g. "support-bot".'),
  version: z.string().describe('Semantic version, e.g. "1.2.0".'),
  description: z.string().describe('Free text given at registration.'),
  source_kind: z.enum(['job', 'adapter']).describe('Registered from a training job or an adapter folder.'),
  artifact_dir: z.string().describe("Registry's own copy of the adapter (absolute path)."),
  artifact_sha256: z.string().describe('SHA-256 over the copied files: identical weights share it.'),
  lineage: LineageSchema.describe('Where the version comes from.'),
  metrics: z.record(z.string(), z.number()).describe('Metrics recorded with it, e.g. {"perplexity": 3.1, "bleu": 36.2}.'),
  aliases: z.array(z.string()).describe('Aliases pointing at it now, e.g. ["production"].'),
  created_at: z.string().describe('ISO time of registration.'),
  tainted: z
    .array(z.object({ erasure_id: z.string(), request_reference: z.string(), at: z.string() }))
    .describe('Erasure requests (erase_subject) that removed data it was trained on; [] when none. A tainted version is promoted only with force and a reason.'),
});

export const AliasEventSchema = z.object({
  seq: z.number().describe('Order of the event.'),
  alias: z.string().describe('Alias moved, e.g. "production".'),
  action: z.enum(['promote', 'rollback']).describe('What moved it.'),
  from_version: z.string().nullable().describe('Version it pointed at before, e.g. "1.0.0", or null.'),
  to_version: z.string().describe('Version it points at after, e.g. "1.1.0".'),
  reason: z.string().describe('Why (required for rollbacks and forced promotions).'),
  forced: z.boolean().describe('Promoted despite failing gates.'),
  gates: z.array(GateSchema).describe('Gate results at the time of the move.'),
  at: z.string().describe('ISO time.'),
});
