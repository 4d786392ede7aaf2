import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveModel, type ResolvedModel } from '../evaluation/model-ref.js';
import { FinetuneError } from '../errors.js';
import type { ExportResult } from '../plugins/providers.js';
import type { Services } from '../services.js';
import { exportGguf } from './gguf/export-gguf.js';
import { writeHfExport, writeVllmExport } from './export-hf.js';
import { renderModelfile } from './gguf/ollama.js';
import type { GgmlType } from './gguf/quantize.js';
import { loadTokenizer } from './files/tokenizer.js';
import { writeFileAtomic } from '../workspace/atomic-write.js';
import type { EXPORT_FORMATS } from './tool-schemas.js';

type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The element types each format takes in `type`, the first being the default. */
const FORMAT_TYPES: Record<ExportFormat, readonly string[]> = { onnx: ['f32'], gguf: ['f16', 'f32', 'q8_0'], ollama: ['f16', 'f32', 'q8_0'], hf: ['f32'], vllm: ['f32'] };

interface ExportArgs {
  model_id?: string;
  job_id?: string;
  adapter_path?: string;
  version?: string;
  output_path?: string;
  format: ExportFormat;
  type?: string;
  fallback: 'error' | 'f16' | 'f32';
  system?: string;
  merged: boolean;
  max_shard_mb: number;
  external_data: 'auto' | 'always' | 'never';
}

/** The plugin that writes exports: the first enabled exporter, else `local` (whose get() then says why it is off). */
function exporterName(services: Services): string {
  return services.plugins.providersOf('exporter')[0]?.name ?? 'local';
}

function checkType(args: ExportArgs): string {
  const types = FORMAT_TYPES[args.format];
  const type = args.type ?? types[0];
  if (!types.includes(type)) {
    throw new FinetuneError('INVALID_INPUT', `format "${args.format}" does not write type "${type}"; it writes ${types.join(', ')}.`, {
      recovery: `Pass type ${types.map((t) => `"${t}"`).join(' or ')}, or leave it out for ${types[0]}.`,
      details: { field: 'type' },
    });
  }
  return type;
}

/** What one format wrote into the folder, beyond the files list. */
type FormatOutput = Record<string, unknown> & { model_file: string; files: string[] };

async function writeOnnxExport(services: Services, resolved: ResolvedModel, dir: string, args: ExportArgs): Promise<FormatOutput> {
  const exporter = await services.plugins.get('exporter', exporterName(services));
  const result: ExportResult = await exporter.export({ base_dir: resolved.base_dir, ...(resolved.adapter_dir ? { adapter_dir: resolved.adapter_dir } : {}), dir, external_data: args.external_data });
  return { model_file: result.model_file, files: result.files, external_data: result.external_data, opset: result.opset, inputs: result.inputs, outputs: result.outputs };
}

async function writeGgufExport(resolved: ResolvedModel, dir: string, args: ExportArgs, type: string): Promise<FormatOutput> {
  const fileName = `model-${type}.gguf`;
  const gguf = await exportGguf(resolved, dir, fileName, { type: type as GgmlType, fallback: args.fallback, fallback_field: 'fallback' });
  return { model_file: fileName, files: [fileName], gguf: { architecture: gguf.architecture, type, tensor_types: gguf.tensor_types, fallbacks: gguf.fallbacks, chat_template: gguf.chat_template !== null } };
}

/** An Ollama model name for `ollama create`: "stories-bot@1.0.0" → "stories-bot:1.0.0". */
function ollamaName(resolved: ResolvedModel): string {
  const [name, tag] = resolved.label.split('@');
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
  return tag ? `${clean(name)}:${clean(tag)}` : clean(resolved.version_id ?? resolved.job_id ?? name);
}

async function writeOllamaExport(resolved: ResolvedModel, dir: string, args: ExportArgs, type: string): Promise<FormatOutput> {
  const gguf = await writeGgufExport(resolved, dir, args, type);
  const modelfile = renderModelfile({ label: resolved.label, ggufFile: gguf.model_file, tokenizer: loadTokenizer(resolved.base_dir), ...(args.system !== undefined ? { system: args.system } : {}) });
  writeFileAtomic(join(dir, 'Modelfile'), modelfile.text);
  const name = ollamaName(resolved);
  return {
    ...gguf,
    model_file: 'Modelfile',
    files: [...gguf.files, 'Modelfile'],
    ollama: { name, template: modelfile.template, stop: modelfile.stop, note: modelfile.note, create_command: `ollama create ${name} -f Modelfile` },
  };
}

/**
 * export_model: resolves the model, picks and confines the output folder, and has the format's
 * writer fill a temp folder that is renamed into place, so a failed export leaves nothing behind.
 */
export async function exportModel(services: Services, args: ExportArgs) {
  const type = checkType(args);
  const resolved = resolveModel(services, args);
  const started = performance.now();
  const id = `${args.format}-${resolved.version_id ?? resolved.job_id ?? resolved.base_model_id}-${Date.now().toString(36)}`;
  const target = args.output_path ? services.workspace.resolveUserPath(args.output_path, 'output_path') : services.workspace.artifactPath('exports', id);
  if (existsSync(target)) {
    throw new FinetuneError('STATE_CONFLICT', `output_path '${target}' already exists; an export never overwrites.`, { recovery: 'Pass a new folder name.', details: { field: 'output_path' } });
  }
  let written: FormatOutput | undefined;
  await services.workspace.writeDir(target, async (dir) => {
    if (args.format === 'onnx') written = await writeOnnxExport(services, resolved, dir, args);
    else if (args.format === 'gguf') written = await writeGgufExport(resolved, dir, args, type);
    else if (args.format === 'ollama') written = await writeOllamaExport(resolved, dir, args, type);
    else if (args.format === 'hf') written = await writeHfExport(services, resolved, dir, { merged: args.merged, max_shard_bytes: args.max_shard_mb * 1e6 });
    else written = writeVllmExport(services, resolved, dir, target);
  });
  const { model_file, files, ...details } = written!;
  return {
    path: target,
    format: args.format,
    model_file: join(target, model_file),
    model: { label: resolved.label, base_model_id: resolved.base_model_id, adapter_dir: resolved.adapter_dir, job_id: resolved.job_id, version_id: resolved.version_id },
    ...details,
    files: files.map((name) => ({ name, bytes: statSync(join(target, name)).size })),
    seconds: (performance.now() - started) / 1000,
  };
}
