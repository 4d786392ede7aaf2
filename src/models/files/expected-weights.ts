import { FinetuneError } from '../../errors.js';
import type { ArchConfig } from './arch.js';

/** The dtypes the runtime decodes (safetensors.ts upcasts them to f32); any other tensor fails the load. */
const LOADABLE_DTYPES: readonly string[] = ['F32', 'F16', 'BF16'];

/**
 * The tensors the graph builder (model-graph.ts) reads for this architecture, with the shape each
 * must have: Hugging Face names, Llama [out, in] linears, GPT-2 Conv1D [in, out]. GPT-2 names are
 * given without `transformer.`, BERT-family names without `bert.` / `roberta.` (a bare BertModel
 * drops the prefix that a …ForMaskedLM checkpoint has; both spellings are accepted).
 */
function expectedWeights(arch: ArchConfig, hasLmHead: boolean): Map<string, number[]> {
  const D = arch.hidden_size;
  const I = arch.intermediate_size;
  const V = arch.vocab_size;
  const out = new Map<string, number[]>();
  if (arch.family === 'llama') {
    const q = arch.num_heads * arch.head_dim;
    const kv = arch.num_kv_heads * arch.head_dim;
    out.set('model.embed_tokens.weight', [V, D]).set('model.norm.weight', [D]);
    if (!arch.tie_word_embeddings) out.set('lm_head.weight', [V, D]);
    for (let i = 0; i < arch.num_layers; i++) {
      const p = `model.layers.${i}`;
      out.set(`${p}.input_layernorm.weight`, [D]).set(`${p}.post_attention_layernorm.weight`, [D]);
      out.set(`${p}.self_attn.q_proj.weight`, [q, D]).set(`${p}.self_attn.k_proj.weight`, [kv, D]).set(`${p}.self_attn.v_proj.weight`, [kv, D]);
      out.set(`${p}.self_attn.o_proj.weight`, [D, q]);
      if (arch.attention_bias) out.set(`${p}.self_attn.q_proj.bias`, [q]).set(`${p}.self_attn.k_proj.bias`, [kv]).set(`${p}.self_attn.v_proj.bias`, [kv]);
      out.set(`${p}.mlp.gate_proj.weight`, [I, D]).set(`${p}.mlp.up_proj.weight`, [I, D]).set(`${p}.mlp.down_proj.weight`, [D, I]);
      if (arch.mlp_bias) out.set(`${p}.mlp.gate_proj.bias`, [I]).set(`${p}.mlp.up_proj.bias`, [I]).set(`${p}.mlp.down_proj.bias`, [D]);
    }
    return out;
  }
  if (arch.family === 'bert') {
    out.set('embeddings.word_embeddings.weight', [V, D]).set('embeddings.position_embeddings.weight', [arch.max_positions, D]);
    out.set('embeddings.token_type_embeddings.weight', [-1, D]).set('embeddings.LayerNorm.weight', [D]).set('embeddings.LayerNorm.bias', [D]);
    for (let i = 0; i < arch.num_layers; i++) {
      const p = `encoder.layer.${i}`;
      for (const m of ['query', 'key', 'value']) out.set(`${p}.attention.self.${m}.weight`, [D, D]).set(`${p}.attention.self.${m}.bias`, [D]);
      out.set(`${p}.attention.output.dense.weight`, [D, D]).set(`${p}.attention.output.dense.bias`, [D]);
      out.set(`${p}.intermediate.dense.weight`, [I, D]).set(`${p}.intermediate.dense.bias`, [I]);
      out.set(`${p}.output.dense.weight`, [D, I]).set(`${p}.output.dense.bias`, [D]);
      for (const norm of ['attention.output.LayerNorm', 'output.LayerNorm']) out.set(`${p}.${norm}.weight`, [D]).set(`${p}.${norm}.bias`, [D]);
    }
    return out;
  }
  out.set('wte.weight', [V, D]).set('wpe.weight', [arch.max_positions, D]).set('ln_f.weight', [D]).set('ln_f.bias', [D]);
  if (!arch.tie_word_embeddings && hasLmHead) out.set('lm_head.weight', [V, D]);
  for (let i = 0; i < arch.num_layers; i++) {
    const p = `h.${i}`;
    for (const norm of ['ln_1', 'ln_2']) out.set(`${p}.${norm}.weight`, [D]).set(`${p}.${norm}.bias`, [D]);
    out.set(`${p}.attn.c_attn.weight`, [D, 3 * D]).set(`${p}.attn.c_attn.bias`, [3 * D]);
    out.set(`${p}.attn.c_proj.weight`, [D, D]).set(`${p}.attn.c_proj.bias`, [D]);
    out.set(`${p}.mlp.c_fc.weight`, [D, I]).set(`${p}.mlp.c_fc.bias`, [I]);
    out.set(`${p}.mlp.c_proj.weight`, [I, D]).set(`${p}.mlp.c_proj.bias`, [D]);
  }
  return out;
}

/** The prefixes a family's checkpoints may put before the names of expectedWeights. */
export const WEIGHT_PREFIXES: Record<ArchConfig['family'], readonly string[]> = { llama: [''], gpt2: ['', 'transformer.'], bert: ['', 'bert.', 'roberta.'] };

/** GPT-2 activations the graph computes: exact gelu, and the tanh approximation under its several names. */
const GPT2_ACTIVATIONS = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'];

/**
 * Refuses, from config.json and the safetensors headers alone, a model the runtime could never load
 * or would run as garbage: an activation or odd rotary width the graph does not compute, a dtype it
 * does not decode, a tensor the graph needs that is missing, or one whose shape disagrees with
 * config.json. `file` names the weights file in the messages.
 */
export function checkLoadable(arch: ArchConfig, shapes: ReadonlyMap<string, { dtype: string; shape: number[] }>, file: string): void {
  if (arch.family === 'gpt2' && !GPT2_ACTIVATIONS.includes(arch.hidden_act)) {
    throw new FinetuneError('MODEL_UNSUPPORTED', `activation_function "${arch.hidden_act}" is not supported for gpt2 (${GPT2_ACTIVATIONS.join(', ')}).`, {
      details: { file: 'config.json', field: 'activation_function' },
    });
  }
  if (arch.family === 'llama' && (!Number.isInteger(arch.head_dim) || arch.head_dim % 2 !== 0)) {
    throw new FinetuneError('MODEL_UNSUPPORTED', `head_dim ${arch.head_dim} is not an even whole number; rotary embeddings rotate pairs of dimensions.`, {
      details: { file: 'config.json', field: 'head_dim' },
    });
  }
  for (const [name, { dtype }] of shapes) {
    if (!LOADABLE_DTYPES.includes(dtype)) {
      throw new FinetuneError('MODEL_UNSUPPORTED', `Tensor '${name}' in ${file} has dtype ${dtype}; the runtime reads ${LOADABLE_DTYPES.join(', ')}.`, {
        recovery: 'Convert the checkpoint to float32, float16 or bfloat16 weights (unquantised) and import it again.',
        details: { file, field: name },
      });
    }
  }
  // A config that names more layers than the file has tensors is refused before listing them all.
  const perLayer = arch.family === 'llama' ? 9 : arch.family === 'gpt2' ? 12 : 16;
  if (arch.num_layers * perLayer > shapes.size) {
    throw mismatch(file, `config.json declares ${arch.num_layers} layers but ${file} holds only ${shapes.size} tensors`, 'num_hidden_layers');
  }
  const find = (name: string) => WEIGHT_PREFIXES[arch.family].map((prefix) => shapes.get(prefix + name)).find(Boolean);
  for (const [name, shape] of expectedWeights(arch, find('lm_head.weight') !== undefined)) {
    const found = find(name);
    if (!found) throw mismatch(file, `the weights lack ${name}, which a ${arch.model_type} model with this config.json needs`, name);
    // -1: any size (BERT's token type vocabulary: 2 for BERT, 1 for RoBERTa)
    if (found.shape.length !== shape.length || found.shape.some((d, i) => shape[i] !== -1 && d !== shape[i])) {
      throw mismatch(file, `${name} has shape [${found.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`, name);
    }
  }
}

function mismatch(file: string, what: string, field: string): FinetuneError {
  return new FinetuneError('FILE_ERROR', `The model cannot load: ${what}.`, {
    recovery: 'Check that config.json and the safetensors files belong to the same model (same sizes, layers and heads), then import again.',
    details: { file, field },
  });
}
