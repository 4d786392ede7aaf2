import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FinetuneError } from '../../src/errors.js';
import { f16ToF32, readSafetensors, writeSafetensors } from '../../src/models/files/safetensors.js';

const work = mkdtempSync(join(tmpdir(), 'ftm-st-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Builds a safetensors file by hand from the format: u64 LE header length, JSON header, raw bytes. */
function handBuilt(header: Record<string, unknown>, data: number[], padTo = 0): Buffer {
  let json = JSON.stringify(header);
  json += ' '.repeat(padTo);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json), Buffer.from(data)]);
}

describe('safetensors', () => {
  it('round-trips f32 tensors and metadata through writeSafetensors', () => {
    const path = join(work, 'rt.safetensors');
    const tensors = new Map([
      ['b.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-8, -0, 65504]) }],
      ['a.bias', { shape: [3], data: Float32Array.from([0.1, 0.2, 0.3]) }],
    ]);
    writeSafetensors(path, tensors, { format: 'pt' });
    const back = readSafetensors(path);
    expect([...back.keys()].sort()).toEqual(['a.bias', 'b.weight']);
    expect(back.get('b.weight')).toMatchObject({ dtype: 'F32', shape: [2, 3] });
    expect(Array.from(back.get('b.weight')!.data)).toEqual(Array.from(tensors.get('b.weight')!.data));
    expect(Array.from(back.get('a.bias')!.data)).toEqual(Array.from(tensors.get('a.bias')!.data));
    // Header layout per the spec: length prefix then JSON; data section 8-byte aligned.
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(JSON.parse(bytes.subarray(8, 8 + n).toString()).__metadata__).toEqual({ format: 'pt' });
    expect((8 + n) % 8).toBe(0);
  });

  it('upcasts hand-built F16 and BF16 tensors at unaligned offsets to f32', () => {
    // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, smallest subnormal 2^-24 = 0x0001, 0.333251953125 = 0x3555
    // BF16: 1.0 = 0x3F80, -3.140625 = 0xC049, 0x3A83 = 0.00099945068359375 (expected values from Python struct.unpack)
    const f16 = [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x55, 0x35];
    const bf16 = [0x80, 0x3f, 0x49, 0xc0, 0x83, 0x3a];
    const header = {
      half: { dtype: 'F16', shape: [5], data_offsets: [0, 10] },
      brain: { dtype: 'BF16', shape: [1, 3], data_offsets: [10, 16] },
      __metadata__: { format: 'pt' },
    };
    const path = join(work, 'half.safetensors');
    writeFileSync(path, handBuilt(header, [...f16, ...bf16], 1)); // odd padding: data starts unaligned
    const t = readSafetensors(path);
    expect(t.get('half')!.dtype).toBe('F16');
    expect(Array.from(t.get('half')!.data)).toEqual([1, -2, 65504, 2 ** -24, 0.333251953125].map(Math.fround));
    expect(t.get('brain')).toMatchObject({ dtype: 'BF16', shape: [1, 3] });
    expect(Array.from(t.get('brain')!.data)).toEqual([1, -3.140625, 0.00099945068359375]);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(f16ToF32(0x7e00))).toBe(true);
  });

  it('reads a sharded model.safetensors.index.json and names a missing shard', () => {
    const dir = mkdtempSync(join(work, 'sharded-'));
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), new Map([['x', { shape: [2], data: Float32Array.from([1, 2]) }]]));
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), new Map([['y', { shape: [1], data: Float32Array.from([3]) }]]));
    const index = { metadata: { total_size: 12 }, weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' } };
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    const t = readSafetensors(join(dir, 'model.safetensors.index.json'));
    expect(Array.from(t.get('x')!.data)).toEqual([1, 2]);
    expect(Array.from(t.get('y')!.data)).toEqual([3]);
    rmSync(join(dir, 'model-00002-of-00002.safetensors'));
    expect(() => readSafetensors(join(dir, 'model.safetensors.index.json'))).toThrow(/model-00002-of-00002.safetensors.*missing/);
  });

  it('refuses truncated files, bad headers and quantised dtypes with clear codes', () => {
    const good = join(work, 'good.safetensors');
    writeSafetensors(good, new Map([['w', { shape: [4], data: Float32Array.from([1, 2, 3, 4]) }]]));
    const truncated = join(work, 'trunc.safetensors');
    writeFileSync(truncated, readFileSync(good).subarray(0, readFileSync(good).length - 3));
    expect(() => readSafetensors(truncated)).toThrow(/outside the .*truncated/);
    const garbage = join(work, 'garbage.safetensors');
    writeFileSync(garbage, Buffer.from('not a safetensors file at all'));
    expect(() => readSafetensors(garbage)).toThrow(FinetuneError);
    const int8 = join(work, 'i8.safetensors');
    writeFileSync(int8, handBuilt({ q: { dtype: 'I8', shape: [2], data_offsets: [0, 2] } }, [1, 2]));
    try {
      readSafetensors(int8);
      expect.unreachable();
    } catch (error) {
      expect((error as FinetuneError).code).toBe('MODEL_UNSUPPORTED');
      expect((error as FinetuneError).message).toContain('I8');
    }
  });
});
