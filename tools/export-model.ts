import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

const TensorSchema = z.object({
  name: z.string().describe('Tensor name, e.g. "past_key_values.0.key".'),
  dtype: z.string().describe('Element type, e.g. "int64" or "float32".'),
  shape: z.array(z.string()).describe('Dims; names are symbolic, e.g. ["batch_size","sequence_length"].'),
});

export const exportModelTool = defineTool({
  name: 'export_model',
  title: 'Export a model to ONNX',
  description:
    'Exports a model — a registered version, a job\'s adapter, an adapter folder on a base model, or a base model — as a standalone ' +
    'ONNX decoder with the adapter merged, using the names Optimum-exported decoders use (input_ids, attention_mask, position_ids, ' +
    'past_key_values.N.key/value → logits, present.N.key/value), in the folder layout transformers.js loads (config and tokenizer ' +
    'at the top, onnx/model.onnx). Weights go to onnx/model.onnx_data past 2 GB. Next: ship the folder or push it to a model store.',
  input: {
    version: z.string().optional().describe('Registered version, "name@1.0.0" or "mv_01j…".'),
    job_id: z.string().optional().describe("Or a training job's adapter on its base, e.g. \"job_01j…\"."),
    adapter_path: z.string().optional().describe('Or a PEFT adapter folder on model_id, e.g. "./adapter".'),
    model_id: z.string().optional().describe('Base model id, e.g. "mdl_01j…" (alone: export the base).'),
    output_path: z.string().optional().describe('New folder to write (under an allowed root), e.g. "./export/stories-onnx"; default in the workspace.'),
    external_data: z.enum(['auto', 'always', 'never']).default('auto').describe('Weights in a separate model.onnx_data: "auto" past 2 GB, "always" or "never".'),
  },
  output: {
    path: z.string().describe('Export folder (absolute).'),
    model_file: z.string().describe('The ONNX graph file (absolute), e.g. ".../onnx/model.onnx".'),
    model: z
      .object({
        label: z.string().describe('What was exported, e.g. "stories-bot@1.0.0".'),
        base_model_id: z.string().describe('Base model id.'),
        adapter_dir: z.string().nullable().describe('Adapter merged in, or null.'),
        job_id: z.string().nullable().describe('Job of the adapter, if any.'),
        version_id: z.string().nullable().describe('Registered version, if any.'),
      })
      .describe('The exported model.'),
    external_data: z.boolean().describe('Whether weights are in onnx/model.onnx_data.'),
    opset: z.number().describe('ONNX opset, e.g. 17.'),
    inputs: z.array(TensorSchema).describe('Graph inputs in order.'),
    outputs: z.array(TensorSchema).describe('Graph outputs in order.'),
    files: z.array(z.object({ name: z.string().describe('Path in the folder, e.g. "onnx/model.onnx".'), bytes: z.number().describe('Size in bytes.') })).describe('Files written.'),
    seconds: z.number().describe('Wall time of the export.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    // Loaded on call, as every handler's code: the exporter itself is a plugin's (the local plugin writes ONNX).
    const { exportModel } = await import('../src/models/export.js');
    return exportModel(services, args);
  },
  summarize: (o) => `Exported ${o.model.label} to ${o.path} (${o.files.map((f) => `${f.name} ${f.bytes} B`).join(', ')}); inputs ${o.inputs.map((i) => i.name).slice(0, 4).join(', ')}…`,
});
