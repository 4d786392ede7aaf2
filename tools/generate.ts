import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

const MessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']).describe('Who speaks, e.g. "user".'),
  content: z.string().describe('The message text, e.g. "Tell me a story about a cat."'),
});

export const generateTool = defineTool({
  name: 'generate',
  title: 'Generate text with a local model',
  description:
    'Runs a base model (optionally with a fine-tuned LoRA adapter: job_id of a finished training job, or adapter_path of a ' +
    'PEFT folder) in-process on ONNX Runtime and returns the continuation. Give a plain prompt, or chat messages when the ' +
    'tokenizer has a chat template (see inspect_model). temperature 0 (the default) is greedy and deterministic; with ' +
    'temperature > 0 pass a seed to make the draw repeatable. Use it to try a model before and after fine-tuning.',
  input: {
    model_id: z.string().describe('Base model id from import_model or list_models, e.g. "mdl_01jq3v9x2k…".'),
    job_id: z.string().optional().describe('Use the adapter a finished training job wrote (<home>/jobs/<job_id>/output/adapter), e.g. "job_01jq…".'),
    adapter_path: z.string().optional().describe('Or a PEFT adapter folder (adapter_config.json + adapter_model.safetensors), e.g. "./adapters/pirate".'),
    prompt: z.string().optional().describe('Plain text to continue, e.g. "Once upon a time". Give prompt or messages.'),
    messages: z.array(MessageSchema).min(1).optional().describe('Chat turns rendered with the model\'s chat template, e.g. [{"role":"user","content":"Hi"}].'),
    max_tokens: z.number().int().min(1).max(4096).default(128).describe('Most new tokens to generate, e.g. 128.'),
    temperature: z.number().min(0).max(5).default(0).describe('0 = greedy; higher = more random, e.g. 0.8.'),
    top_k: z.number().int().min(0).optional().describe('Sample only among the k most likely tokens (0 = off), e.g. 40.'),
    top_p: z.number().gt(0).max(1).optional().describe('Nucleus sampling: the smallest set of tokens with this total probability, e.g. 0.9.'),
    repetition_penalty: z.number().gt(0).max(10).optional().describe('>1 discourages tokens already present (transformers semantics), e.g. 1.1.'),
    stop: z.array(z.string().min(1)).max(8).optional().describe('Stop before the first of these strings, e.g. ["\\n\\n"].'),
    seed: z.number().int().min(0).optional().describe('Seed for sampling, so the same call gives the same text, e.g. 42.'),
  },
  output: {
    text: z.string().describe('The generated continuation (without the prompt), e.g. " there was a little girl…".'),
    tokens: z.number().int().describe('New tokens generated, e.g. 128.'),
    prompt_tokens: z.number().int().describe('Tokens in the encoded prompt, e.g. 5.'),
    finish_reason: z.enum(['stop', 'length']).describe('"stop" at an end-of-sequence token or stop string, "length" at max_tokens or the context limit.'),
    provider: z.string().describe('ONNX Runtime execution provider that ran the model, e.g. "cpu".'),
    tokens_per_s: z.number().describe('Generation speed in new tokens per second, e.g. 850.5.'),
    adapter: z.string().nullable().describe('Adapter folder applied, or null for the base model.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: false, openWorldHint: false },
  async handler(args, { services, signal }) {
    const { adapterDirFor, runGenerate } = await import('../plugins/local/engine/generate-request.js');
    const record = services.models.get(args.model_id);
    const request = {
      ...args,
      model_dir: record.dir,
      home: services.workspace.root,
      adapter_path: args.adapter_path === undefined ? undefined : services.workspace.resolveUserPath(args.adapter_path, 'adapter_path'),
      signal,
    };
    const result = await runGenerate(request);
    return {
      text: result.text,
      tokens: result.tokens.length,
      prompt_tokens: result.prompt_tokens,
      finish_reason: result.finish_reason,
      provider: result.provider,
      tokens_per_s: Math.round(result.tokens_per_s * 10) / 10,
      adapter: adapterDirFor(request) ?? null,
    };
  },
  summarize: (o) => `${o.tokens} tokens (${o.finish_reason}, ${o.tokens_per_s} tok/s on ${o.provider}${o.adapter ? ', with adapter' : ''}): ${o.text}`,
});
