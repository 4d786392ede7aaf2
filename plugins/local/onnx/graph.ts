import { createRequire } from 'node:module';
import type onnxProto from 'onnx-proto';

const require = createRequire(import.meta.url);
let classes: typeof onnxProto.onnx | undefined;

/** The protobuf classes (onnx-proto, with protobufjs), loaded when a graph is first built, not at start-up. */
function onnxClasses(): typeof onnxProto.onnx {
  return (classes ??= (require('onnx-proto') as typeof onnxProto).onnx);
}

/**
 * A small typed ONNX graph builder. Values carry dtype and shape (numbers, or strings for symbolic
 * dims such as "batch"), so every op checks its operands while the graph is built, not when ONNX
 * Runtime loads it. Opset 17 of the default domain plus com.microsoft (FusedMatMul).
 */
export const OPSET = 17;
export const MS_DOMAIN = 'com.microsoft';

export type Dim = number | string;
export type DType = 'float32' | 'int64' | 'int32' | 'bool' | 'uint8';

const DATA_TYPE: Record<DType, number> = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9 };

export class Value {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: readonly Dim[],
    /** True when a gradient flows back to a trainable input through this value. */
    readonly requiresGrad: boolean,
  ) {}

  get rank(): number {
    return this.shape.length;
  }
}

/** One differentiable step recorded while the forward graph is built. */
interface TapeEntry {
  inputs: readonly Value[];
  outputs: readonly Value[];
  /** Emits the nodes that turn output gradients (undefined = no gradient) into input gradients. */
  vjp(outputGrads: ReadonlyArray<Value | undefined>): Array<Value | undefined>;
}

type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | { tensor: onnxProto.onnx.ITensorProto };

type TypedData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

export class GraphBuildError extends Error {}

export class Graph {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly tape: TapeEntry[] = [];
  /** Off while gradient nodes are emitted, so the backward pass is not itself recorded. */
  recording = true;
  private counter = 0;
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, Value>();
  /** Bytes of initializer data, to decide on external data past the protobuf limit. */
  initializerBytes = 0;

  constructor(readonly name = 'graph') {}

  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new GraphBuildError(`duplicate value name ${name}`);
    this.names.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: readonly Dim[], options: { requiresGrad?: boolean } = {}): Value {
    const value = new Value(this, this.claim(name), dtype, shape, options.requiresGrad ?? false);
    this.inputs.push(value);
    return value;
  }

  initializer(name: string, data: TypedData, shape: readonly number[], dtype: DType = 'float32', claimed = false): Value {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new GraphBuildError(`initializer ${name}: ${data.length} values for shape [${shape.join(',')}]`);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name: claimed ? name : this.claim(name), dims: [...shape], dataType: DATA_TYPE[dtype], rawData: bytes });
    this.initializerBytes += bytes.byteLength;
    return new Value(this, name, dtype, shape, false);
  }

  /** A small constant, deduplicated by value. */
  constant(values: readonly number[], shape: readonly number[], dtype: DType = 'float32'): Value {
    const key = `${dtype}|${shape.join(',')}|${values.join(',')}`;
    const cached = this.constants.get(key);
    if (cached) return cached;
    const data =
      dtype === 'int64' ? BigInt64Array.from(values.map((v) => BigInt(v))) : dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
    const value = this.initializer(this.fresh('const'), data, shape, dtype, true);
    this.constants.set(key, value);
    return value;
  }

  scalar(value: number): Value {
    return this.constant([value], []);
  }

  ints(values: readonly number[]): Value {
    return this.constant(values, [values.length], 'int64');
  }

  /** Emits one node; the caller states the outputs' dtype and shape (ops compute them). */
  node(
    opType: string,
    inputs: ReadonlyArray<Value | null>,
    outputs: ReadonlyArray<{ dtype: DType; shape: readonly Dim[]; requiresGrad?: boolean }>,
    attrs: Record<string, AttrValue> = {},
    domain = '',
  ): Value[] {
    for (const value of inputs) if (value && value.graph !== this) throw new GraphBuildError(`${opType}: value ${value.name} belongs to another graph`);
    const outs = outputs.map((o) => new Value(this, this.fresh(opType.toLowerCase()), o.dtype, o.shape, o.requiresGrad ?? false));
    this.nodes.push({
      opType,
      domain,
      name: this.fresh(`n_${opType}`),
      input: inputs.map((v) => (v ? v.name : '')),
      output: outs.map((v) => v.name),
      attribute: Object.entries(attrs).map(([name, value]) => encodeAttr(name, value)),
    });
    return outs;
  }

  record(entry: TapeEntry): void {
    if (this.recording) this.tape.push(entry);
  }

  /** Marks a value as a graph output under a stable name. */
  output(value: Value, name: string): Value {
    const [out] = this.node('Identity', [value], [{ dtype: value.dtype, shape: value.shape }]);
    // rename the Identity output to the requested name
    const node = this.nodes[this.nodes.length - 1]!;
    this.names.delete(out!.name);
    node.output = [this.claim(name)];
    const named = new Value(this, name, value.dtype, value.shape, false);
    this.outputs.push(named);
    return named;
  }

  /** Serialises to an ONNX ModelProto. */
  toModel(): Uint8Array {
    const valueInfo = (v: Value): onnxProto.onnx.IValueInfoProto => ({
      name: v.name,
      type: {
        tensorType: {
          elemType: DATA_TYPE[v.dtype],
          shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
    const onnx = onnxClasses();
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'finetune-mcp',
      opsetImport: [
        { domain: '', version: OPSET },
        { domain: MS_DOMAIN, version: 1 },
      ],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /**
   * Serialises with every large initializer moved to an external data file (for models past the
   * 2 GB protobuf limit); ONNX Runtime must then load the model from its path beside that file.
   */
  toModelWithExternalData(dataFileName: string): { model: Uint8Array; chunks: Uint8Array[] } {
    const chunks: Uint8Array[] = [];
    let offset = 0;
    const saved = this.initializers.map((t) => t.rawData);
    for (const tensor of this.initializers) {
      const raw = tensor.rawData!;
      if (raw.byteLength < 1024) continue;
      const pad = (64 - (offset % 64)) % 64;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      tensor.dataLocation = 1; // EXTERNAL
      tensor.externalData = [
        { key: 'location', value: dataFileName },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.byteLength) },
      ];
      tensor.rawData = null;
      chunks.push(raw);
      offset += raw.byteLength;
    }
    try {
      return { model: this.toModel(), chunks };
    } finally {
      this.initializers.forEach((t, i) => {
        t.rawData = saved[i]!;
        t.dataLocation = null;
        t.externalData = null;
      });
    }
  }
}

function encodeAttr(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnxClasses().AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.TENSOR, t: value.tensor };
}

export function shapeToString(shape: readonly Dim[]): string {
  return `[${shape.join(',')}]`;
}

export function numel(shape: readonly Dim[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}
