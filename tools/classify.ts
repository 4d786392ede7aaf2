import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

export const classifyTool = defineTool({
  name: 'classify',
  title: 'Classify texts with a local classifier',
  description:
    'Runs a classifier trained with method "classification" (job_id of the finished job, or adapter_path of its PEFT adapter, on ' +
    'its base model_id) in-process on ONNX Runtime and returns each text\'s label with the label probabilities. Use it to try a ' +
    'classifier by hand; evaluate_model scores it on a test split (accuracy, macro-F1, confusion matrix).',
  input: {
    model_id: z.string().optional().describe('Base model id the classifier was trained on (optional with job_id), or an imported classifier, e.g. "mdl_01jq3v9x2k…".'),
    job_id: z.string().optional().describe('A finished classification job, e.g. "job_01jq…" (its output/adapter is used).'),
    adapter_path: z.string().optional().describe('Or the classifier\'s PEFT adapter folder (with finetune_head.json), e.g. "./classifier/adapter".'),
    texts: z.array(z.string().min(1)).min(1).max(64).describe('Texts to classify, e.g. ["The cat sat on the mat.", "mat the on sat cat The"].'),
  },
  output: {
    labels: z.array(z.string()).describe('Every label the classifier knows, by class id, e.g. ["fluent","scrambled"].'),
    results: z
      .array(
        z.object({
          label: z.string().describe('The most likely label, e.g. "fluent".'),
          probabilities: z.record(z.string(), z.number()).describe('Softmax probability of each label, e.g. {"fluent": 0.93, "scrambled": 0.07}.'),
        }),
      )
      .describe('One result per text, in order.'),
    adapter: z.string().describe('The classifier adapter folder used (a full fine-tune: its model folder).'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, { services }) {
    const { resolveModel } = await import('../src/evaluation/model-ref.js');
    const { classifyTexts, loadHeadModel, releaseHeadModel } = await import('../plugins/local/engine/heads/model.js');
    // a LoRA job's adapter on its base; a full fine-tune's (or an imported classifier's) folder alone
    const resolved = resolveModel(services, { model_id: args.model_id, job_id: args.job_id, adapter_path: args.adapter_path });
    const model = await loadHeadModel(resolved.base_dir, resolved.adapter_dir);
    const adapter = resolved.adapter_dir ?? resolved.base_dir;
    try {
      return { labels: model.labels, results: await classifyTexts(model, args.texts), adapter };
    } finally {
      await releaseHeadModel(model);
    }
  },
  summarize: (o) => o.results.map((r) => `${r.label} (${(r.probabilities[r.label]! * 100).toFixed(1)} %)`).join(', '),
});
