/** export_model on the GPT-2 family (learned positions, Conv1D weights): a fresh session gives the runtime logits. */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardLogits, loadRuntimeModel } from '../../plugins/local/engine/index.js';
import { exportModelTool } from '../../tools/export-model.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { writeTinyGpt2Folder } from '../models/tiny-models.js';

describe('export_model, GPT-2 layout', () => {
  let t: TestClient;
  let modelId: string;
  beforeAll(async () => {
    t = await connectTestClient();
    const src = join(mkdtempSync(join(t.home, 'gpt2-')), 'tiny');
    writeTinyGpt2Folder(src, { d: 16, layers: 2, heads: 2, positions: 32, seed: 4 });
    ({ model: { id: modelId } } = await t.services.models.import(src));
  });
  afterAll(async () => t?.close());

  it('maps position_ids per batch row and the cache to Optimum names; logits equal the runtime', async () => {
    const out = await t.callOk(exportModelTool, { model_id: modelId });
    const session = await ort.InferenceSession.create(out.model_file);
    const runtime = await loadRuntimeModel(t.services.models.get(modelId).dir);
    const { arch } = runtime;
    const ids = [5, 9, 40, 33, 7, 2];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(i))), [1, ids.length]),
    };
    for (let l = 0; l < arch.num_layers; l++) {
      for (const kind of ['key', 'value']) feeds[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, arch.num_kv_heads, 0, arch.head_dim]);
    }
    expect(session.inputNames.slice(0, 3)).toEqual(['input_ids', 'attention_mask', 'position_ids']);
    const got = (await session.run(feeds)).logits.data as Float32Array;
    const want = (await forwardLogits(runtime, [ids])).logits;
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
    expect(got.length).toBe(want.length);
    expect(diff).toBeLessThan(1e-4);
    await session.release();
  });
});
