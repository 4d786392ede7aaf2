import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { toFinetuneError } from '../../src/errors.js';
import { recommendBaseModelTool } from '../../tools/recommend-base-model.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';

let t: TestClient | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const text = (r: { content: unknown }) => (r.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');

describe('recommend_base_model', () => {
  it('ranks only models that satisfy every constraint, each fact with its source, and says why the top one wins', async () => {
    t = await connectTestClient();
    const out = await t.callOk(recommendBaseModelTool, { task: 'chat', languages: ['de'], licence: 'commercial', max_params: 8e9, hardware: '1x24GB', limit: 50 });
    console.log(JSON.stringify(out, null, 1).slice(0, 6000));
    expect(out.candidates.length).toBeGreaterThan(3);
    expect(out.catalogue.entries).toBeGreaterThanOrEqual(25);
  });
});
