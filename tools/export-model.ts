import { z } from 'zod';
import { EXPORT_FORMATS } from '../src/models/tool-schemas.js';
import { defineTool } from '../src/server/tool.js';

const TensorSchema = z.object({
  name: z.string().describe('Tensor name, e.g. "past_key_values.0.key".'),
  dtype: z.string().describe('Element type, e.g. "int64" or "float32".'),
  shape: z.array(z.string()).describe('Dims; names are symbolic, e.g. ["batch_size","sequence_length"].'),
});

export const exportModelTool = defineTool({
  name: 'export_model',
  title: 'Export a model (ONNX, GGUF, Ollama, Hugging Face, vLLM)',
  description:
    'Exports a model — a registered version, a job\'s adapter, an adapter folder on a base model, or a base model — into a new folder. ' +
    'format "onnx" (default): a standalone ONNX decoder with the adapter merged, Optimum input/output names, the transformers.js layout. ' +
    'format "gguf": one GGUF file for llama.cpp / LM Studio (Llama, Qwen2, GPT-2 families), adapter merged, tokenizer and chat template in ' +
    'its metadata; type f16 (default), f32 or q8_0. format "ollama": the GGUF plus a Modelfile (FROM, TEMPLATE when the chat format is ' +
    'recognised, stop PARAMETERs, SYSTEM from `system`). format "hf": config, tokenizer and model.safetensors (sharded past max_shard_mb) ' +
    'with the adapter merged, or the adapter alone (merged: false), README.md the model card. format "vllm": the adapter plus the exact ' +
    '`vllm serve … --enable-lora --lora-modules` command and a request example. Next: load it in llama.cpp, `ollama create`, or ship the folder.',
  input: {
    version: z.string().optional().describe('Registered version, "name@1.0.0" or "mv_01j…".'),
    job_id: z.string().optional().describe("Or a training job's adapter on its base, e.g. \"job_01j…\"."),
    adapter_path: z.string().optional().describe('Or a PEFT adapter folder on model_id, e.g. "./adapter".'),
    model_id: z.string().optional().describe('Base model id, e.g. "mdl_01j…" (alone: export the base).'),
    output_path: z.string().optional().describe('New folder to write (under an allowed root), e.g. "./export/stories-gguf"; default in the workspace.'),
    format: z.enum(EXPORT_FORMATS).default('onnx').describe('What to write: "onnx" (default), "gguf" (llama.cpp), "ollama", "hf" (safetensors folder) or "vllm" (adapter + serve command).'),
    type: z.string().optional().describe('Weight type for gguf: "f16" (default), "f32" or "q8_0" (8-bit blocks of 32). Other formats write f32.'),
    fallback: z
      .enum(['error', 'f16', 'f32'])
      .default('error')
      .describe('For type q8_0: a matrix whose rows are not a multiple of 32 values stops the export ("error", default) or is stored as "f16" or "f32", as llama.cpp\'s converter does.'),
    system: z.string().optional().describe('Ollama only: the SYSTEM prompt of the Modelfile, e.g. "You are a pirate storyteller."'),
    merged: z.boolean().default(true).describe('hf only: true (default) writes the full model with the adapter merged; false writes the PEFT adapter alone.'),
    max_shard_mb: z.number().positive().default(5000).describe('hf only: shard model.safetensors past this many MB (10^6 bytes), with model.safetensors.index.json, e.g. 5000 as transformers does.'),
    external_data: z.enum(['auto', 'always', 'never']).default('auto').describe('ONNX only: weights in a separate model.onnx_data, "auto" past 2 GB, "always" or "never".'),
  },
  output: {
    path: z.string().describe('Export folder (absolute).'),
    format: z.enum(EXPORT_FORMATS).describe('The format written, e.g. "gguf".'),
    model_file: z.string().describe('The main file (absolute), e.g. ".../onnx/model.onnx" or ".../model-q8_0.gguf".'),
    model: z
      .object({
        label: z.string().describe('What was exported, e.g. "stories-bot@1.0.0".'),
        base_model_id: z.string().describe('Base model id.'),
        adapter_dir: z.string().nullable().describe('Adapter merged in, or null.'),
        job_id: z.string().nullable().describe('Job of the adapter, if any.'),
        version_id: z.string().nullable().describe('Registered version, if any.'),
      })
      .describe('The exported model.'),
    external_data: z.boolean().optional().describe('ONNX: whether weights are in onnx/model.onnx_data.'),
    opset: z.number().optional().describe('ONNX opset, e.g. 17.'),
    inputs: z.array(TensorSchema).optional().describe('ONNX graph inputs in order.'),
    outputs: z.array(TensorSchema).optional().describe('ONNX graph outputs in order.'),
    gguf: z
      .object({
        architecture: z.string().describe('llama.cpp architecture, e.g. "llama", "qwen2", "gpt2".'),
        type: z.string().describe('Requested weight type, e.g. "q8_0".'),
        tensor_types: z.record(z.string(), z.number()).describe('Tensors per ggml type, e.g. {"q8_0": 30, "f16": 5, "f32": 11} (norms and biases stay f32).'),
        fallbacks: z.array(z.string()).describe('Matrices q8_0 could not hold, stored as the fallback type, e.g. ["blk.0.ffn_down.weight"].'),
        chat_template: z.boolean().describe('Whether tokenizer.chat_template is in the metadata.'),
      })
      .optional()
      .describe('GGUF details (format gguf or ollama).'),
    ollama: z
      .object({
        name: z.string().describe('Model name for ollama create, e.g. "stories-bot:1.0.0".'),
        template: z.string().nullable().describe('Chat format written as TEMPLATE, e.g. "ChatML"; null when none was written (see note).'),
        stop: z.array(z.string()).describe('PARAMETER stop values, e.g. ["<|im_start|>", "<|im_end|>"].'),
        note: z.string().describe('What the Modelfile does about the chat template, and why.'),
        create_command: z.string().describe('Run in the export folder, e.g. "ollama create stories-bot:1.0.0 -f Modelfile".'),
      })
      .optional()
      .describe('Ollama details (format ollama).'),
    hf: z
      .object({
        merged: z.boolean().describe('Whether the folder holds the merged model (true) or the adapter alone.'),
        shards: z.number().describe('Number of model safetensors files, e.g. 1 or 3 (0 for an adapter alone).'),
      })
      .optional()
      .describe('Hugging Face folder details (format hf).'),
    vllm: z
      .object({
        lora_name: z.string().describe('The LoRA module name requests use as "model", e.g. "stories-bot-1.0.0".'),
        base_model: z.string().describe('What vLLM loads as the base: a Hub repo id or a local folder.'),
        serve_command: z.string().describe('The exact command, e.g. "vllm serve org/base --enable-lora --lora-modules stories-bot-1.0.0=/abs/export/adapter".'),
        request_example: z.string().describe('A curl request to the served LoRA on localhost:8000.'),
      })
      .optional()
      .describe('vLLM details (format vllm).'),
    files: z.array(z.object({ name: z.string().describe('Path in the folder, e.g. "onnx/model.onnx".'), bytes: z.number().describe('Size in bytes.') })).describe('Files written.'),
    seconds: z.number().describe('Wall time of the export.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    // Loaded on call, as every handler's code: ONNX is the local plugin's exporter; the other formats are file writers in src/models.
    const { exportModel } = await import('../src/models/export.js');
    return exportModel(services, args);
  },
  summarize: (o) => {
    const files = o.files.map((f) => `${f.name} ${f.bytes} B`).join(', ');
    if (o.vllm) return `Exported ${o.model.label} for vLLM to ${o.path}. Serve: ${o.vllm.serve_command}`;
    if (o.hf) return `Exported ${o.model.label} as a Hugging Face folder (${o.hf.merged ? `merged, ${o.hf.shards} shard(s)` : 'adapter alone'}) to ${o.path} (${files})`;
    if (o.ollama) return `Exported ${o.model.label} for Ollama to ${o.path} (${files}). ${o.ollama.note} Next: cd ${o.path} && ${o.ollama.create_command}`;
    if (o.gguf) return `Exported ${o.model.label} as GGUF (${o.gguf.architecture}, ${o.gguf.type}) to ${o.path} (${files})${o.gguf.fallbacks.length ? `; kept unquantized: ${o.gguf.fallbacks.join(', ')}` : ''}`;
    return `Exported ${o.model.label} to ${o.path} (${files}); inputs ${(o.inputs ?? []).map((i) => i.name).slice(0, 4).join(', ')}…`;
  },
});
