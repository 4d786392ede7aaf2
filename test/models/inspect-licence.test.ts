import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { importModelTool } from '../../tools/import-model.js';
import { inspectModelTool } from '../../tools/inspect-model.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;

let work: string;
let plain: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ftm-licence-'));
  plain = join(work, 'plain');
  convertLlama2c({ checkpoint: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin'), out_dir: plain });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('inspect_model reports the licence its folder states', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('reads the model card front matter and the licence file, kept by the import; the weights are still the same model', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work] } });
    const carded = join(work, 'carded');
    cpSync(plain, carded, { recursive: true });
    // As the Hub's Qwen2.5-3B-Instruct card states a non-SPDX licence.
    writeFileSync(join(carded, 'README.md'), '---\nlicense: other\nlicense_name: qwen-research\nlicense_link: https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE\nlanguage:\n- en\n---\n\n# A card\n');
    writeFileSync(join(carded, 'LICENSE'), 'Qwen RESEARCH LICENSE AGREEMENT\n');
    const model = await t.callOk(importModelTool, { source: carded });
    const info = await t.callOk(inspectModelTool, { model_id: model.model_id });
    expect(info.licence).toEqual({
      id: 'other',
      name: 'qwen-research',
      link: 'https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE',
      found_in: ['README.md front matter', 'LICENSE'],
    });
    expect(info.files.map((f) => f.name)).toContain('README.md');
    // A card is not part of the model's identity: the plain folder is the same model.
    expect((await t.callOk(importModelTool, { source: plain })).model_id).toBe(model.model_id);
  });

  it('says null when the folder states no licence, and skips front matter that does not parse', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work] } });
    const broken = join(work, 'broken-card');
    cpSync(plain, broken, { recursive: true });
    writeFileSync(join(broken, 'README.md'), '---\nlicense: [unclosed\n---\n');
    // A different tokenizer_config makes it another model, so the import records it.
    writeFileSync(join(broken, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 512, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }));
    const model = await t.callOk(importModelTool, { source: broken });
    expect((await t.callOk(inspectModelTool, { model_id: model.model_id })).licence).toBeNull();
    const summary = (await t.call('inspect_model', { model_id: model.model_id })).content[0];
    expect(summary).toMatchObject({ type: 'text', text: expect.stringMatching(/licence: not stated in the folder/) });
  });
});
