/**
 * The local engine: ONNX graphs built from a Hugging Face config, run by onnxruntime-node.
 * Generation, scoring and the training step all live behind these exports.
 */
export { archFromConfig, type ArchConfig, LINEAR_MODULES, SUPPORTED_MODEL_TYPES } from '../../../src/models/files/arch.js';
export {
  forwardLogits,
  generate,
  type GenerateRequest,
  type GenerateResult,
  loadRuntimeModel,
  releaseRuntimeModel,
  type RuntimeModel,
  runtimeInfo,
  type ScoreBatch,
  scoreSequences,
} from './runtime.js';
export { createTrainStep, type DpoBatch, type LoraSpec, type SftBatch, type TrainableTensor, type TrainStep, type TrainStepSpec } from './train-step.js';
