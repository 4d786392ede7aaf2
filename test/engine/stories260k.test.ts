/**
 * stories260K (llama2.c's test model), imported through the llama2.c converter: greedy generation
 * reproduces llama2.c's own expected output, and its log-likelihoods equal run.c's forward.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, loadRuntimeModel, type RuntimeModel, scoreSequences } from '../../plugins/local/engine/index.js';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { readRunCCheckpoint, runCNll } from './helpers/runc-forward.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const TINYSTORIES = new URL('../fixtures/tinystories/', import.meta.url).pathname;

/** karpathy/llama2.c test_all.py `expected_stdout`: `./run stories260K.bin -z tok512.bin -t 0.0 -n 200`. */
const EXPECTED_STDOUT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n' +
  'Lily\'s mom said, "Lily, let\'s go to the park." Lily was sad and didn\'t know what to do. She said, "I want to play with your ball, but I can\'t find it."\n' +
  'Lily was sad and didn\'t know what to do. She said, "I\'m sorry, Lily. I didn\'t know what to do."\n' +
  "Lily didn't want to help her mom, so she";

describe('stories260K through the engine', () => {
  let work: string;
  let model: RuntimeModel;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'ftm-engine-'));
    convertLlama2c({ checkpoint: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin'), out_dir: join(work, 'hf') });
    model = await loadRuntimeModel(join(work, 'hf'), { threads: 1 });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  for (const useCache of [true, false]) {
    it(`greedy 200 tokens from BOS equal llama2.c's expected_stdout byte for byte (use_cache ${useCache})`, async () => {
      const out = await generate(model, { input_ids: [1], max_tokens: 200, temperature: 0, use_cache: useCache });
      expect(out.tokens).toHaveLength(200);
      expect(out.finish_reason).toBe('length');
      expect(out.provider).toBe('cpu');
      expect(Buffer.from(out.text, 'utf8').equals(Buffer.from(EXPECTED_STDOUT, 'ascii'))).toBe(true);
    });
  }

  it('chat messages go through the tokenizer chat template (rendered, then encoded without extra specials)', async () => {
    const dir = join(work, 'hf-chat');
    cpSync(join(work, 'hf'), dir, { recursive: true });
    const configPath = join(dir, 'tokenizer_config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    writeFileSync(configPath, JSON.stringify({ ...config, chat_template: '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}' }));
    const chat = await loadRuntimeModel(dir, { threads: 2 });
    const viaMessages = await generate(chat, { messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 20 });
    const viaPrompt = await generate(chat, { prompt: 'Once upon a time', max_tokens: 20 });
    expect(viaMessages.prompt_tokens).toBe(viaPrompt.prompt_tokens);
    expect(viaMessages.text).toBe(viaPrompt.text);
  });

  it('log-likelihoods of TinyStories validation stories equal the run.c forward; mean NLL over 20 is ≈ 1.194', async () => {
    const text = readFileSync(join(TINYSTORIES, 'TinyStories-valid.head.txt'), 'utf8');
    // the fixture's first story is cut at its start: take the next 20 whole stories
    const stories = text.split('<|endoftext|>').map((s) => s.trim()).filter(Boolean).slice(1, 21);
    const rows = stories.map((s) => model.tokenizer!.encode(s).slice(0, 512));
    const ours = await scoreSequences(model, { input_ids: rows });
    // the plain-TS run.c forward is slow (~2 ms a token): compare the first 5 stories one by one
    const reference = readRunCCheckpoint(readFileSync(join(ASSETS, 'stories260K.bin')));
    for (let i = 0; i < 5; i++) {
      const ref = runCNll(reference, rows[i]!);
      expect(Math.abs(-ours.logps[i]! - ref) / ref).toBeLessThan(1e-5);
      expect(ours.tokens[i]).toBe(rows[i]!.length - 1);
    }
    const nll = -ours.logps.reduce((a, b) => a + b, 0);
    const tokens = ours.tokens.reduce((a, b) => a + b, 0);
    // FORMAT.md: a numpy run.c forward gives 1.194 nats/token on 20 validation stories
    expect(nll / tokens).toBeGreaterThan(1.15);
    expect(nll / tokens).toBeLessThan(1.25);
  });
});
