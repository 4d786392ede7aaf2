/**
 * export_model: the exported file, loaded in a fresh ONNX Runtime session by path (as another
 * program would), gives the runtime's logits — full prompt, KV-cache decoding, and a left-padded batch
 * fed as Optimum/transformers.js feed it (attention_mask zeros, position_ids = cumsum(mask) − 1).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardLogits, loadRuntimeModel } from '../../plugins/local/engine/index.js';
import { exportModelTool } from '../../tools/export-model.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { writeAdapter } from '../registry/records.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const KV_HEADS = 4;
const HEAD_DIM = 8;
const LAYERS = 5;

function feeds(ids: number[][], mask: number[][], positions: number[][], past: ort.Tensor[] | null, pastLen = 0): Record<string, ort.Tensor> {
  const b = ids.length;
  const out: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [b, ids[0].length]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.flat().map(BigInt)), [b, mask[0].length]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from(positions.flat().map(BigInt)), [b, positions[0].length]),
  };
  for (let l = 0; l < LAYERS; l++) {
    for (const [k, kind] of ['key', 'value'].entries()) {
      out[`past_key_values.${l}.${kind}`] = past ? past[2 * l + k] : new ort.Tensor('float32', new Float32Array(0), [b, KV_HEADS, pastLen, HEAD_DIM]);
    }
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('export_model to ONNX (Optimum decoder names)', () => {
  let t: TestClient;
  let modelId: string;
  let adapter: string;
  let exported: Awaited<ReturnType<TestClient['callOk']>> & { path: string; model_file: string };
  let session: ort.InferenceSession;
  let expectedLogits: (rows: number[][]) => Promise<Float32Array>;
  const ids = [1, 403, 407, 261, 378, 432, 383, 286, 261, 300, 320];

  beforeAll(async () => {
    t = await connectTestClient();
    ({ model: { id: modelId } } = await t.services.models.import(join(ASSETS, 'stories260K.bin'), { tokenizer: join(ASSETS, 'tok512.bin') }));
    adapter = writeAdapter(join(mkdtempSync(join(t.home, 'exp-')), 'adapter'), { r: 4, seed: 5, kv_dim: 32 });
    exported = (await t.callOk(exportModelTool, { model_id: modelId, adapter_path: adapter, output_path: join(t.home, 'export', 'stories-onnx') })) as typeof exported;
    session = await ort.InferenceSession.create(exported.model_file);
    const runtime = await loadRuntimeModel(t.services.models.get(modelId).dir, { adapter_dir: adapter });
    expectedLogits = async (rows) => (await forwardLogits(runtime, rows)).logits;
  });
  afterAll(async () => {
    await session?.release();
    await t?.close();
  });

  it('declares the Optimum inputs and outputs in order, in a transformers.js folder layout', async () => {
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'position_ids', ...Array.from({ length: LAYERS }, (_, l) => [`past_key_values.${l}.key`, `past_key_values.${l}.value`]).flat()]);
    expect(session.outputNames).toEqual(['logits', ...Array.from({ length: LAYERS }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat()]);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) expect(existsSync(join(exported.path, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(exported.path, 'config.json'), 'utf8')).model_type).toBe('llama');
  });

  it('gives the runtime logits for a full prompt, and the same logits decoding with the KV cache', async () => {
    const T = ids.length;
    const full = await session.run(feeds([ids], [ids.map(() => 1)], [ids.map((_, i) => i)], null));
    expect(full.logits.dims).toEqual([1, T, 512]);
    const reference = await expectedLogits([ids]);
    expect(maxAbsDiff(full.logits.data as Float32Array, reference)).toBeLessThan(1e-4);
    expect(full['present.0.key'].dims).toEqual([1, KV_HEADS, T, HEAD_DIM]);

    // Prefix of T-1 tokens, then the last token with the cache: its logits equal the full run's last row.
    const prefix = await session.run(feeds([ids.slice(0, -1)], [ids.slice(0, -1).map(() => 1)], [ids.slice(0, -1).map((_, i) => i)], null));
    const past = Array.from({ length: LAYERS }, (_, l) => [prefix[`present.${l}.key`], prefix[`present.${l}.value`]]).flat();
    const step = await session.run(feeds([[ids[T - 1]]], [ids.map(() => 1)], [[T - 1]], past));
    expect(step.logits.dims).toEqual([1, 1, 512]);
    expect(maxAbsDiff(step.logits.data as Float32Array, reference.slice((T - 1) * 512))).toBeLessThan(1e-4);
  });

  it('masks left padding as transformers.js feeds it', async () => {
    const short = ids.slice(0, 6);
    const pad = ids.length - short.length;
    const rows = [ids, [...Array(pad).fill(0), ...short]];
    const mask = [ids.map(() => 1), [...Array(pad).fill(0), ...short.map(() => 1)]];
    const positions = mask.map((m) => {
      let c = -1;
      return m.map((v) => (v ? ++c : 1)); // cumsum(mask) - 1, padding filled with 1 as transformers does
    });
    const out = await session.run(feeds(rows, mask, positions, null));
    const logits = out.logits.data as Float32Array;
    const secondRow = logits.slice(ids.length * 512 + pad * 512, 2 * ids.length * 512);
    expect(maxAbsDiff(secondRow, await expectedLogits([short]))).toBeLessThan(1e-4);
  });

  it('writes external data when asked, and it loads', async () => {
    const ext = (await t.callOk(exportModelTool, { model_id: modelId, output_path: join(t.home, 'export', 'ext'), external_data: 'always' })) as typeof exported & { external_data: boolean; files: Array<{ name: string; bytes: number }> };
    expect(ext.external_data).toBe(true);
    const data = ext.files.find((f) => f.name === 'onnx/model.onnx_data')!;
    expect(data.bytes).toBeGreaterThan(1_000_000);
    expect(ext.files.find((f) => f.name === 'onnx/model.onnx')!.bytes).toBeLessThan(200_000);
    const s = await ort.InferenceSession.create(ext.model_file);
    const base = await loadRuntimeModel(t.services.models.get(modelId).dir);
    const out = await s.run(feeds([ids], [ids.map(() => 1)], [ids.map((_, i) => i)], null));
    expect(maxAbsDiff(out.logits.data as Float32Array, (await forwardLogits(base, [ids])).logits)).toBeLessThan(1e-4);
    await s.release();
    expect(errorCode(await t.call('export_model', { model_id: modelId, output_path: join(t.home, 'export', 'ext') }))).toBe('STATE_CONFLICT');
  });

  it('computes the rotary tables in the graph: a huge max_position_embeddings does not grow the file (issue 13 item 15)', async () => {
    // Baked-in tables took 185 MB at 3e6 positions and failed as INTERNAL at 1e9.
    const folder = join(mkdtempSync(join(t.home, 'long-')), 'stories-long');
    cpSync(t.services.models.get(modelId).dir, folder, { recursive: true });
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, max_position_embeddings: 1_000_000_000 }));
    const { model: long } = await t.services.models.import(folder);
    expect(long.context_length).toBe(1_000_000_000);
    const out = (await t.callOk(exportModelTool, { model_id: long.id, output_path: join(t.home, 'export', 'long') })) as typeof exported & { files: Array<{ name: string; bytes: number }> };
    const bytes = out.files.find((f) => f.name === 'onnx/model.onnx')!.bytes;
    expect(bytes).toBeLessThan(t.services.models.get(modelId).parameters * 4 + 200_000);
    const s = await ort.InferenceSession.create(out.model_file);
    const base = await loadRuntimeModel(t.services.models.get(modelId).dir);
    const run = await s.run(feeds([ids], [ids.map(() => 1)], [ids.map((_, i) => i)], null));
    expect(maxAbsDiff(run.logits.data as Float32Array, (await forwardLogits(base, [ids])).logits)).toBeLessThan(1e-4);
    // A position far past any table the old export could hold still runs.
    const far = await s.run(feeds([[ids[0]]], [[1]], [[500_000_000]], null));
    expect((far.logits.data as Float32Array).every(Number.isFinite)).toBe(true);
    await s.release();
  });
});
