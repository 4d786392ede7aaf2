import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveModel } from '../evaluation/model-ref.js';
import { FinetuneError } from '../errors.js';
import type { ExportResult } from '../plugins/providers.js';
import type { Services } from '../services.js';

interface ExportArgs {
  model_id?: string;
  job_id?: string;
  adapter_path?: string;
  version?: string;
  output_path?: string;
  external_data: 'auto' | 'always' | 'never';
}

/** The plugin that writes exports: the first enabled exporter, else `local` (whose get() then says why it is off). */
function exporterName(services: Services): string {
  return services.plugins.providersOf('exporter')[0]?.name ?? 'local';
}

/**
 * export_model: resolves the model, picks and confines the output folder, and has the exporter
 * fill a temp folder that is renamed into place, so a failed export leaves nothing behind.
 */
export async function exportModel(services: Services, args: ExportArgs) {
  const resolved = resolveModel(services, args);
  const started = performance.now();
  const exporter = await services.plugins.get('exporter', exporterName(services));
  const id = `${exporter.format}-${resolved.version_id ?? resolved.job_id ?? resolved.base_model_id}-${Date.now().toString(36)}`;
  const target = args.output_path ? services.workspace.resolveUserPath(args.output_path, 'output_path') : services.workspace.artifactPath('exports', id);
  if (existsSync(target)) {
    throw new FinetuneError('STATE_CONFLICT', `output_path '${target}' already exists; an export never overwrites.`, { recovery: 'Pass a new folder name.', details: { field: 'output_path' } });
  }
  let written: ExportResult | undefined;
  await services.workspace.writeDir(target, async (dir) => {
    written = await exporter.export({ base_dir: resolved.base_dir, ...(resolved.adapter_dir ? { adapter_dir: resolved.adapter_dir } : {}), dir, external_data: args.external_data });
  });
  const result = written!;
  return {
    path: target,
    model_file: join(target, result.model_file),
    model: { label: resolved.label, base_model_id: resolved.base_model_id, adapter_dir: resolved.adapter_dir, job_id: resolved.job_id, version_id: resolved.version_id },
    external_data: result.external_data,
    opset: result.opset,
    inputs: result.inputs,
    outputs: result.outputs,
    files: result.files.map((name) => ({ name, bytes: statSync(join(target, name)).size })),
    seconds: (performance.now() - started) / 1000,
  };
}
