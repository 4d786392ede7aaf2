import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../../src/errors.js';
import { archFromConfig, isEncoder } from '../../../src/models/files/arch.js';
import { loadModelFolder, type LoadedModel } from '../../../src/models/files/load-model.js';
import { writePeftAdapter } from '../../../src/models/files/peft.js';
import type { JobSink, TrainingSpec } from '../../../src/plugins/providers.js';
import type { Pooling } from '../engine/heads/pooling.js';
import { createHeadStep, type EmbeddingLoss, type HeadStepSpec } from '../engine/heads/step.js';
import { EMBEDDING_TASK_TYPES } from '../../../src/datasets/types.js';
import { embeddingLoss } from '../../../src/training/embedding-loss.js';
import { runSeqLen } from './batches.js';
import { loadCheckpoint, type ParamsIo } from './checkpoint.js';
import { classWeights, headBatch, readHeadSplit, readLabels, type HeadRows, type HeadSplit } from './head-data.js';
import { headAdapter, headAdapterParamsIo, trainedWeights, writeClassifierFolder, writeHeadInfo, writeSentenceTransformersFolder, type HeadInfo } from './head-outputs.js';
import { loraConfig, outputMeta, outputParams, replaceDir, sinkReport, type JobResult } from './job.js';
import { runTraining, stepsPerEpoch, totalSteps } from './loop.js';
import { weightsParamsIo } from './params-io.js';
import type { RunMeasurement } from './estimate.js';

type HeadTask = 'classification' | 'embedding';

const LOSS_LABEL: Record<EmbeddingLoss, string> = { mnrl: 'MultipleNegativesRanking loss', triplet: 'triplet margin loss', cosine: 'cosine-similarity loss' };

interface PreparedHeadRun {
  task: HeadTask;
  rows: HeadRows;
  /** Embedding: the loss, from the hyperparameters and the rows. */
  loss?: EmbeddingLoss;
  model: LoadedModel;
  labels: string[];
  train: HeadSplit;
  validation?: HeadSplit;
  seqLen: number;
  padId: number;
  pooling: Pooling;
}

/** The task types each head method reads. */
const TASKS_OF: Record<HeadTask, readonly string[]> = { classification: ['classification'], embedding: EMBEDDING_TASK_TYPES };

function headTask(spec: TrainingSpec): { task: HeadTask; rows: HeadRows } {
  const method = spec.config.method;
  if (method !== 'classification' && method !== 'embedding') throw new FinetuneError('INTERNAL', `not a head method: ${method}`);
  if (!TASKS_OF[method].includes(spec.dataset.task_type)) {
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Method ${method} trains on ${TASKS_OF[method].join(', ')} rows; this dataset is '${spec.dataset.task_type}'.`, {
      recovery: method === 'classification' ? 'Prepare {text, label} rows, or configure method "auto" to let the data choose.' : 'Prepare {anchor, positive[, negative]} or {sentence1, sentence2, score} rows, or configure method "auto".',
      details: { field: 'dataset_id' },
    });
  }
  return { task: method, rows: spec.dataset.task_type as HeadRows };
}

/** Loads the model and reads both splits as token ids; classification labels come from the training split. */
async function prepareHeadRun(spec: TrainingSpec): Promise<PreparedHeadRun> {
  const { task, rows } = headTask(spec);
  const hyper = spec.config.hyperparameters;
  const loss = task === 'embedding' ? embeddingLoss(rows, hyper.embedding_loss) : undefined;
  const model = await loadModelFolder(spec.model.dir);
  const labels = task === 'classification' ? readLabels(spec.dataset.train_path) : [];
  const train = readHeadSplit(spec.dataset.train_path, rows, model.tokenizer, hyper.max_seq_length, labels);
  const validation = spec.dataset.validation_path && existsSync(spec.dataset.validation_path) ? readHeadSplit(spec.dataset.validation_path, rows, model.tokenizer, hyper.max_seq_length, labels) : undefined;
  const lengths = [train, validation].flatMap((s) => s?.examples.flatMap((e) => e.texts.map((t) => t.length)) ?? []);
  const padId = model.tokenizer.pad_token_id ?? model.tokenizer.eos_token_id ?? 0;
  // a classifier pools as transformers' …ForSequenceClassification does (an encoder its first token, a decoder its last), embeddings the mean (sentence-transformers' default)
  const pooling = hyper.pooling ?? (task === 'classification' ? (isEncoder(archFromConfig(model.raw_config)) ? 'cls' : 'last') : 'mean');
  return { task, rows, ...(loss ? { loss } : {}), model, labels, train, ...(validation ? { validation } : {}), seqLen: runSeqLen(lengths, hyper.max_seq_length), padId, pooling };
}

function headStepSpec(spec: TrainingSpec, run: PreparedHeadRun, threads?: number): HeadStepSpec {
  const hyper = spec.config.hyperparameters;
  const approach = spec.config.approach === 'full' ? 'full' : 'lora';
  const weights = run.task === 'classification' ? classWeights(hyper.class_weights, run.labels, run.train.examples) : undefined;
  return {
    model: run.model,
    approach,
    ...(approach === 'lora'
      ? { lora: { r: hyper.lora_r, alpha: hyper.lora_alpha, dropout: hyper.lora_dropout, target_modules: hyper.target_modules, use_rslora: hyper.use_rslora, on_missing_target: hyper.on_missing_target } }
      : {}),
    task: run.task,
    pooling: run.pooling,
    ...(run.task === 'classification' ? { num_labels: run.labels.length, ...(weights ? { class_weights: weights } : {}) } : { loss: run.loss, group: run.rows === 'triplet' ? 3 : 2 }),
    batch_size: hyper.batch_size,
    seq_len: run.seqLen,
    ...(threads ? { threads } : {}),
  };
}

/**
 * A classification or embedding job end to end, in this process: the same loop, checkpoints and
 * resume as SFT, over the head step; outputs in the Hugging Face / sentence-transformers layouts.
 */
export async function runHeadJob(spec: TrainingSpec, sink: JobSink, options: { shouldStop?: () => boolean; threads?: number } = {}): Promise<JobResult> {
  const hyper = spec.config.hyperparameters;
  sink.status('preparing');
  const run = await prepareHeadRun(spec);
  for (const [name, split] of [['train', run.train], ['validation', run.validation]] as const) {
    if (!split) continue;
    if (split.truncated > 0) sink.event('warning', `${split.truncated} ${name} texts were longer than max_seq_length and were truncated.`, { split: name, truncated: split.truncated });
    if (split.unknown_labels > 0) sink.event('warning', `${split.unknown_labels} of ${split.rows} ${name} rows have a label the training split lacks and were skipped.`, { split: name, skipped: split.unknown_labels });
  }
  const step = await createHeadStep(headStepSpec(spec, run, options.threads));
  try {
    const info: HeadInfo = { task: run.task, pooling: run.pooling, ...(run.task === 'classification' ? { labels: run.labels } : { max_seq_length: run.seqLen }), pad_token_id: run.padId };
    const tensors = step.trainable.map((t) => ({ name: t.name, shape: t.shape }));
    const adapterConfig = loraConfig(spec, run.model, tensors.map((t) => t.name));
    const io: ParamsIo = spec.config.approach === 'full' ? weightsParamsIo(tensors) : headAdapterParamsIo(tensors, adapterConfig, info);
    const trainData = { method: 'head' as const, examples: run.train.examples };
    const total = totalSteps(trainData, hyper, run.seqLen);
    sink.event('training_started', `Training ${step.trainable_parameters.toLocaleString('en-US')} parameters (${spec.config.approach}, ${run.task}${run.task === 'classification' ? `, ${run.labels.length} labels` : `, ${LOSS_LABEL[run.loss!]} on ${run.rows} rows`}, ${run.pooling} pooling) for ${total} steps at batch ${hyper.batch_size} × ${run.seqLen} tokens on ${step.provider}.`, {
      total_steps: total,
      trainable_parameters: step.trainable_parameters,
      seq_len: run.seqLen,
      provider: step.provider,
      train_examples: run.train.examples.length,
      ...(run.task === 'classification' ? { labels: run.labels } : { loss: run.loss }),
    });
    const resume = spec.resume_from ? loadCheckpoint(spec.resume_from, tensors, io) : undefined;
    if (!options.shouldStop?.()) sink.status('running');
    const outcome = await runTraining({
      hyper,
      step,
      train: trainData,
      ...(run.validation?.examples.length ? { validation: { method: 'head' as const, examples: run.validation.examples } } : {}),
      seq_len: run.seqLen,
      pad_id: run.padId,
      checkpoint_root: join(spec.output_dir, 'checkpoints'),
      params_io: io,
      ...(resume ? { resume } : {}),
      report: sinkReport(sink),
      shouldStop: options.shouldStop ?? (() => false),
    });
    const params = outputParams(spec, outcome, io);
    if (outcome.reason === 'cancelled') return { outcome, params, merged_dir: '' };
    const out = join(spec.output_dir, 'output');
    const meta = { ...outputMeta(spec, outcome), task: run.task };
    let adapterDir: string | undefined;
    const adapter = spec.config.approach === 'full' ? null : headAdapter(tensors, params, adapterConfig, info);
    if (adapter) {
      adapterDir = join(out, 'adapter');
      await replaceDir(adapterDir, (d) => {
        writePeftAdapter(d, adapter);
        writeHeadInfo(d, info);
      });
      sink.artifact({ kind: 'adapter', path: adapterDir, meta: { ...meta, format: 'peft-lora', task_type: adapter.task_type, r: adapterConfig.r, target_modules: adapterConfig.target_modules } });
    }
    const weights = trainedWeights(run.model, tensors, params, adapter);
    const mergedDir = join(out, 'merged');
    if (run.task === 'classification') {
      await replaceDir(mergedDir, (d) => writeClassifierFolder(d, run.model, weights, info));
      sink.artifact({ kind: 'merged_model', path: mergedDir, meta: { ...meta, format: 'huggingface-sequence-classification', labels: run.labels } });
    } else {
      await replaceDir(mergedDir, (d) => writeSentenceTransformersFolder(d, run.model, weights, info, run.seqLen, run.model.config.hidden_size));
      sink.artifact({ kind: 'merged_model', path: mergedDir, meta: { ...meta, format: 'sentence-transformers', pooling: run.pooling } });
    }
    return { outcome, params, merged_dir: mergedDir, ...(adapterDir ? { adapter_dir: adapterDir } : {}) };
  } finally {
    await step.dispose();
  }
}

/** A short measured run of the head step (three steps on the first batch), as measureRun for SFT. */
export async function measureHeadRun(spec: TrainingSpec, threads?: number): Promise<RunMeasurement> {
  const hyper = spec.config.hyperparameters;
  const run = await prepareHeadRun(spec);
  if (!run.train.examples.length) throw new FinetuneError('DATASET_INVALID', 'No usable training rows to measure a run on.', { details: { field: 'dataset_id' } });
  const step = await createHeadStep(headStepSpec(spec, run, threads));
  try {
    const batch = headBatch(run.train.examples.slice(0, hyper.batch_size), hyper.batch_size, run.seqLen, run.padId);
    const params = step.trainable.map((t) => t.init.slice());
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await step.step(batch, params);
      if (i > 0) times.push((performance.now() - started) / 1000);
    }
    const seconds = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    const data = { method: 'head' as const, examples: run.train.examples };
    const total = totalSteps(data, hyper, run.seqLen);
    const micro = Math.min(hyper.gradient_accumulation, stepsPerEpoch(data, hyper, run.seqLen).micro);
    return {
      tokens_per_s: batch.attention_mask.reduce((a, b) => a + b, 0) / seconds,
      seconds_per_step: seconds * micro,
      total_steps: total,
      estimated_seconds: Math.round(seconds * micro * total),
      seq_len: run.seqLen,
      trainable_parameters: step.trainable_parameters,
      provider: step.provider,
    };
  } finally {
    await step.dispose();
  }
}
