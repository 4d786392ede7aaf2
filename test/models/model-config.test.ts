import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FinetuneError } from '../../src/errors.js';
import { parseModelConfig } from '../../src/models/files/model-config.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/model-configs/${name}`, import.meta.url), 'utf8'));

describe('parseModelConfig on published config.json files', () => {
  it('TinyLlama (llama, GQA, untied head)', () => {
    expect(parseModelConfig(fixture('tinyllama-1.1b-chat.json'))).toEqual({
      model_type: 'llama', architecture: 'llama', hidden_size: 2048, num_hidden_layers: 22, num_attention_heads: 32,
      num_key_value_heads: 4, head_dim: 64, intermediate_size: 5632, vocab_size: 32000, max_position_embeddings: 2048,
      rms_norm_eps: 1e-5, layer_norm_eps: null, rope_theta: 10000, rope_scaling: null, tie_word_embeddings: false,
      attention_bias: false, mlp_bias: false, hidden_act: 'silu', bos_token_id: 1, eos_token_id: 2,
    });
  });

  it('Qwen2 has q/k/v bias and a tied head', () => {
    const c = parseModelConfig(fixture('qwen2-0.5b.json'));
    expect(c).toMatchObject({ model_type: 'qwen2', architecture: 'llama', attention_bias: true, tie_word_embeddings: true, head_dim: 64, num_key_value_heads: 2, rope_theta: 1e6, rms_norm_eps: 1e-6 });
  });

  it('Llama 3.2 keeps its llama3 rope scaling and explicit head_dim', () => {
    const c = parseModelConfig(fixture('llama-3.2-1b.json'));
    expect(c.rope_scaling).toEqual({ type: 'llama3', factor: 32, high_freq_factor: 4, low_freq_factor: 1, original_max_position_embeddings: 8192 });
    expect(c.head_dim).toBe(64);
    expect(c.eos_token_id).toBe(128001);
  });

  it('GPT-2 maps n_embd, n_layer, n_head, n_positions, layer_norm_epsilon, activation_function', () => {
    expect(parseModelConfig(fixture('gpt2.json'))).toMatchObject({
      model_type: 'gpt2', architecture: 'gpt2', hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, num_key_value_heads: 12,
      head_dim: 64, intermediate_size: 3072, vocab_size: 50257, max_position_embeddings: 1024, layer_norm_eps: 1e-5, rms_norm_eps: null,
      rope_theta: null, hidden_act: 'gelu_new', tie_word_embeddings: true, attention_bias: true,
    });
  });

  it('a BERT-shaped config (bert-base sizes) is the bert architecture: post-LN eps, absolute positions; relative positions are refused', () => {
    const bert = { architectures: ['BertForMaskedLM'], model_type: 'bert', hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, vocab_size: 30522, max_position_embeddings: 512, layer_norm_eps: 1e-12, hidden_act: 'gelu', pad_token_id: 0, type_vocab_size: 2, position_embedding_type: 'absolute' };
    expect(parseModelConfig(bert)).toMatchObject({ model_type: 'bert', architecture: 'bert', head_dim: 64, layer_norm_eps: 1e-12, rms_norm_eps: null, rope_theta: null, hidden_act: 'gelu' });
    expect(parseModelConfig({ ...bert, model_type: 'xlm-roberta', vocab_size: 250002, max_position_embeddings: 514 })).toMatchObject({ architecture: 'bert', max_position_embeddings: 514 });
    expect(() => parseModelConfig({ ...bert, position_embedding_type: 'relative_key' })).toThrow(/relative_key.*absolute only/);
  });

  it('an unsupported model_type is MODEL_UNSUPPORTED naming the supported ones; bad fields are CONFIG_INVALID', () => {
    const attempt = () => parseModelConfig({ ...fixture('gpt2.json'), model_type: 't5' });
    expect(attempt).toThrow(FinetuneError);
    try {
      attempt();
    } catch (error) {
      expect((error as FinetuneError).code).toBe('MODEL_UNSUPPORTED');
      expect((error as FinetuneError).message).toMatch(/'t5'.*llama, mistral, qwen2, gpt2, bert, roberta, xlm-roberta/);
    }
    const missing = { ...fixture('tinyllama-1.1b-chat.json') };
    delete missing.hidden_size;
    expect(() => parseModelConfig(missing)).toThrow(/'hidden_size' is missing/);
    expect(() => parseModelConfig({ ...fixture('tinyllama-1.1b-chat.json'), num_key_value_heads: 5 })).toThrow(/must divide/);
  });
});
