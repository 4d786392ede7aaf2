import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertLlama2c } from '../../../src/models/files/llama2c.js';
import type { JobSink, TrainingHyperparameters, TrainingSpec } from '../../../src/plugins/providers.js';
import { BASE_HYPERPARAMETERS } from '../../../src/training/templates.js';
import { runJob, type JobResult } from '../../../plugins/local/trainer/job.js';
import type { TestClient } from '../../helpers/mcp.js';

const REPO = new URL('../../../', import.meta.url).pathname;
export const STORIES_260K = join(REPO, 'assets/models/stories260K');
export const STYLE_STORIES = join(REPO, 'test/fixtures/style-stories');

/** stories260K converted to a Hugging Face folder under `root` (the models engineer's converter). */
export function convertStories260K(root: string): string {
  const dir = join(root, 'models', 'stories260K');
  convertLlama2c({ checkpoint: join(STORIES_260K, 'stories260K.bin'), tokenizer: join(STORIES_260K, 'tok512.bin'), out_dir: dir });
  return dir;
}

/** The shared base with only what this test needs changed. */
export const TEST_HYPER: TrainingHyperparameters = {
  ...BASE_HYPERPARAMETERS,
  epochs: 1,
  learning_rate: 1e-2,
  gradient_accumulation: 1,
  max_seq_length: 128,
  warmup_ratio: 0.05,
  lora_dropout: 0,
  loss_on: 'all',
};

/** A workspace-like temp folder with a dataset version (train/validation JSONL) and a job folder. */
export function makeSpec(options: {
  root?: string;
  modelDir: string;
  train: string;
  validation?: string;
  task_type: string;
  method?: TrainingSpec['config']['method'];
  approach?: 'lora' | 'qlora' | 'full';
  hyper?: Partial<TrainingHyperparameters>;
  job_id?: string;
}): TrainingSpec {
  const root = options.root ?? mkdtempSync(join(tmpdir(), 'ftm-job-'));
  const datasetDir = join(root, 'datasets', 'ds_test');
  mkdirSync(datasetDir, { recursive: true });
  cpSync(options.train, join(datasetDir, 'train.jsonl'));
  if (options.validation) cpSync(options.validation, join(datasetDir, 'validation.jsonl'));
  const job_id = options.job_id ?? 'job_test';
  const output_dir = join(root, 'jobs', job_id);
  mkdirSync(output_dir, { recursive: true });
  return {
    job_id,
    home: root,
    config: {
      config_id: 'cfg_test',
      base_model: 'mdl_test',
      dataset_id: 'ds_test',
      method: options.method ?? 'sft',
      approach: options.approach ?? 'lora',
      backend: 'local',
      template: 'smoke',
      hyperparameters: { ...TEST_HYPER, ...options.hyper },
      backend_options: {},
    },
    output_dir,
    dataset: {
      dataset_id: 'ds_test',
      task_type: options.task_type,
      dir: datasetDir,
      train_path: join(datasetDir, 'train.jsonl'),
      ...(options.validation ? { validation_path: join(datasetDir, 'validation.jsonl') } : {}),
    },
    model: { model_id: 'mdl_test', dir: options.modelDir, name: 'stories260K' },
  };
}

export function writeJsonl(path: string, rows: unknown[]): string {
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

/** A JobSink that keeps everything in memory, for in-process runs. */
export interface MemorySink extends JobSink {
  events: Array<{ type: string; message: string; data?: Record<string, unknown> }>;
  metrics: Array<{ name: string; step: number; value: number }>;
  checkpoints: Array<{ step: number; path: string }>;
  artifacts: Array<{ kind: string; path?: string; meta?: Record<string, unknown> }>;
  statuses: string[];
  series(name: string): Array<[number, number]>;
}

export function memorySink(): MemorySink {
  const sink: MemorySink = {
    events: [],
    metrics: [],
    checkpoints: [],
    artifacts: [],
    statuses: [],
    event: (type, message, data) => void sink.events.push({ type, message, ...(data ? { data } : {}) }),
    metric: (name, step, value) => void sink.metrics.push({ name, step, value }),
    checkpoint: (c) => void sink.checkpoints.push({ step: c.step, path: c.path }),
    artifact: (a) => void sink.artifacts.push(a),
    status: (state) => void sink.statuses.push(state),
    series: (name) => sink.metrics.filter((m) => m.name === name).map((m) => [m.step, m.value]),
  };
  return sink;
}

/**
 * A head job (classification, embedding) on stories260K imported into a test client's workspace:
 * the model id (for the MCP tools), its folder and the finished job's result.
 */
export async function runStoriesHeadJob(
  t: TestClient,
  options: { fixture: string; task_type: string; method: 'classification' | 'embedding'; hyper: Partial<TrainingHyperparameters> },
): Promise<{ modelId: string; baseDir: string; root: string; sink: MemorySink; result: JobResult }> {
  const { model } = await t.services.models.import(join(STORIES_260K, 'stories260K.bin'), { tokenizer: join(STORIES_260K, 'tok512.bin') });
  const baseDir = t.services.models.get(model.id).dir;
  const root = mkdtempSync(join(t.home, `${options.method}-`));
  const sink = memorySink();
  const spec = makeSpec({
    root,
    modelDir: baseDir,
    train: join(options.fixture, 'train.jsonl'),
    validation: join(options.fixture, 'validation.jsonl'),
    task_type: options.task_type,
    method: options.method,
    hyper: options.hyper,
  });
  const result = await runJob(spec, sink, { threads: 2 });
  return { modelId: model.id, baseDir, root, sink, result };
}
