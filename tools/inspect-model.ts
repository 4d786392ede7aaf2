import { z } from 'zod';
import { ModelRecordShape, recordOutput } from '../src/models/tool-schemas.js';
import { defineTool } from '../src/server/tool.js';

const id = z.number().int().nullable();

export const inspectModelTool = defineTool({
  name: 'inspect_model',
  title: 'Inspect a base model',
  description:
    'Describes one imported base model: architecture and the normalised config (layers, heads, hidden size, vocab, RoPE), ' +
    'parameter count, context length, weight dtypes, tokenizer (vocab size, BOS/EOS/PAD tokens and ids, whether a chat ' +
    'template exists, so chat messages can be used), the licence its folder states (model card front matter, config.json, LICENSE file) and the files of its folder. Use it before generate or training to ' +
    'check that the model fits the task; list_models gives the ids.',
  input: {
    model_id: z.string().describe('Base model id from import_model or list_models, e.g. "mdl_01jq3v9x2k…".'),
  },
  output: {
    ...ModelRecordShape,
    config: z
      .object({
        hidden_size: z.number().int().describe('Width of the residual stream, e.g. 64.'),
        num_hidden_layers: z.number().int().describe('Transformer blocks, e.g. 5.'),
        num_attention_heads: z.number().int().describe('Query heads, e.g. 8.'),
        num_key_value_heads: z.number().int().describe('Key/value heads (grouped-query attention when fewer than query heads), e.g. 4.'),
        head_dim: z.number().int().describe('Width of one head, e.g. 8.'),
        intermediate_size: z.number().int().describe('MLP width, e.g. 172.'),
        vocab_size: z.number().int().describe('Rows of the embedding, e.g. 512.'),
        rope_theta: z.number().nullable().describe('RoPE base, e.g. 10000; null for learned positions (GPT-2).'),
        rope_scaling: z.string().nullable().describe('RoPE scaling type (linear, dynamic, llama3, yarn) or null.'),
        tie_word_embeddings: z.boolean().describe('Output head shares the embedding matrix.'),
        attention_bias: z.boolean().describe('q/k/v projections have biases (Qwen2, GPT-2).'),
        hidden_act: z.string().describe('Activation, e.g. "silu" or "gelu_new".'),
      })
      .describe('The normalised config.json.'),
    weights: z
      .object({
        tensors: z.number().int().describe('Number of tensors in the safetensors file(s), e.g. 47.'),
        dtypes: z.array(z.string()).describe('Stored dtypes, e.g. ["F32"] or ["BF16"] (upcast to f32 on CPU).'),
      })
      .describe('What the weight files hold.'),
    tokenizer: z
      .object({
        vocab_size: z.number().int().describe('Tokens in the vocabulary, added tokens included, e.g. 512.'),
        bos_token: z.string().nullable().describe('Beginning-of-sequence token, e.g. "<s>".'),
        bos_token_id: id.describe('Its id, e.g. 1.'),
        eos_token: z.string().nullable().describe('End-of-sequence token, e.g. "</s>".'),
        eos_token_id: id.describe('Its id, e.g. 2.'),
        pad_token: z.string().nullable().describe('Padding token or null.'),
        pad_token_id: id.describe('Its id or null.'),
        has_chat_template: z.boolean().describe('Whether tokenizer_config.json has a chat template (chat messages work).'),
      })
      .describe('The tokenizer (tokenizer.json + tokenizer_config.json).'),
    files: z.array(z.object({ name: z.string().describe('File name, e.g. "config.json".'), bytes: z.number().int().describe('Size in bytes.') })).describe('Files of the model folder.'),
    licence: z
      .object({
        id: z.string().nullable().describe('Licence id as stated (`license:` of the card or config.json), e.g. "apache-2.0", "llama3.1", "other".'),
        name: z.string().nullable().describe('`license_name:` of the card, e.g. "qwen-research"; null when not stated.'),
        link: z.string().nullable().describe('`license_link:` of the card, e.g. "LICENSE" or a URL; null when not stated.'),
        found_in: z.array(z.string()).describe('Where the folder states it, e.g. ["README.md front matter", "LICENSE"].'),
      })
      .nullable()
      .describe('The licence the model folder states (imports keep README.md and LICENSE files); null when it states none: check the model card before using it commercially.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler({ model_id }, { services }) {
    const record = services.models.get(model_id);
    const { inspectModel } = await import('../src/models/inspect.js');
    const info = inspectModel(record);
    const c = info.config;
    return {
      ...recordOutput(record),
      config: {
        hidden_size: c.hidden_size,
        num_hidden_layers: c.num_hidden_layers,
        num_attention_heads: c.num_attention_heads,
        num_key_value_heads: c.num_key_value_heads,
        head_dim: c.head_dim,
        intermediate_size: c.intermediate_size,
        vocab_size: c.vocab_size,
        rope_theta: c.rope_theta,
        rope_scaling: c.rope_scaling?.type ?? null,
        tie_word_embeddings: c.tie_word_embeddings,
        attention_bias: c.attention_bias,
        hidden_act: c.hidden_act,
      },
      weights: info.weights,
      tokenizer: info.tokenizer,
      files: info.files,
      licence: info.licence,
    };
  },
  summarize: (o) =>
    `${o.model_id} (${o.name}): ${o.model_type}, ${o.config.num_hidden_layers} layers, d=${o.config.hidden_size}, ` +
    `${o.parameters.toLocaleString('en-US')} parameters, context ${o.context_length}, vocab ${o.tokenizer.vocab_size}, ` +
    `chat template: ${o.tokenizer.has_chat_template ? 'yes' : 'no'}, licence: ${o.licence ? (o.licence.id ?? o.licence.name ?? o.licence.found_in.join(', ')) : 'not stated in the folder'}.`,
});
