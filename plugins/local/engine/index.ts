/**
 * The local engine: ONNX graphs built from a Hugging Face config, run by onnxruntime-node.
 * Generation, scoring and the training step all live behind these exports.
 */
export {
  forwardLogits,
  generate,
  loadRuntimeModel,
  releaseRuntimeModel,
  type RuntimeModel,
  runtimeInfo,
  scoreSequences,
} from './runtime.js';
