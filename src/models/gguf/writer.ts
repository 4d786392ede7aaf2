import { writeFileAtomicInParts } from '../../workspace/atomic-write.js';
import { encodeF16, encodeQ8_0, GGML_TYPES, ggmlBytes, type GgmlType } from './quantize.js';

/**
 * A GGUF version 3 file (ggml docs/gguf.md): little-endian header (magic "GGUF", version,
 * tensor count, metadata count), typed key/value metadata, tensor infos (name, dims innermost
 * first, ggml type, offset in the data section), then the tensor data, each tensor aligned to
 * `general.alignment` (32).
 */

const MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const VERSION = 3;
const ALIGNMENT = 32;

/** gguf_metadata_value_type ids. */
const VALUE_TYPE = { uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12 } as const;
type ScalarType = 'uint32' | 'int32' | 'float32' | 'bool' | 'string' | 'uint64';

/** One metadata value: a scalar, or an array of one scalar type. */
export type GgufValue = { type: ScalarType; value: number | boolean | string } | { type: 'array'; of: ScalarType; value: ReadonlyArray<number | boolean | string> };

export interface GgufTensor {
  name: string;
  /** Row-major shape as PyTorch writes it, e.g. [out, in]; GGUF stores it reversed (ne0 = in). */
  shape: readonly number[];
  type: GgmlType;
  /** f32 values, encoded to `type` while the file is written. */
  data: Float32Array;
}

export const u32 = (value: number): GgufValue => ({ type: 'uint32', value });
export const f32 = (value: number): GgufValue => ({ type: 'float32', value });
export const str = (value: string): GgufValue => ({ type: 'string', value });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });

/** Growable little-endian byte buffer for the header part of the file. */
class ByteWriter {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const next = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }
  private put(bytes: number, write: (offset: number) => number): void {
    this.room(bytes);
    this.length = write(this.length);
  }
  u8 = (v: number) => this.put(1, (at) => this.buffer.writeUInt8(v, at));
  u32 = (v: number) => this.put(4, (at) => this.buffer.writeUInt32LE(v, at));
  i32 = (v: number) => this.put(4, (at) => this.buffer.writeInt32LE(v, at));
  f32 = (v: number) => this.put(4, (at) => this.buffer.writeFloatLE(v, at));
  u64 = (v: number) => this.put(8, (at) => this.buffer.writeBigUInt64LE(BigInt(v), at));
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.room(bytes.length);
    this.length += bytes.copy(this.buffer, this.length);
  }
  pad(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.room(pad);
    this.buffer.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function writeScalar(out: ByteWriter, type: ScalarType, value: number | boolean | string): void {
  if (type === 'string') out.string(String(value));
  else if (type === 'uint32') out.u32(Number(value));
  else if (type === 'int32') out.i32(Number(value));
  else if (type === 'float32') out.f32(Number(value));
  else if (type === 'uint64') out.u64(Number(value));
  else out.u8(value ? 1 : 0);
}

function tensorBytes(t: GgufTensor): number {
  return ggmlBytes(t.type, t.data.length);
}

/** The header, metadata and tensor infos, padded so that the data section starts aligned. */
function encodeHeader(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[]): Buffer {
  const out = new ByteWriter();
  out.u32(MAGIC);
  out.u32(VERSION);
  out.u64(tensors.length);
  out.u64(metadata.size);
  for (const [key, entry] of metadata) {
    out.string(key);
    out.u32(VALUE_TYPE[entry.type]);
    if (entry.type === 'array') {
      out.u32(VALUE_TYPE[entry.of]);
      out.u64(entry.value.length);
      for (const v of entry.value) writeScalar(out, entry.of, v);
    } else writeScalar(out, entry.type, entry.value);
  }
  let offset = 0;
  for (const t of tensors) {
    out.string(t.name);
    out.u32(t.shape.length);
    for (const dim of [...t.shape].reverse()) out.u64(dim);
    out.u32(GGML_TYPES[t.type].id);
    out.u64(offset);
    offset += tensorBytes(t);
    offset += (ALIGNMENT - (offset % ALIGNMENT)) % ALIGNMENT;
  }
  out.pad(ALIGNMENT);
  return out.bytes();
}

function encodeTensor(t: GgufTensor): Uint8Array {
  if (t.type === 'f32') return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(tensorBytes(t));
  if (t.type === 'f16') encodeF16(t.data, out);
  else encodeQ8_0(t.data, out);
  return out;
}

/**
 * Writes the GGUF file at `path` atomically (src/workspace/atomic-write.ts: a temp file beside it,
 * fsynced, renamed into place; a failure leaves no partial file). Tensors are encoded one at a time,
 * so memory holds one encoded tensor beyond the f32 weights. Returns the file size in bytes.
 */
export function writeGguf(path: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[]): number {
  const withAlignment = new Map(metadata);
  withAlignment.set('general.alignment', u32(ALIGNMENT));
  let size = 0;
  writeFileAtomicInParts(path, (write) => {
    const counted = (bytes: Uint8Array) => {
      write(bytes);
      size += bytes.length;
    };
    counted(encodeHeader(withAlignment, tensors));
    const zeros = new Uint8Array(ALIGNMENT);
    for (const t of tensors) {
      const bytes = encodeTensor(t);
      counted(bytes);
      const pad = (ALIGNMENT - (bytes.length % ALIGNMENT)) % ALIGNMENT;
      if (pad) counted(zeros.subarray(0, pad));
    }
  });
  return size;
}
