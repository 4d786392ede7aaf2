import { closeSync, existsSync, readSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FinetuneError } from '../../errors.js';
import { jsonErrorWhere, openForRead, readUserFile, readUserJson } from '../../workspace/confine.js';
import { writeFileAtomic } from '../../workspace/atomic-write.js';

/**
 * safetensors, by hand (no maintained npm package exists): 8-byte little-endian header length,
 * a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}, then the raw
 * little-endian buffers. F32, F16 and BF16 are read and upcast to f32 for the CPU runtime.
 */

type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

interface SafetensorsTensor {
  /** The dtype stored in the file; `data` is always f32. */
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

export interface TensorToWrite {
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/**
 * Bytes per element of every dtype the safetensors format defines: the header is checked against
 * them (a shape must fill exactly its byte range) before any tensor is decoded or counted.
 */
const FORMAT_DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
/** A header past this size is a corrupt length field, not a real header (safetensors caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

function corrupt(path: string, what: string, field?: string): FinetuneError {
  return new FinetuneError('FILE_ERROR', `${path} is not a valid safetensors file: ${what}.`, {
    recovery: 'Re-download or re-export the weights; a complete file starts with an 8-byte header length and a JSON header.',
    details: { file: path, ...(field ? { field } : {}) },
  });
}

/** Reads the JSON header of a safetensors buffer and returns it with the byte offset of the data section. */
function parseSafetensorsHeader(bytes: Uint8Array, path = '<buffer>'): { entries: Map<string, HeaderEntry>; metadata: Record<string, string>; dataStart: number } {
  return parseSafetensorsHeaderWithDataLength(bytes, undefined, path);
}

function parseSafetensorsHeaderWithDataLength(
  bytes: Uint8Array,
  knownDataLength: number | undefined,
  path: string,
): { entries: Map<string, HeaderEntry>; metadata: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) throw corrupt(path, `only ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    throw corrupt(path, `header length ${headerLength} does not fit in a ${bytes.length}-byte file (truncated?)`);
  }
  let header: Record<string, unknown>;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8');
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw corrupt(path, `header is not JSON (${jsonErrorWhere(error, text)})`); // where, never what: the file may not be a model at all
  }
  const dataStart = 8 + headerLength;
  const dataLength = knownDataLength ?? bytes.length - dataStart;
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw corrupt(path, 'header is not a JSON object');
  const entries = new Map<string, HeaderEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (value ?? {}) as Record<string, string>;
      continue;
    }
    entries.set(name, checkEntry(value, name, dataLength, path));
  }
  checkLayout(entries, dataLength, path);
  return { entries, metadata, dataStart };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * One tensor's header entry, checked as the reference implementation does: a known dtype, whole
 * non-negative dimensions and offsets, and a byte range that the shape fills exactly. A shape like
 * [2^40, 2^40] or an offset of 0.5 is refused here, so no count past 2^53 is ever made or recorded.
 */
function checkEntry(value: unknown, name: string, dataLength: number, path: string): HeaderEntry {
  const entry = value as Partial<HeaderEntry> | null;
  if (!entry || typeof entry !== 'object' || !Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets) || entry.data_offsets.length !== 2) {
    throw corrupt(path, `tensor '${name}' lacks shape or data_offsets`, name);
  }
  const width = typeof entry.dtype === 'string' && Object.hasOwn(FORMAT_DTYPE_BYTES, entry.dtype) ? FORMAT_DTYPE_BYTES[entry.dtype]! : undefined;
  if (width === undefined) throw corrupt(path, `tensor '${name}' has an unknown dtype ${JSON.stringify(entry.dtype)}`, name);
  if (!entry.shape.every(isCount)) throw corrupt(path, `tensor '${name}' has shape ${JSON.stringify(entry.shape)}; dimensions are whole numbers ≥ 0`, name);
  const [begin, end] = entry.data_offsets;
  if (!isCount(begin) || !isCount(end) || end < begin || end > dataLength) {
    throw corrupt(path, `tensor '${name}' data_offsets ${JSON.stringify(entry.data_offsets)} lie outside the ${dataLength}-byte data section (truncated?)`, name);
  }
  // Every prefix product stays ≤ the byte range (a 0 dimension ends it), so the count never leaves the safe integers.
  let bytes = width;
  for (const dim of entry.shape) bytes = dim === 0 || bytes === 0 ? 0 : bytes * dim > end - begin ? Infinity : bytes * dim;
  if (bytes !== end - begin) {
    throw corrupt(path, `tensor '${name}' has ${end - begin} bytes but shape [${entry.shape.join(', ')}] of ${entry.dtype} needs ${bytes === Infinity ? 'more' : bytes}`, name);
  }
  return { dtype: entry.dtype as string, shape: entry.shape, data_offsets: [begin, end] };
}

/** The byte ranges tile the data section from 0 to its end with no gap or overlap (overlapping tensors would alias each other). */
function checkLayout(entries: Map<string, HeaderEntry>, dataLength: number, path: string): void {
  const ranges = [...entries].sort(([, a], [, b]) => a.data_offsets[0] - b.data_offsets[0] || a.data_offsets[1] - b.data_offsets[1]);
  let at = 0;
  for (const [name, { data_offsets: [begin, end] }] of ranges) {
    if (begin !== at) {
      throw corrupt(path, `tensor '${name}' starts at byte ${begin} of the data section, but the tensors before it end at ${at} (${begin < at ? 'overlapping tensors' : 'a gap'})`, name);
    }
    at = end;
  }
  if (at !== dataLength) throw corrupt(path, `the tensors end at byte ${at} of a ${dataLength}-byte data section (trailing bytes or a truncated header)`);
}

/** Decodes one tensor's bytes to f32. Slices are copied first: offsets need not be 4-byte aligned. */
function decodeTensor(bytes: Uint8Array, entry: HeaderEntry, name: string, path: string): SafetensorsTensor {
  const dtype = entry.dtype as SafetensorsDtype;
  const width = BYTES_PER_ELEMENT[dtype];
  if (width === undefined) {
    throw new FinetuneError('MODEL_UNSUPPORTED', `Tensor '${name}' in ${path} has dtype ${entry.dtype}; supported: F32, F16, BF16.`, {
      recovery: 'Convert the checkpoint to float32, float16 or bfloat16 weights (unquantised) and import it again.',
      details: { file: path, field: name },
    });
  }
  // The header check made the byte range exactly count × width.
  const [begin, end] = entry.data_offsets;
  const count = (end - begin) / width;
  // Uint8Array's slice copies (Buffer's does not): the copy is aligned for the typed views below.
  const buffer = Uint8Array.prototype.slice.call(bytes, begin, end).buffer;
  if (dtype === 'F32') return { dtype, shape: [...entry.shape], data: new Float32Array(buffer, 0, count) };
  const halves = new Uint16Array(buffer, 0, count);
  const data = new Float32Array(count);
  if (dtype === 'BF16') {
    const bits = new Uint32Array(data.buffer);
    for (let i = 0; i < count; i++) bits[i] = halves[i] << 16;
  } else {
    const table = f16Table();
    for (let i = 0; i < count; i++) data[i] = table[halves[i]];
  }
  return { dtype, shape: [...entry.shape], data };
}

let f16Lookup: Float32Array | undefined;
/** All 65,536 binary16 values as f32 (256 KB, built once): a table lookup is ~10× faster than decoding. */
function f16Table(): Float32Array {
  if (!f16Lookup) {
    f16Lookup = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Lookup[h] = f16ToF32(h);
  }
  return f16Lookup;
}

/** IEEE 754 binary16 → number (subnormals, infinities and NaN included). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A weights file opened for the tool call (confined to its roots, regular files only; src/workspace/confine.ts). */
function readBytes(path: string): Uint8Array {
  return readUserFile(path, 'weights');
}

/** Reads every tensor of one safetensors file, or of all shards when `path` is a `*.safetensors.index.json`. */
export function readSafetensors(path: string): Map<string, SafetensorsTensor> {
  if (path.endsWith('.index.json')) return readShardedSafetensors(path);
  const bytes = readBytes(path);
  const { entries, dataStart } = parseSafetensorsHeader(bytes, path);
  const data = bytes.subarray(dataStart);
  const out = new Map<string, SafetensorsTensor>();
  for (const [name, entry] of entries) out.set(name, decodeTensor(data, entry, name, path));
  return out;
}

/** Tensor names, dtypes and shapes of a safetensors file (or all shards of an index), reading only the headers. */
export function readSafetensorsShapes(path: string): Map<string, { dtype: string; shape: number[] }> {
  const out = new Map<string, { dtype: string; shape: number[] }>();
  if (path.endsWith('.index.json')) {
    for (const shard of shardFiles(path)) for (const [name, info] of readSafetensorsShapes(shard)) out.set(name, info);
    return out;
  }
  const { fd, size } = openForRead(path, 'weights');
  try {
    const prefix = Buffer.alloc(8);
    if (readSync(fd, prefix, 0, 8, 0) < 8) throw corrupt(path, `only ${size} bytes, fewer than the 8-byte header length`);
    const headerLength = Number(prefix.readBigUInt64LE(0));
    if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) throw corrupt(path, `header length ${headerLength} does not fit in a ${size}-byte file (truncated?)`);
    const head = Buffer.alloc(8 + headerLength);
    readSync(fd, head, 0, head.length, 0);
    // Parse with a fake data section of the real length so offsets are checked against the file size.
    const { entries } = parseSafetensorsHeaderWithDataLength(head, size - 8 - headerLength, path);
    for (const [name, entry] of entries) out.set(name, { dtype: entry.dtype, shape: [...entry.shape] });
    return out;
  } finally {
    closeSync(fd);
  }
}

/** The shard files an index names, as absolute paths, in first-seen order; missing shards are FILE_ERROR. */
export function shardFiles(indexPath: string): string[] {
  const index = readUserJson(indexPath, 'weights') as { weight_map?: Record<string, unknown> } | null;
  const weightMap = index?.weight_map;
  if (!weightMap || typeof weightMap !== 'object') {
    throw new FinetuneError('FILE_ERROR', `${indexPath} has no weight_map object.`, { details: { file: indexPath, field: 'weight_map' } });
  }
  return [...new Set(Object.values(weightMap))].map((shard) => {
    // A shard is a file beside the index, named plainly: '../x' or '/etc/x' would read outside the folder.
    if (typeof shard !== 'string' || shard !== basename(shard) || shard.includes('\\') || shard === '..' || shard === '.' || shard.includes('\0')) {
      throw new FinetuneError('FILE_ERROR', `${indexPath} maps a tensor to ${JSON.stringify(shard)}, which is not a plain file name beside the index.`, {
        recovery: 'Shard names in weight_map are file names in the same folder (model-00001-of-00002.safetensors).',
        details: { file: indexPath, field: 'weight_map' },
      });
    }
    const shardPath = join(dirname(indexPath), shard);
    if (!existsSync(shardPath)) {
      throw new FinetuneError('FILE_ERROR', `Shard ${shard} named in ${indexPath} is missing.`, {
        recovery: 'Download every shard listed in the index next to it.',
        details: { file: shardPath },
      });
    }
    return shardPath;
  });
}

/** `model.safetensors.index.json`: {weight_map: {tensor name: shard file}}; every shard must exist and hold its tensors. */
function readShardedSafetensors(indexPath: string): Map<string, SafetensorsTensor> {
  const shards = shardFiles(indexPath); // validates the index first
  const weightMap = (readUserJson(indexPath, 'weights') as { weight_map: Record<string, string> }).weight_map;
  const out = new Map<string, SafetensorsTensor>();
  for (const shardPath of shards) {
    for (const [name, tensor] of readSafetensors(shardPath)) out.set(name, tensor);
  }
  for (const [name, shard] of Object.entries(weightMap)) {
    if (!out.has(name)) {
      throw new FinetuneError('FILE_ERROR', `Tensor '${name}' is mapped to ${shard} by ${indexPath} but that shard does not hold it.`, {
        details: { file: join(dirname(indexPath), shard), field: name },
      });
    }
  }
  return out;
}

/** Serialises f32 tensors (names sorted, as the reference writer does) into safetensors bytes. */
export function encodeSafetensors(tensors: Map<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors.get(name)!;
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new FinetuneError('INVALID_INPUT', `Tensor '${name}' has ${data.length} values but shape [${shape}] needs ${count}.`, { details: { field: name } });
    }
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data section starts 8-byte aligned (allowed by the format).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors.get(name)!;
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}

/** Writes f32 tensors as one safetensors file, atomically. */
export function writeSafetensors(path: string, tensors: Map<string, TensorToWrite>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/**
 * Writes f32 tensors as `model.safetensors`, or, past `maxShardBytes`, as shards named as
 * transformers' save_pretrained names them (model-00001-of-00003.safetensors) plus
 * model.safetensors.index.json {metadata: {total_size}, weight_map}. A tensor larger than a shard
 * gets a shard of its own. Returns the file names written.
 */
export function writeSafetensorsShards(dir: string, tensors: Map<string, TensorToWrite>, maxShardBytes: number, metadata: Record<string, string> = {}): string[] {
  const names = [...tensors.keys()].sort();
  const groups: string[][] = [[]];
  let shardBytes = 0;
  let total = 0;
  for (const name of names) {
    const bytes = tensors.get(name)!.data.byteLength;
    if (groups[groups.length - 1].length && shardBytes + bytes > maxShardBytes) {
      groups.push([]);
      shardBytes = 0;
    }
    groups[groups.length - 1].push(name);
    shardBytes += bytes;
    total += bytes;
  }
  if (groups.length === 1) {
    writeSafetensors(join(dir, 'model.safetensors'), tensors, metadata);
    return ['model.safetensors'];
  }
  const count = String(groups.length).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  const files = groups.map((group, i) => {
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${count}.safetensors`;
    writeSafetensors(join(dir, file), new Map(group.map((name) => [name, tensors.get(name)!])), metadata);
    for (const name of group) weightMap[name] = file;
    return file;
  });
  writeFileAtomic(join(dir, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`);
  return [...files, 'model.safetensors.index.json'];
}
