import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FinetuneError } from '../../src/errors.js';
import { loadModelFolder } from '../../src/models/files/load-model.js';
import { importModelTool } from '../../tools/import-model.js';
import { connectTestClient } from '../helpers/mcp.js';
import { writeTinyGpt2Folder } from './tiny-models.js';

const work = mkdtempSync(join(tmpdir(), 'ftm-load-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('loadModelFolder on a GPT-2 layout', () => {
  it('keeps Conv1D [in, out] weights under their Hugging Face names and loads the byte-level tokenizer', async () => {
    const dir = join(work, 'gpt2');
    writeTinyGpt2Folder(dir, { d: 16, layers: 2, heads: 4 });
    const model = await loadModelFolder(dir);
    expect(model.config).toMatchObject({ architecture: 'gpt2', hidden_size: 16, num_hidden_layers: 2, head_dim: 4, intermediate_size: 64, max_position_embeddings: 32 });
    expect(model.weights.get('h.1.attn.c_attn.weight')!.shape).toEqual([16, 48]);
    expect(model.weights.get('h.0.mlp.c_proj.weight')!.shape).toEqual([64, 16]);
    expect(model.raw_config.n_embd).toBe(16);
    // Byte-level BPE: "Ġt" + "he" merge into one token; decoding gives the text back.
    const ids = model.tokenizer.encode(' the thin', { add_special_tokens: false });
    expect(ids.map((id) => model.tokenizer.idToToken(id))).toEqual(['Ġthe', 'Ġt', 'h', 'in']);
    expect(model.tokenizer.decode(ids)).toBe(' the thin');
    expect(model.tokenizer.eos_token_id).toBe(model.config.vocab_size - 1);
    expect(await loadModelFolder(dir)).toBe(model); // cached per folder
  });

  it('refuses a folder whose weights do not match config.json', async () => {
    const dir = join(work, 'mismatch');
    writeTinyGpt2Folder(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_embd: 16, n_layer: 2, n_head: 4, vocab_size: 999 }));
    await expect(loadModelFolder(dir)).rejects.toThrow(FinetuneError);
    await expect(loadModelFolder(dir)).rejects.toThrow(/does not match config.json/);
  });

  it('imports a GPT-2 folder as architecture gpt2 with its parameter count', async () => {
    const dir = join(work, 'gpt2-import');
    writeTinyGpt2Folder(dir, { d: 16, layers: 2, heads: 4, positions: 32 });
    const t = await connectTestClient({ config: { allowed_roots: [work] } });
    try {
      const m = await t.callOk(importModelTool, { source: dir });
      const vocab = 256 + 4 + 1;
      const d = 16;
      // ln_1, c_attn, attn.c_proj, ln_2, c_fc, mlp.c_proj (weights + biases)
      const perLayer = 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * d + (d * 4 * d + 4 * d) + (4 * d * d + d);
      expect(m).toMatchObject({ architecture: 'gpt2', model_type: 'gpt2', context_length: 32 });
      expect(m.parameters).toBe(vocab * d + 32 * d + 2 * d + 2 * perLayer); // wte, wpe, ln_f, layers (tied head)
    } finally {
      await t.close();
    }
  });
});
