import { openAsBlob } from 'node:fs';
import { basename, join } from 'node:path';
import type OpenAI from 'openai';
import type { Logger } from '../../../src/observability/logger.js';
import type { Quote, QuoteBasis, RemoteJobContext, RemotePoll, RemoteTrainingBackend, SpecIssue, TrainingSpec } from '../../../src/plugins/providers.js';
import { mapOpenAIError } from './errors.js';
import { locateInSource } from './format.js';
import { openAICursor, pollOpenAIJob } from './poll.js';
import { prepareFiles, validateSpec } from './prepare.js';
import type { FineTuningProfile } from './profile.js';
import { fineTuningQuote } from './quote.js';
import { hasEnded } from './status.js';

type Scalar = string | number | boolean;

/** SFT hyperparameters: ours, LoRA's where the provider takes them, and provider-specific extras from backend_options.hyperparameters. */
function sftHyperparameters(spec: TrainingSpec, profile: FineTuningProfile, common: Record<string, Scalar>): Record<string, Scalar> {
  const { hyperparameters: hp, backend_options: options, approach } = spec.config;
  const lora: Record<string, Scalar> = approach === 'lora' && profile.lora ? { lora: true, lora_r: hp.lora_r, lora_alpha: hp.lora_alpha, lora_dropout: hp.lora_dropout } : {};
  return { ...common, ...lora, ...((options.hyperparameters as Record<string, Scalar> | undefined) ?? {}) };
}

/** The job-creation body: method and hyperparameters from our frozen config, shaped as the profile says. */
function jobCreateBody(spec: TrainingSpec, profile: FineTuningProfile, files: { training: string; validation?: string }): OpenAI.FineTuning.JobCreateParams {
  const { hyperparameters: hp, backend_options: options, method } = spec.config;
  const common: Record<string, Scalar> = {
    n_epochs: hp.epochs,
    batch_size: hp.batch_size,
    ...(typeof options.learning_rate_multiplier === 'number' ? { learning_rate_multiplier: options.learning_rate_multiplier } : {}),
  };
  const wandbProject = (options.wandb_project as string | undefined) ?? profile.wandb?.project;
  const hyperparameters = method === 'dpo' ? undefined : sftHyperparameters(spec, profile, common);
  return {
    model: spec.config.base_model,
    training_file: files.training,
    ...(files.validation ? { validation_file: files.validation } : {}),
    ...(typeof options.suffix === 'string' ? { suffix: options.suffix } : {}),
    seed: hp.seed,
    metadata: { finetune_mcp_job_id: spec.job_id, finetune_mcp_config_id: spec.config.config_id },
    ...(method === 'dpo'
      ? { method: { type: 'dpo', dpo: { hyperparameters: { ...common, beta: hp.dpo_beta } } } }
      : profile.hyperparameters_in === 'top_level'
        ? { hyperparameters }
        : { method: { type: 'supervised', supervised: { hyperparameters } } }),
    ...(wandbProject
      ? {
          integrations: [
            {
              type: 'wandb' as const,
              wandb: { project: wandbProject, ...(profile.wandb?.entity ? { entity: profile.wandb.entity } : {}), name: spec.job_id, tags: ['finetune-mcp'] },
            },
          ],
        }
      : {}),
  } as OpenAI.FineTuning.JobCreateParams;
}

/**
 * Fine-tuning over OpenAI's files + fine_tuning.jobs API, for OpenAI itself or any provider that
 * speaks it (the profile says which): the host follows the job; this class talks to the API.
 */
export class FineTuningBackend implements RemoteTrainingBackend {
  readonly kind = 'remote';
  readonly poll_interval_ms: { initial: number; max: number };

  constructor(
    private readonly client: OpenAI,
    readonly profile: FineTuningProfile,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.poll_interval_ms = profile.poll_interval_ms;
  }

  validate(spec: TrainingSpec): Promise<SpecIssue[]> {
    return validateSpec(spec, this.profile, this.now());
  }

  quote(spec: TrainingSpec, basis: QuoteBasis): Promise<Quote> {
    return fineTuningQuote(spec, basis, this.profile);
  }

  async submit(job: { job_id: string; spec: TrainingSpec; files: { train: string; validation?: string } }, ctx: RemoteJobContext): Promise<{ remote_id: string }> {
    const spec = { ...job.spec, dataset: { ...job.spec.dataset, train_path: job.files.train, validation_path: job.files.validation } };
    const prepared = await prepareFiles(spec, this.profile, join(ctx.output_dir, this.profile.plugin));
    const uploaded: string[] = [];
    try {
      const training = await this.upload(prepared.train_path, job.files.train);
      uploaded.push(training);
      const validation = prepared.validation_path ? await this.upload(prepared.validation_path, job.files.validation!) : undefined;
      if (validation) uploaded.push(validation);
      const created = await this.client.fineTuning.jobs
        .create(jobCreateBody(spec, this.profile, { training, validation }))
        .catch((error: unknown) => Promise.reject(mapOpenAIError(error, { provider: this.profile.provider, action: 'creating the fine-tuning job', file: job.files.train })));
      Object.assign(openAICursor(ctx), { training_file: training, ...(validation ? { validation_file: validation } : {}) });
      return { remote_id: created.id };
    } catch (error) {
      await this.deleteFiles(uploaded);
      throw error;
    }
  }

  async poll(remoteId: string, ctx: RemoteJobContext): Promise<RemotePoll> {
    try {
      return await pollOpenAIJob(this.client, remoteId, ctx, this.profile.plugin);
    } catch (error) {
      throw mapOpenAIError(error, { provider: this.profile.provider, action: `reading fine-tuning job ${remoteId}` });
    }
  }

  async cancel(remoteId: string): Promise<void> {
    try {
      // Cancelling an ended job is a no-op, so cancel stays idempotent.
      if (hasEnded((await this.client.fineTuning.jobs.retrieve(remoteId)).status)) return;
      await this.client.fineTuning.jobs.cancel(remoteId);
    } catch (error) {
      throw mapOpenAIError(error, { provider: this.profile.provider, action: `cancelling fine-tuning job ${remoteId}` });
    }
  }

  /** Reads one fine-tuning job (for migrate_openai_finetune). */
  async retrieveJob(remoteId: string): Promise<OpenAI.FineTuning.FineTuningJob> {
    try {
      return await this.client.fineTuning.jobs.retrieve(remoteId);
    } catch (error) {
      throw mapOpenAIError(error, { provider: this.profile.provider, action: `reading fine-tuning job ${remoteId}` });
    }
  }

  /** Downloads an uploaded file's content (a job's training or validation file). */
  async downloadFile(fileId: string): Promise<string> {
    try {
      const response = await this.client.files.content(fileId);
      return await response.text();
    } catch (error) {
      throw mapOpenAIError(error, { provider: this.profile.provider, action: `downloading file ${fileId}` });
    }
  }

  private async upload(path: string, sourcePath: string): Promise<string> {
    try {
      // A file-backed Blob, not a stream: the SDK can send it again when it retries a 429 or 5xx.
      const file = await this.client.files.create({ file: new File([await openAsBlob(path)], basename(path)), purpose: 'fine-tune' });
      return file.id;
    } catch (error) {
      throw locateInSource(mapOpenAIError(error, { provider: this.profile.provider, action: 'uploading a fine-tuning file', file: path }), path, sourcePath);
    }
  }

  /** Removes files uploaded for a job that was never created (best effort: a failure is logged). */
  private async deleteFiles(ids: string[]): Promise<void> {
    for (const id of ids) {
      await this.client.files.delete(id).catch((error: unknown) => this.logger.warn({ err: error, file_id: id }, 'could not delete an uploaded fine-tuning file'));
    }
  }
}
