import { type Graph, GraphBuildError, type Value } from './graph.js';
import { add } from './ops.js';

/**
 * Reverse-mode autodiff over the tape the ops recorded while the forward graph was built: walks
 * the tape backwards, asks each entry for its VJP (emitted as ONNX nodes) and sums gradients of
 * values used more than once. Only values that depend on a trainable input get gradients.
 *
 * `seed` is the gradient of `output` (defaults to 1 for a scalar loss).
 */
export function gradients(graph: Graph, output: Value, wrt: readonly Value[], seed?: Value): Value[] {
  if (!output.requiresGrad) throw new GraphBuildError(`gradients: ${output.name} does not depend on any trainable input`);
  const grads = new Map<string, Value>();
  grads.set(output.name, seed ?? graph.constant([1], output.shape as number[]));
  const accumulate = (value: Value, g: Value): void => {
    const prior = grads.get(value.name);
    grads.set(value.name, prior ? add(prior, g) : g);
  };
  const wasRecording = graph.recording;
  graph.recording = false;
  try {
    for (let i = graph.tape.length - 1; i >= 0; i--) {
      const entry = graph.tape[i]!;
      const outGrads = entry.outputs.map((o) => grads.get(o.name));
      if (outGrads.every((g) => !g)) continue;
      const inGrads = entry.vjp(outGrads);
      entry.inputs.forEach((input, k) => {
        const g = inGrads[k];
        if (g && input.requiresGrad) accumulate(input, g);
      });
    }
  } finally {
    graph.recording = wasRecording;
  }
  return wrt.map((w) => {
    const g = grads.get(w.name);
    if (!g) throw new GraphBuildError(`gradients: ${w.name} does not influence ${output.name}`);
    return g;
  });
}
