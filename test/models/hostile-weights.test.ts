/**
 * Hostile model folders (issue 13 items 13 and 17): safetensors headers whose shapes, dtypes and
 * byte ranges disagree, and folders whose config.json and weights could never load together, are
 * refused by import_model with a clear code; nothing is recorded or left in the workspace, and
 * list_models keeps working.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { readSafetensors, writeSafetensors } from '../../src/models/files/safetensors.js';
import { importModelTool } from '../../tools/import-model.js';
import { listModelsTool } from '../../tools/list-models.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { writeTinyGpt2Folder } from './tiny-models.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;

let work: string;
let llama: string;
let gpt2: string;
let t: TestClient;
let n = 0;

/** A copy of `base` whose model.safetensors header is rewritten by `edit` (the data section kept as it is). */
function withHeader(base: string, edit: (header: Header) => void): string {
  const dir = join(work, `case-${++n}`);
  cpSync(base, dir, { recursive: true });
  const file = join(dir, 'model.safetensors');
  const bytes = readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString()) as Header;
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([prefix, json, bytes.subarray(8 + length)]));
  return dir;
}

/** A copy of `base` with its weights or config.json changed through the ordinary writer. */
function withFiles(base: string, edit: { weights?: (w: Map<string, { shape: number[]; data: Float32Array }>) => void; config?: (c: Record<string, unknown>) => void }): string {
  const dir = join(work, `case-${++n}`);
  cpSync(base, dir, { recursive: true });
  if (edit.weights) {
    const weights = new Map([...readSafetensors(join(dir, 'model.safetensors'))].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
    edit.weights(weights);
    writeSafetensors(join(dir, 'model.safetensors'), weights);
  }
  if (edit.config) {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    edit.config(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  }
  return dir;
}

async function refused(source: string, code: string, message: RegExp): Promise<void> {
  const result = await t.call('import_model', { source });
  expect(result.isError, resultText(result)).toBe(true);
  expect(errorCode(result)).toBe(code);
  expect(resultText(result)).toMatch(message);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ftm-hostile-'));
  llama = join(work, 'llama');
  convertLlama2c({ checkpoint: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin'), out_dir: llama });
  gpt2 = join(work, 'gpt2');
  writeTinyGpt2Folder(gpt2);
  t = await connectTestClient({ config: { allowed_roots: [work] } });
});
afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('import_model refuses hostile safetensors headers', () => {
  it('a [2^40, 2^40] shape on a small byte range (once recorded, it broke list_models for the whole workspace)', async () => {
    await refused(
      withHeader(llama, (h) => (h['model.norm.weight'].shape = [2 ** 40, 2 ** 40])),
      'FILE_ERROR',
      /model\.norm\.weight' has 256 bytes but shape \[1099511627776, 1099511627776\] of F32 needs more/,
    );
  });

  it('overlapping byte ranges (two tensors reading the same bytes)', async () => {
    await refused(
      withHeader(llama, (h) => (h['model.layers.1.input_layernorm.weight'].data_offsets = [...h['model.layers.0.input_layernorm.weight'].data_offsets])),
      'FILE_ERROR',
      /overlapping tensors/,
    );
  });

  it('fractional offsets, a dtype that does not fill the range, an unknown dtype, a negative dimension', async () => {
    await refused(withHeader(llama, (h) => (h['model.norm.weight'].data_offsets = h['model.norm.weight'].data_offsets.map((o) => o + 0.5))), 'FILE_ERROR', /data_offsets \[.*\.5.*\] lie outside/);
    await refused(withHeader(llama, (h) => (h['model.norm.weight'].dtype = 'F16')), 'FILE_ERROR', /has 256 bytes but shape \[64\] of F16 needs 128/);
    await refused(withHeader(llama, (h) => (h['model.norm.weight'].dtype = 'Q4_K')), 'FILE_ERROR', /unknown dtype "Q4_K"/);
    await refused(withHeader(llama, (h) => (h['model.norm.weight'].shape = [-64, -1])), 'FILE_ERROR', /dimensions are whole numbers/);
  });

  it('offsets past the end of the file, and a gap in the data section', async () => {
    await refused(withHeader(llama, (h) => (h['model.norm.weight'].data_offsets = [10_000_000, 10_000_256])), 'FILE_ERROR', /lie outside the \d+-byte data section/);
    await refused(withHeader(llama, (h) => delete h['model.layers.0.input_layernorm.weight']), 'FILE_ERROR', /a gap/);
  });

  it('a dtype the runtime does not decode is MODEL_UNSUPPORTED at import, not at the first generate', async () => {
    await refused(withHeader(llama, (h) => (h['model.norm.weight'].dtype = 'I32')), 'MODEL_UNSUPPORTED', /model\.norm\.weight.*dtype I32/);
  });
});

describe('import_model refuses models that could never load', () => {
  it('a tensor the graph needs is missing, or its shape disagrees with config.json', async () => {
    await refused(withFiles(llama, { weights: (w) => w.delete('model.layers.4.mlp.down_proj.weight') }), 'FILE_ERROR', /lack model\.layers\.4\.mlp\.down_proj\.weight/);
    await refused(withFiles(llama, { config: (c) => (c.num_key_value_heads = 8) }), 'FILE_ERROR', /k_proj\.weight has shape \[32, 64\] but config\.json implies \[64, 64\]/);
    await refused(withFiles(llama, { config: (c) => (c.num_hidden_layers = 1_000_000_000) }), 'FILE_ERROR', /declares 1000000000 layers/);
    await refused(withFiles(gpt2, { weights: (w) => w.set('h.1.mlp.c_fc.weight', { shape: [64, 16], data: w.get('h.1.mlp.c_fc.weight')!.data }) }), 'FILE_ERROR', /c_fc\.weight has shape \[64, 16\] but config\.json implies \[16, 64\]/);
  });

  it('an activation or a config size the runtime cannot honour', async () => {
    await refused(withFiles(llama, { config: (c) => (c.hidden_act = 'gelu') }), 'MODEL_UNSUPPORTED', /hidden_act "gelu"/);
    await refused(withFiles(gpt2, { config: (c) => (c.activation_function = 'relu') }), 'MODEL_UNSUPPORTED', /activation_function "relu"/);
    await refused(withFiles(llama, { config: (c) => (c.max_position_embeddings = 1e300) }), 'CONFIG_INVALID', /max_position_embeddings.*below 2\^53/);
  });

  it('after every refusal nothing is recorded or left on disk, and a sound model still imports and lists', async () => {
    expect((await t.callOk(listModelsTool)).models).toEqual([]);
    expect(readdirSync(join(t.home, 'models'))).toEqual([]);
    const ok = await t.callOk(importModelTool, { source: gpt2 });
    expect(ok.created).toBe(true);
    expect((await t.callOk(listModelsTool)).models.map((m) => m.model_id)).toEqual([ok.model_id]);
  });
});
