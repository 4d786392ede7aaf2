import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../../src/errors.js';
import { generate, type GenerateRequest, type GenerateResult, loadRuntimeModel } from './runtime.js';

interface GenerateToolRequest
  extends Pick<GenerateRequest, 'prompt' | 'messages' | 'max_tokens' | 'temperature' | 'top_k' | 'top_p' | 'repetition_penalty' | 'stop' | 'seed'> {
  model_dir: string;
  /** Workspace root, to find `<home>/jobs/<job_id>/output/adapter/`. */
  home: string;
  job_id?: string;
  /** Already resolved against the allowed roots. */
  adapter_path?: string;
  threads?: number;
  signal?: AbortSignal;
}

/** The adapter folder a request names (a job's output, or a path), checked to be a PEFT folder. */
export function adapterDirFor(req: Pick<GenerateToolRequest, 'home' | 'job_id' | 'adapter_path'>): string | undefined {
  if (req.job_id && req.adapter_path) throw new FinetuneError('INVALID_INPUT', 'give job_id or adapter_path, not both', { details: { field: 'adapter_path' } });
  const dir = req.job_id ? join(req.home, 'jobs', req.job_id, 'output', 'adapter') : req.adapter_path;
  if (dir && !existsSync(join(dir, 'adapter_config.json'))) {
    throw new FinetuneError('NOT_FOUND', req.job_id ? `job ${req.job_id} has no finished adapter at ${dir}` : `${dir} is not a PEFT adapter folder (no adapter_config.json)`, {
      recovery: req.job_id ? 'Call monitor_training: the job must have succeeded (its output/adapter is written at the end).' : 'Pass the folder that holds adapter_config.json and adapter_model.safetensors.',
      details: { field: req.job_id ? 'job_id' : 'adapter_path', file: dir },
    });
  }
  return dir;
}

/** Runs one generate tool call on the local runtime (sessions stay cached between calls). */
export async function runGenerate(req: GenerateToolRequest): Promise<GenerateResult> {
  if ((req.prompt === undefined) === (req.messages === undefined)) {
    throw new FinetuneError('INVALID_INPUT', 'give exactly one of prompt or messages', { details: { field: 'prompt' } });
  }
  const model = await loadRuntimeModel(req.model_dir, { adapter_dir: adapterDirFor(req), threads: req.threads });
  return generate(model, {
    prompt: req.prompt,
    messages: req.messages,
    max_tokens: req.max_tokens,
    temperature: req.temperature,
    top_k: req.top_k,
    top_p: req.top_p,
    repetition_penalty: req.repetition_penalty,
    stop: req.stop,
    seed: req.seed,
    signal: req.signal,
  });
}
