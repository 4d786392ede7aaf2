import { copyFileSync, createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { requireDecoder, type ArchConfig } from '../../../src/models/files/arch.js';
import { ropeInvFreq } from '../engine/rope.js';
import { MASKED } from '../engine/feeds.js';
import { buildModel, type Weights } from '../engine/model-graph.js';
import { Graph, OPSET, Value, type DType, type Dim } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { FinetuneError } from '../../../src/errors.js';
import type { ExportResult, ModelExporter } from '../../../src/plugins/providers.js';
import { loadRuntimeModel } from '../engine/index.js';

/**
 * Exports a (merged) decoder as a standalone ONNX model with the input and output names of
 * Optimum-exported decoders, so transformers.js and other ONNX Runtime users can run it:
 *
 *   input_ids [batch, seq], attention_mask [batch, past + seq], position_ids [batch, seq],
 *   past_key_values.N.key / .value [batch, kv_heads, past, head_dim]
 *   → logits [batch, seq, vocab], present.N.key / .value [batch, kv_heads, past + seq, head_dim]
 *
 * The engine's graph (model-graph.ts) takes an additive attention bias and rotary tables; a
 * preamble computes both from attention_mask and position_ids inside the exported graph (so its
 * size does not grow with max_position_embeddings).
 * Initializers go to an external data file past the 2 GB protobuf limit (or when asked).
 */

const PROTOBUF_LIMIT = 2_000_000_000;
const ONNX_FILE = 'model.onnx';
const ONNX_DATA_FILE = 'model.onnx_data';

interface ExportedGraph {
  inputs: Array<{ name: string; dtype: DType; shape: Dim[] }>;
  outputs: Array<{ name: string; dtype: DType; shape: Dim[] }>;
}

export function buildExportGraph(arch: ArchConfig, weights: Weights): { graph: Graph; io: ExportedGraph } {
  requireDecoder(arch, 'be exported as an ONNX decoder with a KV cache');
  const g = new Graph(`${arch.model_type}_decoder`);
  const m = buildModel(g, { arch, weights, batch: 'batch_size', seq: 'sequence_length', past: 'past_sequence_length', flat: false });
  g.output(op.fusedMatMul(m.hidden, m.head, { transB: true }), 'logits');
  m.presents.forEach((p, i) => g.output(p, `present.${Math.floor(i / 2)}.${i % 2 ? 'value' : 'key'}`));

  const byName = (name: string) => g.inputs.find((v) => v.name === name);
  const inputIds = byName('input_ids')!;
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const preamble: typeof g.nodes = [];
  const emit = (type: string, inputs: Value[], dtype: DType, shape: Dim[], attrs: Record<string, number | number[]> = {}): Value => {
    const before = g.nodes.length;
    const [out] = g.node(type, inputs, [{ dtype, shape }], attrs);
    preamble.push(...g.nodes.splice(before));
    return out!;
  };
  const constant = (values: number[], shape: number[], dtype: DType = 'int64') => g.constant(values, shape, dtype);

  // attn_bias[b, 0, i, j] = 0 where key j is a real token and j <= past + i, else MASKED.
  const seq = emit('Gather', [emit('Shape', [inputIds], 'int64', [2]), constant([1], [])], 'int64', [], { axis: 0 });
  const total = emit('Gather', [emit('Shape', [mask], 'int64', [2]), constant([1], [])], 'int64', [], { axis: 0 });
  const past = emit('Sub', [total, seq], 'int64', []);
  const queryPos = emit('Range', [past, total, constant([1], [])], 'int64', ['sequence_length']);
  const keyPos = emit('Range', [constant([0], []), total, constant([1], [])], 'int64', ['total_sequence_length']);
  const causal = emit(
    'LessOrEqual',
    [emit('Unsqueeze', [keyPos, constant([0], [1])], 'int64', [1, 'total_sequence_length']), emit('Unsqueeze', [queryPos, constant([1], [1])], 'int64', ['sequence_length', 1])],
    'bool',
    ['sequence_length', 'total_sequence_length'],
  );
  const real = emit('Unsqueeze', [emit('Cast', [mask], 'bool', ['batch_size', 'total_sequence_length'], { to: 9 }), constant([1, 2], [2])], 'bool', ['batch_size', 1, 1, 'total_sequence_length']);
  const visible = emit('And', [causal, real], 'bool', ['batch_size', 1, 'sequence_length', 'total_sequence_length']);
  const bias = emit('Where', [visible, g.constant([0], [], 'float32'), g.constant([MASKED], [], 'float32')], 'float32', ['batch_size', 1, 'sequence_length', 'total_sequence_length']);
  replaceInput(g, preamble, 'attn_bias', bias);

  let positions: Value;
  if (arch.family === 'llama') {
    positions = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
    // cos/sin from position_ids in the graph, in float32 as transformers' rotary embedding computes them: the
    // file holds head_dim inverse frequencies, not a [max_position_embeddings, head_dim] table (185 MB at 3e6).
    const hd = arch.head_dim;
    const inv = ropeInvFreq(arch);
    const invFreq = g.initializer('rope_inv_freq', Float32Array.from([...inv, ...inv]), [hd]);
    const position = emit('Cast', [positions], 'float32', ['batch_size', 'sequence_length'], { to: 1 });
    const angles = emit('Mul', [emit('Unsqueeze', [position, constant([2], [1])], 'float32', ['batch_size', 'sequence_length', 1]), invFreq], 'float32', ['batch_size', 'sequence_length', hd]);
    for (const [name, fn] of [['rope_cos', 'Cos'], ['rope_sin', 'Sin']] as const) {
      replaceInput(g, preamble, name, emit('Unsqueeze', [emit(fn, [angles], 'float32', ['batch_size', 'sequence_length', hd]), constant([1], [1])], 'float32', ['batch_size', 1, 'sequence_length', hd]));
    }
  } else {
    // GPT-2 gathers learned positions by id: the same input, now one row of ids per batch item.
    const index = g.inputs.findIndex((v) => v.name === 'position_ids');
    positions = new Value(g, 'position_ids', 'int64', ['batch_size', 'sequence_length'], false);
    g.inputs[index] = positions;
  }
  g.nodes.unshift(...preamble);

  // Optimum names for the cache, and Optimum's input order.
  const rename = new Map<string, string>();
  for (let l = 0; l < arch.num_layers; l++) {
    rename.set(`past_key_${l}`, `past_key_values.${l}.key`);
    rename.set(`past_value_${l}`, `past_key_values.${l}.value`);
  }
  for (const node of g.nodes) node.input = (node.input ?? []).map((n) => rename.get(n) ?? n);
  const renamed = g.inputs.map((v) => (rename.has(v.name) ? new Value(g, rename.get(v.name)!, v.dtype, ['batch_size', arch.num_kv_heads, 'past_sequence_length', arch.head_dim], false) : v));
  const order = (v: Value) => ['input_ids', 'attention_mask', 'position_ids'].indexOf(v.name) >>> 0;
  g.inputs.splice(0, g.inputs.length, ...renamed.sort((a, b) => order(a) - order(b) || pastIndex(a.name) - pastIndex(b.name)));
  const unexpected = g.inputs.filter((v) => !/^(input_ids|attention_mask|position_ids|past_key_values\.\d+\.(key|value))$/.test(v.name));
  if (unexpected.length) throw new FinetuneError('MODEL_UNSUPPORTED', `The export graph has inputs ${unexpected.map((v) => v.name).join(', ')} that Optimum decoders do not.`);
  const io = (vs: Value[]) => vs.map((v) => ({ name: v.name, dtype: v.dtype, shape: [...v.shape] }));
  return { graph: g, io: { inputs: io(g.inputs), outputs: io(g.outputs) } };
}

function pastIndex(name: string): number {
  const m = /^past_key_values\.(\d+)\.(key|value)$/.exec(name);
  return m ? Number(m[1]) * 2 + (m[2] === 'value' ? 1 : 0) : -1;
}

/** Makes a former graph input the output of the last preamble node instead. */
function replaceInput(g: Graph, preamble: Graph['nodes'], name: string, value: Value): void {
  const index = g.inputs.findIndex((v) => v.name === name);
  if (index < 0) throw new FinetuneError('INTERNAL', `The engine graph has no input ${name} to replace.`);
  g.inputs.splice(index, 1);
  const producer = preamble.find((n) => n.output?.includes(value.name))!;
  producer.output = producer.output!.map((o) => (o === value.name ? name : o));
}

/** Writes model.onnx (and model.onnx_data when needed) into `dir`; returns whether data went external. */
export async function writeOnnx(graph: Graph, dir: string, external: 'auto' | 'always' | 'never'): Promise<{ external_data: boolean }> {
  const useExternal = external === 'always' || (external === 'auto' && graph.initializerBytes > PROTOBUF_LIMIT * 0.9);
  if (!useExternal) {
    if (graph.initializerBytes > PROTOBUF_LIMIT) {
      throw new FinetuneError('INVALID_INPUT', `The weights hold ${graph.initializerBytes} bytes, past the 2 GB limit of one ONNX file.`, {
        recovery: 'Use external_data "auto" or "always".',
        details: { field: 'external_data' },
      });
    }
    writeFileSync(join(dir, ONNX_FILE), graph.toModel());
    return { external_data: false };
  }
  const { model, chunks } = graph.toModelWithExternalData(ONNX_DATA_FILE);
  const stream = createWriteStream(join(dir, ONNX_DATA_FILE));
  for (const chunk of chunks) if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
  stream.end();
  await finished(stream);
  writeFileSync(join(dir, ONNX_FILE), model);
  return { external_data: true };
}

/** The files transformers.js reads beside the graph: config and tokenizer. */
const COMPANION_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

function copyCompanions(sourceDir: string, targetDir: string): string[] {
  const copied: string[] = [];
  for (const name of COMPANION_FILES) {
    if (existsSync(join(sourceDir, name))) {
      copyFileSync(join(sourceDir, name), join(targetDir, name));
      copied.push(name);
    }
  }
  return copied;
}

/**
 * The local plugin's exporter: merges the adapter (if any) into the base weights and writes the
 * transformers.js layout into `dir` — config and tokenizer at the top, the graph in onnx/. The host
 * picked `dir` (a temp folder it renames into place), so a failed export leaves nothing behind.
 */
export async function exportOnnx(request: Parameters<ModelExporter['export']>[0]): Promise<ExportResult> {
  const model = await loadRuntimeModel(request.base_dir, request.adapter_dir ? { adapter_dir: request.adapter_dir } : {});
  const { graph, io } = buildExportGraph(model.arch, model.weights);
  mkdirSync(join(request.dir, 'onnx'));
  const { external_data } = await writeOnnx(graph, join(request.dir, 'onnx'), request.external_data);
  const companions = copyCompanions(request.base_dir, request.dir);
  const tensors = (list: ExportedGraph['inputs']) => list.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape.map(String) }));
  return {
    files: [...companions, `onnx/${ONNX_FILE}`, ...(external_data ? [`onnx/${ONNX_DATA_FILE}`] : [])],
    model_file: `onnx/${ONNX_FILE}`,
    external_data,
    opset: OPSET,
    inputs: tensors(io.inputs),
    outputs: tensors(io.outputs),
  };
}
