import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { governanceOf } from '../datasets/governance.js';
import type { GovernanceRecord } from '../datasets/types.js';
import { FinetuneError } from '../errors.js';
import type { TrainingConfigRecord } from '../plugins/providers.js';
import type { Services } from '../services.js';
import { JobLedger } from '../training/ledger.js';

/**
 * The registry and the evaluation stage read three kinds of records they do not own: jobs,
 * dataset versions and adapter folders. Each lookup lives here, in one small function, so the
 * rest of the code does not depend on how the other areas store them.
 */

interface JobFacts {
  job_id: string;
  state: string;
  config?: TrainingConfigRecord;
  /** PEFT adapter folder of the finished job, when it exists. */
  adapter_dir?: string;
  merged_dir?: string;
  /** Last value of each metric series (loss, eval_loss, …). */
  final_metrics: Record<string, number>;
}

/** Finds a job in the control plane's ledger and its documented output folders. */
export function lookupJob(services: Services, jobId: string): JobFacts {
  const ledger = new JobLedger(services.workspace.db);
  const job = ledger.get(jobId);
  const config = ledger.getConfig(job.config_id);
  const dir = services.workspace.artifactPath('jobs', jobId);
  const adapterDir = join(dir, 'output', 'adapter');
  const mergedDir = join(dir, 'output', 'merged');
  const final_metrics: Record<string, number> = {};
  for (const [name, point] of Object.entries(ledger.latestMetrics(jobId))) if (Number.isFinite(point.value)) final_metrics[name] = point.value;
  const { policy: _policy, parent_config_id: _parent, created_at: _created, ...frozen } = config;
  return {
    job_id: jobId,
    state: job.status,
    config: frozen,
    adapter_dir: existsSync(join(adapterDir, 'adapter_config.json')) ? adapterDir : undefined,
    merged_dir: existsSync(join(mergedDir, 'config.json')) ? mergedDir : undefined,
    final_metrics,
  };
}

interface DatasetFacts {
  dataset_id: string;
  task_type: string;
  content_hash: string;
  dir: string;
  manifest: Record<string, unknown>;
  /** PII redactions (legal basis, consent) of the version and every version it derives from. */
  governance: GovernanceRecord[];
}

/** A dataset version's manifest, through the datasets service. */
export function lookupDataset(services: Services, datasetId: string): DatasetFacts {
  const record = services.datasets.get(datasetId);
  return {
    dataset_id: datasetId,
    task_type: record.task_type,
    content_hash: record.manifest.content_hash ?? '',
    dir: record.dir,
    manifest: record.manifest as unknown as Record<string, unknown>,
    governance: governanceOf(services.datasets, record),
  };
}

/** Rows file of a dataset version or one of its splits. */
export function datasetRowsPath(services: Services, datasetId: string, split?: 'train' | 'validation' | 'test'): string {
  return services.datasets.rowsPath(datasetId, split);
}

export interface AdapterFacts {
  dir: string;
  base_model?: string;
  peft_type?: string;
  r?: number;
  lora_alpha?: number;
  target_modules?: unknown;
}

/** Checks a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) and reads its config. */
export function readAdapterFolder(dir: string, field = 'adapter_path'): AdapterFacts {
  const configPath = join(dir, 'adapter_config.json');
  if (!existsSync(configPath) || !existsSync(join(dir, 'adapter_model.safetensors'))) {
    throw new FinetuneError('FILE_ERROR', `${field} '${dir}' is not a PEFT adapter folder (needs adapter_config.json and adapter_model.safetensors).`, {
      recovery: "Pass the folder a training job wrote (<home>/jobs/<job_id>/output/adapter) or use job_id instead.",
      details: { field, file: dir },
    });
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new FinetuneError('FILE_ERROR', `${configPath} is not valid JSON: ${(error as Error).message}`, { details: { field, file: configPath } });
  }
  return {
    dir,
    base_model: typeof config.base_model_name_or_path === 'string' ? config.base_model_name_or_path : undefined,
    peft_type: typeof config.peft_type === 'string' ? config.peft_type : undefined,
    r: typeof config.r === 'number' ? config.r : undefined,
    lora_alpha: typeof config.lora_alpha === 'number' ? config.lora_alpha : undefined,
    target_modules: config.target_modules,
  };
}

/** SHA-256 over a folder's files (relative path and bytes, in sorted order): its content identity. */
export function hashFolder(dir: string): string {
  const hash = createHash('sha256');
  for (const file of listFiles(dir)) {
    hash.update(relative(dir, file).split('\\').join('/'));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}
