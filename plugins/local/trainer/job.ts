import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../../src/errors.js';
import type { JobSink, TrainingSpec } from '../../../src/plugins/providers.js';
import { textMethod } from '../../../src/plugins/types.js';
import { writeDirAtomic } from '../../../src/workspace/atomic-write.js';
import { createTrainStep, type TrainStepSpec } from '../engine/train-step.js';
import { loadModelFolder, type LoadedModel } from '../../../src/models/files/load-model.js';
import { mergeLora, writeModelFolder, writePeftAdapter } from '../../../src/models/files/peft.js';
import { archFromConfig, LINEAR_MODULES } from '../../../src/models/files/arch.js';
import { dequantizedLinears } from '../engine/quant/nf4-linear.js';
import { chunk, runSeqLen, sftBatch } from './batches.js';
import { checkpointDir, loadCheckpoint, type ParamsIo } from './checkpoint.js';
import { checkTaskType, renderSplit, toTrainData, type RenderedSplit } from './dataset.js';
import { runTraining, totalSteps, type TrainingOutcome } from './loop.js';
import { adapterParamsIo, loraTargetModules, toPeftAdapter, weightsParamsIo, type LoraAdapterConfig } from './params-io.js';
import { Renderer, type PreferenceExample } from './render.js';
import type { TrainStepLike } from './step-contract.js';

interface RunJobOptions {
  /** True once the job was asked to stop (cancel); polled between steps. */
  shouldStop?: () => boolean;
  threads?: number;
  /** Called after training with the engine's step and the trained weights, before the step is released (tests inspect the model in memory). */
  afterTraining?: (step: TrainStepLike, params: Float32Array[], seqLen: number) => Promise<void>;
}

export interface JobResult {
  outcome: TrainingOutcome;
  adapter_dir?: string;
  merged_dir: string;
  /** The weights the outputs hold (final, or the best checkpoint's when early stopping chose it). */
  params: Float32Array[];
}

/**
 * One training job end to end, in this process: load the base model, render the dataset with its
 * tokenizer, build the engine's train step, compute DPO reference log-probs once, run the loop
 * (resuming when the spec says so), and write the PEFT adapter and the merged model.
 */
export async function runJob(spec: TrainingSpec, sink: JobSink, options: RunJobOptions = {}): Promise<JobResult> {
  const { config } = spec;
  const hyper = config.hyperparameters;
  const method = config.method;
  if (method === 'classification' || method === 'embedding') return (await import('./head-job.js')).runHeadJob(spec, sink, options);
  const problem = checkTaskType(method, spec.dataset.task_type, hyper.loss_on);
  if (problem) throw new FinetuneError('CAPABILITY_UNSUPPORTED', problem, { details: { field: 'dataset_id' } });

  sink.status('preparing');
  const { model, train, validation, seqLen, padId } = await prepareRun(spec);
  reportRendering(sink, 'train', train);
  if (validation) reportRendering(sink, 'validation', validation);
  const step = await createTrainStep(trainStepSpec(spec, model, seqLen, options.threads));
  try {
    if (step.missing_targets.length > 0) {
      sink.event('warning', `LoRA target modules not in this architecture, skipped: ${step.missing_targets.join(', ')}.`, { missing_targets: step.missing_targets });
    }
    const tensors = step.trainable.map((t) => ({ name: t.name, shape: t.shape }));
    const adapterConfig = loraConfig(spec, model, tensors.map((t) => t.name));
    const io: ParamsIo = config.approach === 'full' ? weightsParamsIo(tensors) : adapterParamsIo(tensors, adapterConfig);

    const reference = async (split: RenderedSplit) => (method === 'dpo' ? referenceLogps(step, split.pairs, hyper.batch_size, seqLen, padId) : undefined);
    const trainData = toTrainData(train, method, hyper.packing, await reference(train));
    const validationData = validation && (validation.examples.length > 0 || validation.pairs.length > 0) ? toTrainData(validation, method, false, await reference(validation)) : undefined;
    const total = totalSteps(trainData, hyper, seqLen);
    sink.event('training_started', `Training ${step.trainable_parameters.toLocaleString('en-US')} parameters (${config.approach}, ${method}) for ${total} steps at batch ${hyper.batch_size} × ${seqLen} tokens on ${step.provider}.`, {
      total_steps: total,
      trainable_parameters: step.trainable_parameters,
      seq_len: seqLen,
      provider: step.provider,
      // bytes of frozen weights (and constants) the training session holds; QLoRA adds its NF4 figures
      session_weight_bytes: step.initializer_bytes,
      ...(step.quantized ? { quantized: step.quantized } : {}),
      train_examples: method === 'dpo' ? train.pairs.length : train.examples.length,
    });
    const resume = spec.resume_from ? loadCheckpoint(spec.resume_from, tensors, io) : undefined;
    if (!options.shouldStop?.()) sink.status('running');
    const outcome = await runTraining({
      hyper,
      step,
      train: trainData,
      ...(validationData ? { validation: validationData } : {}),
      seq_len: seqLen,
      pad_id: padId,
      checkpoint_root: join(spec.output_dir, 'checkpoints'),
      params_io: io,
      ...(resume ? { resume } : {}),
      report: sinkReport(sink),
      shouldStop: options.shouldStop ?? (() => false),
    });
    const params = outputParams(spec, outcome, io);
    await options.afterTraining?.(step, params, seqLen);
    const outputs = outcome.reason === 'cancelled' ? null : await writeOutputs(spec, model, tensors, params, adapterConfig, config.approach, sink, outcome);
    return { outcome, params, merged_dir: outputs?.merged_dir ?? '', ...(outputs?.adapter_dir ? { adapter_dir: outputs.adapter_dir } : {}) };
  } finally {
    await step.dispose();
  }
}

/** The loop's reporter over the job sink. */
export function sinkReport(sink: JobSink): Parameters<typeof runTraining>[0]['report'] {
  return {
    metric: (name, s, value) => sink.metric(name, s, value),
    event: (type, message, data) => sink.event(type, message, data),
    checkpoint: (s, path, metrics) => sink.checkpoint({ step: s, path, metrics }),
  };
}

/** The weights the outputs hold: early stopping keeps the best checkpoint's (the HF Trainer's load_best_model_at_end). */
export function outputParams(spec: TrainingSpec, outcome: TrainingOutcome, io: ParamsIo): Float32Array[] {
  if (outcome.reason === 'early_stopped' && outcome.best_step !== null && outcome.best_step !== outcome.global_step) {
    return io.read(checkpointDir(join(spec.output_dir, 'checkpoints'), outcome.best_step));
  }
  return outcome.params;
}

/** What every output artifact of a job records; weights_step: the step whose weights it holds (the best checkpoint's after an early stop). */
export function outputMeta(spec: TrainingSpec, outcome: TrainingOutcome) {
  const weights_step = outcome.reason === 'early_stopped' && outcome.best_step !== null ? outcome.best_step : outcome.global_step;
  return { step: outcome.global_step, weights_step, best_step: outcome.best_step, best_eval_loss: outcome.best_eval_loss, base_model: spec.model.model_id };
}

/** Writes an output folder whole, replacing the one a resumed job wrote before. */
export async function replaceDir(dir: string, fill: (d: string) => void): Promise<void> {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  await writeDirAtomic(dir, fill);
}

interface PreparedRun {
  model: LoadedModel;
  train: RenderedSplit;
  validation?: RenderedSplit;
  /** The run's static sequence length (longest example, capped; max_seq_length when packing). */
  seqLen: number;
  padId: number;
}

/** Loads the base model and renders both splits with its tokenizer. */
export async function prepareRun(spec: TrainingSpec): Promise<PreparedRun> {
  const hyper = spec.config.hyperparameters;
  const method = textMethod(spec.config.method, 'local');
  const model = await loadModelFolder(spec.model.dir);
  const renderer = new Renderer(model.tokenizer, hyper.loss_on);
  const train = renderSplit(spec.dataset.train_path, spec.dataset.task_type, method, renderer, hyper.max_seq_length);
  const validation = spec.dataset.validation_path ? renderSplit(spec.dataset.validation_path, spec.dataset.task_type, method, renderer, hyper.max_seq_length) : undefined;
  const lengths = [train, validation].flatMap((s) => (s ? [...s.examples.map((e) => e.ids.length), ...s.pairs.flatMap((p) => [p.chosen.ids.length, p.rejected.ids.length])] : []));
  const seqLen = hyper.packing && method === 'sft' ? hyper.max_seq_length : runSeqLen(lengths, hyper.max_seq_length);
  const padId = model.tokenizer.pad_token_id ?? model.tokenizer.eos_token_id ?? 0;
  return { model, train, ...(validation ? { validation } : {}), seqLen, padId };
}

/** The engine's train-step spec for a training spec (approach, LoRA settings, method, shape). */
export function trainStepSpec(spec: TrainingSpec, model: LoadedModel, seqLen: number, threads?: number): TrainStepSpec {
  const hyper = spec.config.hyperparameters;
  const approach = spec.config.approach;
  return {
    model,
    approach,
    method: textMethod(spec.config.method, 'local'),
    batch_size: hyper.batch_size,
    seq_len: seqLen,
    ...(approach !== 'full'
      ? { lora: { r: hyper.lora_r, alpha: hyper.lora_alpha, dropout: hyper.lora_dropout, target_modules: hyper.target_modules, use_rslora: hyper.use_rslora, on_missing_target: hyper.on_missing_target } }
      : {}),
    ...(spec.config.method === 'dpo' ? { dpo_beta: hyper.dpo_beta } : {}),
    ...(threads ? { threads } : {}),
  };
}

export function loraConfig(spec: TrainingSpec, model: LoadedModel, names: string[]): LoraAdapterConfig {
  const hyper = spec.config.hyperparameters;
  return {
    base_model_name_or_path: spec.model.name || spec.model.model_id,
    r: hyper.lora_r,
    lora_alpha: hyper.lora_alpha,
    lora_dropout: hyper.lora_dropout,
    target_modules: loraTargetModules(names),
    use_rslora: hyper.use_rslora,
    fan_in_fan_out: model.config.architecture === 'gpt2',
  };
}

function reportRendering(sink: JobSink, name: string, split: RenderedSplit): void {
  if (split.truncated > 0) sink.event('warning', `${split.truncated} of ${split.rows} ${name} rows were longer than max_seq_length and were truncated.`, { split: name, truncated: split.truncated });
  if (split.dropped > 0) sink.event('warning', `${split.dropped} of ${split.rows} ${name} rows had no target token left and were skipped.`, { split: name, dropped: split.dropped });
}

/** Log-probs of chosen and rejected under the base model (adapters off), computed once. */
async function referenceLogps(step: TrainStepLike, pairs: PreferenceExample[], batchSize: number, seqLen: number, padId: number): Promise<{ chosen: number[]; rejected: number[] }> {
  const chosen: number[] = [];
  const rejected: number[] = [];
  for (const group of chunk(pairs, batchSize)) {
    const c = await step.sequenceLogps(sftBatch(group.map((p) => p.chosen), batchSize, seqLen, padId), null);
    const r = await step.sequenceLogps(sftBatch(group.map((p) => p.rejected), batchSize, seqLen, padId), null);
    group.forEach((_, i) => {
      chosen.push(c[i]);
      rejected.push(r[i]);
    });
  }
  return { chosen, rejected };
}

async function writeOutputs(
  spec: TrainingSpec,
  model: LoadedModel,
  tensors: Array<{ name: string; shape: number[] }>,
  params: Float32Array[],
  adapterConfig: LoraAdapterConfig,
  approach: 'lora' | 'qlora' | 'full',
  sink: JobSink,
  outcome: TrainingOutcome,
): Promise<{ adapter_dir?: string; merged_dir: string }> {
  const out = join(spec.output_dir, 'output');
  const meta = outputMeta(spec, outcome);
  let weights: LoadedModel['weights'];
  let adapterDir: string | undefined;
  if (approach !== 'full') {
    // QLoRA's adapter is saved exactly as LoRA's; its merged model is the NF4 base it trained against plus the adapter
    const adapter = toPeftAdapter(tensors, params, adapterConfig);
    adapterDir = join(out, 'adapter');
    await replaceDir(adapterDir, (d) => writePeftAdapter(d, adapter));
    sink.artifact({ kind: 'adapter', path: adapterDir, meta: { ...meta, format: 'peft-lora', r: adapterConfig.r, target_modules: adapterConfig.target_modules } });
    const family = archFromConfig(model.raw_config).family;
    weights = mergeLora(approach === 'qlora' ? dequantizedLinears(model.weights, LINEAR_MODULES[family], family === 'gpt2') : model.weights, adapter);
  } else {
    weights = new Map(model.weights);
    tensors.forEach((t, i) => weights.set(t.name, { shape: t.shape, data: params[i] }));
  }
  const mergedDir = join(out, 'merged');
  await replaceDir(mergedDir, (d) => writeModelFolder(d, model, weights));
  sink.artifact({ kind: 'merged_model', path: mergedDir, meta: { ...meta, format: 'huggingface' } });
  return { ...(adapterDir ? { adapter_dir: adapterDir } : {}), merged_dir: mergedDir };
}
