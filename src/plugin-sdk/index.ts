/**
 * finetune-mcp/plugin: everything a plugin package needs, and nothing from the server's internals.
 * A third-party plugin imports only from here (and finetune-mcp/plugin/testing in its tests).
 */
export { definePlugin, PLUGIN_API_VERSION, PROVIDER_KINDS, textMethod } from '../plugins/types.js';
export type {
  PluginCapabilities,
  PluginContext,
  PluginDefinition,
  PluginMeta,
  PluginProviders,
  ProbeResult,
  ProviderKind,
  TrainingCapabilities,
  TrainingMethod,
  WorkerLedger,
} from '../plugins/types.js';
export { REMOTE_STATUSES, isRemoteBackend } from '../plugins/providers.js';
export type {
  ChatMessage,
  DataSource,
  ExportedTensor,
  ExportResult,
  InferenceProvider,
  InferenceRequest,
  JsonSchemaFormat,
  InferenceResult,
  JobHandle,
  JobSink,
  Judge,
  JudgeVerdict,
  LocalModelFiles,
  Measurement,
  ModelExporter,
  Quote,
  QuoteBasis,
  RemoteJobContext,
  RemotePoll,
  RemoteStatus,
  RemoteTrainingBackend,
  ScoreItem,
  ScoreRequest,
  SequenceScore,
  SpecIssue,
  TelemetryAnnotation,
  TelemetrySpan,
  OnSkip,
  TrainingBackend,
  TrainingConfigRecord,
  TrainingHyperparameters,
  TrainingSpec,
  WorkerTrainingBackend,
} from '../plugins/providers.js';
export { ERROR_CODES, FinetuneError, isFinetuneError, toFinetuneError, type ErrorCode, type ErrorDetails } from '../errors.js';
export { RestClient, retryDelayMs, type RequestOptions, type RestClientOptions } from './http.js';
export { completeLines, EVENT_LINE_PREFIX, parseEventLines, type TrainerLogReport } from './event-lines.js';
export { containerSpec, containerTrainerCapabilities, foldTrainerLog, hubModelIssue, MULTI_GPU_TRAINER, outputMeta, outputUriIssue, trainerPoll, type RemotePaths, type TrainerCursor } from './container-trainer.js';
export { instanceCount, instanceCountIssue, pickInstance, quoteInstance, tableDevices, tableInstanceDevices, tableInstanceGpus, unpricedInstanceIssue, withPrices, type InstancePrice, type PriceTable } from './instance-prices.js';
export { chatCompletionsProvider, type ChatCompletionsOptions } from './chat-completions.js';
export { codeForStatus, lineNamedIn, upstreamError, type UpstreamContext } from './upstream-errors.js';
export { writeFileAtomic } from '../workspace/atomic-write.js';
// The zod the host validates plugin configs with: a plugin's configSchema built from it always fits PluginDefinition.
export { z } from 'zod';
