import { createReadStream } from 'node:fs';
import type OpenAI from 'openai';
import type { Logger } from '../../src/observability/logger.js';
import type { JobHandle, JobSink, Quote, QuoteBasis, SpecIssue, WorkerTrainingBackend, TrainingSpec } from '../../src/plugins/providers.js';
import type { OpenAIConfig } from './config.js';
import { mapOpenAIError } from './errors.js';
import { locateInSource } from './format.js';
import { followJob, loadState, saveState, type FollowState } from './follow-job.js';
import type { Follower } from '../../src/plugins/follow-remote.js';
import { prepareFiles, throwOnErrors, validateSpec } from './prepare.js';
import { openAIQuote } from './quote.js';
import { isTerminal, mapOpenAIStatus } from './status.js';

/** A handle on an OpenAI job: cancel, plus pause/resume (which OpenAI offers) and detach. */
export interface OpenAIJobHandle extends JobHandle {
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops following the job here; it keeps running at OpenAI. */
  detach(): void;
  /** Settles when following stops (the job ended, or it was detached). */
  readonly followed: Promise<void>;
}

/** The job-creation body: method and hyperparameters from our frozen config. */
export function jobCreateBody(spec: TrainingSpec, config: OpenAIConfig, files: { training: string; validation?: string }): OpenAI.FineTuning.JobCreateParams {
  const { hyperparameters: hp, backend_options: options, method } = spec.config;
  const common = {
    n_epochs: hp.epochs,
    batch_size: hp.batch_size,
    ...(typeof options.learning_rate_multiplier === 'number' ? { learning_rate_multiplier: options.learning_rate_multiplier } : {}),
  };
  const wandbProject = (options.wandb_project as string | undefined) ?? config.wandb_project;
  return {
    model: spec.config.base_model,
    training_file: files.training,
    ...(files.validation ? { validation_file: files.validation } : {}),
    ...(typeof options.suffix === 'string' ? { suffix: options.suffix } : {}),
    seed: hp.seed,
    metadata: { finetune_mcp_job_id: spec.job_id, finetune_mcp_config_id: spec.config.config_id },
    method:
      method === 'dpo'
        ? { type: 'dpo', dpo: { hyperparameters: { ...common, beta: hp.dpo_beta } } }
        : { type: 'supervised', supervised: { hyperparameters: common } },
    ...(wandbProject
      ? {
          integrations: [
            {
              type: 'wandb' as const,
              wandb: { project: wandbProject, ...(config.wandb_entity ? { entity: config.wandb_entity } : {}), name: spec.job_id, tags: ['finetune-mcp'] },
            },
          ],
        }
      : {}),
  };
}

export class OpenAIBackend implements WorkerTrainingBackend {
  constructor(
    private readonly client: OpenAI,
    private readonly config: OpenAIConfig,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  validate(spec: TrainingSpec): Promise<SpecIssue[]> {
    return validateSpec(spec, this.config, this.now());
  }

  quote(spec: TrainingSpec, basis: QuoteBasis): Promise<Quote> {
    return openAIQuote(spec, basis, this.config);
  }

  async start(spec: TrainingSpec, sink: JobSink): Promise<OpenAIJobHandle> {
    throwOnErrors(await this.validate(spec));
    const prepared = await prepareFiles(spec, this.config);
    const uploaded: string[] = [];
    let job: OpenAI.FineTuning.FineTuningJob;
    try {
      const training = await this.upload(prepared.train_path, spec.dataset.train_path);
      uploaded.push(training);
      const validation = prepared.validation_path ? await this.upload(prepared.validation_path, spec.dataset.validation_path!) : undefined;
      if (validation) uploaded.push(validation);
      sink.event('files_uploaded', `Uploaded ${prepared.train.length} training${validation ? ` and ${prepared.validation!.length} validation` : ''} examples to OpenAI.`, {
        training_file: training,
        validation_file: validation,
      });
      job = await this.client.fineTuning.jobs
        .create(jobCreateBody(spec, this.config, { training, validation }))
        .catch((error: unknown) => Promise.reject(mapOpenAIError(error, { provider: 'OpenAI', action: 'creating the fine-tuning job', file: spec.dataset.train_path })));
    } catch (error) {
      await this.deleteFiles(uploaded);
      throw error;
    }
    // Terminal states are reported by the follower, with the model artifact before them.
    const created = mapOpenAIStatus(job.status);
    const first = created && !isTerminal(created) ? created : 'preparing';
    const state: FollowState = {
      remote_id: job.id,
      training_file: job.training_file,
      validation_file: job.validation_file,
      last_state: first,
      metric_steps: {},
      checkpoint_steps: [],
    };
    saveState(spec, state);
    sink.status(first, { remote_id: job.id, message: `OpenAI job ${job.id} created (${job.status}).` });
    sink.event('remote_job_created', `OpenAI job ${job.id} created (${job.status}).`, { remote_id: job.id, remote_status: job.status });
    return this.handle(spec, sink, state);
  }

  async attach(remoteId: string, spec: TrainingSpec, sink: JobSink): Promise<OpenAIJobHandle> {
    // Reading the job first turns a wrong id or key into a clear error now, not in the poll loop.
    await this.client.fineTuning.jobs
      .retrieve(remoteId)
      .catch((error: unknown) => Promise.reject(mapOpenAIError(error, { provider: 'OpenAI', action: `reading fine-tuning job ${remoteId}` })));
    const state = loadState(spec, remoteId);
    sink.event('attached', `Following OpenAI job ${remoteId} again.`, { remote_id: remoteId });
    return this.handle(spec, sink, state);
  }

  /** Reads one fine-tuning job (for migrate_openai_finetune). */
  async retrieveJob(remoteId: string): Promise<OpenAI.FineTuning.FineTuningJob> {
    try {
      return await this.client.fineTuning.jobs.retrieve(remoteId);
    } catch (error) {
      throw mapOpenAIError(error, { provider: 'OpenAI', action: `reading fine-tuning job ${remoteId}` });
    }
  }

  /** Downloads an uploaded file's content (a job's training or validation file). */
  async downloadFile(fileId: string): Promise<string> {
    try {
      const response = await this.client.files.content(fileId);
      return await response.text();
    } catch (error) {
      throw mapOpenAIError(error, { provider: 'OpenAI', action: `downloading file ${fileId}` });
    }
  }

  private handle(spec: TrainingSpec, sink: JobSink, state: FollowState): OpenAIJobHandle {
    const follower: Follower = followJob({ client: this.client, config: this.config, logger: this.logger, spec, sink, state });
    const jobs = this.client.fineTuning.jobs;
    const act = async (verb: 'cancel' | 'pause' | 'resume') => {
      const context = { provider: 'OpenAI', action: `${verb}ing fine-tuning job ${state.remote_id}` };
      try {
        const current = await jobs.retrieve(state.remote_id);
        // Cancelling an ended job is a no-op, so cancel stays idempotent.
        if (isTerminal(mapOpenAIStatus(current.status))) return;
        await jobs[verb](state.remote_id);
      } catch (error) {
        throw mapOpenAIError(error, context);
      }
      sink.event(`${verb}_requested`, `Asked OpenAI to ${verb} job ${state.remote_id}.`);
      follower.nudge();
    };
    return {
      remote_id: state.remote_id,
      cancel: () => act('cancel'),
      pause: () => act('pause'),
      resume: () => act('resume'),
      detach: () => follower.stop(),
      followed: follower.finished,
    };
  }

  private async upload(path: string, sourcePath: string): Promise<string> {
    try {
      const file = await this.client.files.create({ file: createReadStream(path), purpose: 'fine-tune' });
      return file.id;
    } catch (error) {
      throw locateInSource(mapOpenAIError(error, { provider: 'OpenAI', action: 'uploading a fine-tuning file', file: path }), path, sourcePath);
    }
  }

  /** Removes files uploaded for a job that was never created (best effort: a failure is logged). */
  private async deleteFiles(ids: string[]): Promise<void> {
    for (const id of ids) {
      await this.client.files.delete(id).catch((error: unknown) => this.logger.warn({ err: error, file_id: id }, 'could not delete an uploaded OpenAI file'));
    }
  }
}
