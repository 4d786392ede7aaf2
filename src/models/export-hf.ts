import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedModel } from '../evaluation/model-ref.js';
import { FinetuneError } from '../errors.js';
import { modelCardFor } from '../registry/card-service.js';
import { registryOf } from '../registry/index.js';
import type { Services } from '../services.js';
import { writeFileAtomic } from '../workspace/atomic-write.js';
import { filesIn } from '../workspace/folder-files.js';
import { archFromConfig } from './files/arch.js';
import { readHeadInfo, writeHeadModelFolder } from './files/head-folder.js';
import { loadModelFolder } from './files/load-model.js';
import { ADAPTER_WEIGHTS_FILE, mergeAdapterFolder, readPeftAdapter, writeModelFolder } from './files/peft.js';
import { loadTokenizer } from './files/tokenizer.js';

/**
 * The Hugging Face and vLLM exports: a merged safetensors folder (or the PEFT adapter alone) with
 * the version's model card as README.md, and the adapter beside the vllm serve command that loads it.
 */

const ADAPTER_FILES = ['adapter_config.json', ADAPTER_WEIGHTS_FILE];

/** README.md: the registry's model card for a version; for anything else, what was exported and from what. */
function readme(services: Services, resolved: ResolvedModel): string {
  if (resolved.version_id) {
    const version = registryOf(services).get({ version_id: resolved.version_id });
    return modelCardFor(services, { name: version.name, version: version.version }).markdown;
  }
  const base = services.models.get(resolved.base_model_id);
  const lines = [
    `# ${resolved.label}`,
    '',
    `- Base model: ${base.name} (${base.id}, ${base.source_kind} ${base.source})`,
    `- Adapter: ${resolved.adapter_dir ?? 'none (the base model)'}`,
    ...(resolved.job_id ? [`- Training job: ${resolved.job_id}`] : []),
    '',
    'Not a registered version, so there is no model card with evaluations and lineage: register it (register_model) and export the version for one.',
  ];
  return `${lines.join('\n')}\n`;
}

function copyAdapter(resolved: ResolvedModel, dir: string, field: string, recovery: string): string[] {
  if (!resolved.adapter_dir) {
    throw new FinetuneError('INVALID_INPUT', `${resolved.label} is a base model: there is no adapter to export alone.`, { recovery, details: { field } });
  }
  mkdirSync(dir, { recursive: true });
  return ADAPTER_FILES.filter((file) => existsSync(join(resolved.adapter_dir!, file))).map((file) => {
    copyFileSync(join(resolved.adapter_dir!, file), join(dir, file));
    return file;
  });
}

/** format "hf": config, tokenizer files and (sharded) model.safetensors with the adapter merged, or the adapter alone; README.md the card. */
export async function writeHfExport(services: Services, resolved: ResolvedModel, dir: string, options: { merged: boolean; max_shard_bytes: number }) {
  let files: string[];
  if (options.merged) {
    const model = await loadModelFolder(resolved.base_dir);
    const weights = resolved.adapter_dir ? mergeAdapterFolder(model.weights, resolved.adapter_dir, archFromConfig(model.raw_config).family) : model.weights;
    // a classifier or embedding model (an adapter's head joins the merged weights) is written in the head's own layout
    const head = readHeadInfo(resolved.adapter_dir ?? resolved.base_dir);
    if (head) {
      if (resolved.adapter_dir) for (const [name, tensor] of readPeftAdapter(resolved.adapter_dir).saved_modules ?? []) weights.set(name, tensor);
      writeHeadModelFolder(dir, model, weights, head, head.max_seq_length ?? model.config.max_position_embeddings);
      files = filesIn(dir).map((f) => f.name);
    } else files = writeModelFolder(dir, model, weights, options.max_shard_bytes);
  } else files = copyAdapter(resolved, dir, 'merged', 'Pass version, job_id or adapter_path for the adapter, or merged: true for the full model.');
  writeFileAtomic(join(dir, 'README.md'), readme(services, resolved));
  const index = files.find((f) => f.endsWith('.index.json'));
  return {
    model_file: options.merged ? (index ?? 'model.safetensors') : 'adapter_config.json',
    files: [...files, 'README.md'],
    hf: { merged: options.merged, shards: files.filter((f) => f.endsWith('.safetensors') && f !== ADAPTER_WEIGHTS_FILE).length },
  };
}

/** A vLLM LoRA module name: letters, digits, '-', '_' and '.'. */
function loraName(resolved: ResolvedModel): string {
  return resolved.label.replace(/@/g, '-').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'adapter';
}

/** The model vLLM loads as the base: the Hub repo (at the imported revision) or the local Hugging Face folder. */
function vllmBase(services: Services, resolved: ResolvedModel): { model: string; revision: string | null } {
  const base = services.models.get(resolved.base_model_id);
  return base.source_kind === 'hub' ? { model: base.source, revision: base.revision } : { model: base.dir, revision: null };
}

const shellQuote = (s: string) => (/^[A-Za-z0-9._/:=@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * format "vllm": the adapter in adapter/, and the `vllm serve` command that serves it with LoRA on
 * its base (vLLM's --enable-lora --lora-modules name=path; --max-lora-rank when the rank passes
 * vLLM's default 16), plus a request example, in the result and in README.md.
 */
export function writeVllmExport(services: Services, resolved: ResolvedModel, dir: string, target: string) {
  const files = copyAdapter(resolved, join(dir, 'adapter'), 'version', 'Pass version, job_id or adapter_path for a fine-tune; a base model needs no LoRA: vLLM serves it as `vllm serve <model>`.').map((f) => `adapter/${f}`);
  const name = loraName(resolved);
  const base = vllmBase(services, resolved);
  // rank_pattern can give modules their own rank: vLLM must admit the largest.
  const rank = Math.max(...[...readPeftAdapter(resolved.adapter_dir!).tensors.values()].map((pair) => pair.A.shape[0]));
  const serve = [
    'vllm serve',
    shellQuote(base.model),
    ...(base.revision ? ['--revision', base.revision] : []),
    '--enable-lora',
    '--lora-modules',
    shellQuote(`${name}=${join(target, 'adapter')}`),
    ...(rank > 16 ? ['--max-lora-rank', String(rank)] : []),
  ].join(' ');
  const chat = loadTokenizer(resolved.base_dir).chat_template !== undefined;
  const body = chat
    ? { model: name, messages: [{ role: 'user', content: 'Tell me a short story.' }], max_tokens: 64, temperature: 0 }
    : { model: name, prompt: 'Once upon a time', max_tokens: 64, temperature: 0 };
  const request = `curl http://localhost:8000/v1/${chat ? 'chat/completions' : 'completions'} -H 'Content-Type: application/json' -d ${shellQuote(JSON.stringify(body))}`;
  const text = [
    `# ${resolved.label} for vLLM`,
    '',
    `The LoRA adapter is in \`adapter/\`. Serve it on its base model with vLLM's OpenAI-compatible server:`,
    '',
    '```sh',
    serve,
    '```',
    '',
    `Then request it by the LoRA name \`${name}\`:`,
    '',
    '```sh',
    request,
    '```',
    '',
    `The base is ${base.revision ? `the Hub repo ${base.model} at revision ${base.revision}` : `the local Hugging Face folder ${base.model}; copy it with the adapter if vLLM runs on another machine`}.`,
  ].join('\n');
  writeFileAtomic(join(dir, 'README.md'), `${text}\n`);
  return { model_file: 'adapter/adapter_config.json', files: [...files, 'README.md'], vllm: { lora_name: name, base_model: base.model, serve_command: serve, request_example: request } };
}
