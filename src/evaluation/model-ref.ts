import { existsSync } from 'node:fs';
import { FinetuneError } from '../errors.js';
import { PROVIDER_REF } from '../plugins/endpoint-inference.js';
import { registryOf } from '../registry/index.js';
import { lookupJob, readAdapterFolder } from '../registry/sources.js';
import type { Services } from '../services.js';

/** What evaluate_model and compare_models accept to name one model. */
export interface ModelRefInput {
  model_id?: string;
  job_id?: string;
  adapter_path?: string;
  /** A registered version: `name@1.2.0` or its id `mv_…`. */
  version?: string;
  label?: string;
}

/** A local model resolved to folders: the base model's Hugging Face folder, plus an adapter to merge. */
export interface ResolvedModel {
  label: string;
  base_model_id: string;
  base_dir: string;
  adapter_dir: string | null;
  job_id: string | null;
  version_id: string | null;
  /** True when this is the plain base model (the baseline of a fine-tune). */
  is_base: boolean;
  /** A model served by an inference plugin (`together:acct/model-ft`): the plugin and the model name it is given; base_dir is then ''. Null for models on this machine. */
  provider: { plugin: string; model: string } | null;
}


/**
 * Splits a `<plugin>:<model>` reference. `local:<model>` means a model on this machine and comes back
 * as that model; a prefix that is no inference plugin is refused with the list of those there are,
 * unless an imported model carries the whole name.
 */
export function providerReference(services: Services, id: string | undefined, field = 'model_id'): { plugin: string; model: string } | null {
  const match = id ? PROVIDER_REF.exec(id) : null;
  if (!match) return null;
  const [, plugin, model] = match;
  if (plugin === 'local') return null;
  const status = services.plugins.status(plugin);
  if (status?.provides.includes('inference')) return { plugin, model };
  if (services.models.list().some((m) => m.name === id)) return null;
  const known = services.plugins
    .list()
    .filter((s) => s.provides.includes('inference'))
    .map((s) => (s.status === 'enabled' ? s.name : `${s.name} (disabled)`));
  const what = status ? `Plugin '${plugin}' runs no models (it provides ${status.provides.join(', ') || 'nothing'})` : `No plugin is named '${plugin}'`;
  throw new FinetuneError('INVALID_INPUT', `${what}: '${id}' names no inference provider. Inference providers: ${known.join(', ') || 'none'}.`, {
    recovery: 'Write the model as <provider>:<model> with one of those providers (e.g. together:acct/model-ft), or pass a local model (mdl_…, job_id, version).',
    details: { field },
  });
}

/**
 * Resolves a model reference: a version brings its registry copy of the adapter and its base, a
 * job its output adapter and the base of its config, an adapter folder goes on model_id.
 */
export function resolveModel(services: Services, ref: ModelRefInput, field = 'model_id'): ResolvedModel {
  const given = [ref.job_id, ref.adapter_path, ref.version].filter(Boolean).length;
  if (given > 1) throw new FinetuneError('INVALID_INPUT', 'Pass at most one of job_id, adapter_path and version.', { details: { field: 'job_id' } });
  const provider = providerReference(services, ref.model_id, field);
  if (provider) {
    if (given) throw new FinetuneError('INVALID_INPUT', `A remote model (${ref.model_id}) takes no adapter, job or version: name the fine-tuned remote model itself.`, { details: { field } });
    return { label: ref.label ?? ref.model_id!, base_model_id: ref.model_id!, base_dir: '', adapter_dir: null, job_id: null, version_id: null, is_base: true, provider };
  }
  let baseId = ref.model_id?.startsWith('local:') ? ref.model_id.slice('local:'.length) : ref.model_id;
  let adapterDir: string | null = null;
  let jobId: string | null = null;
  let versionId: string | null = null;
  let label: string | undefined;
  let fullDir: string | undefined;
  if (ref.version) {
    const registry = registryOf(services);
    const at = ref.version.lastIndexOf('@');
    const v = ref.version.startsWith('mv_') ? registry.get({ version_id: ref.version }) : at > 0 ? registry.get({ name: ref.version.slice(0, at), version: ref.version.slice(at + 1) }) : undefined;
    if (!v) throw new FinetuneError('INVALID_INPUT', `version '${ref.version}' must be name@x.y.z or a version id (mv_…).`, { details: { field: 'version' } });
    adapterDir = v.artifact_dir;
    versionId = v.version_id;
    jobId = v.lineage.job_id;
    baseId ??= v.lineage.base_model ?? undefined;
    label = `${v.name}@${v.version}`;
  } else if (ref.job_id) {
    const job = lookupJob(services, ref.job_id);
    if (!job.adapter_dir && !job.merged_dir) {
      throw new FinetuneError('STATE_CONFLICT', `Job ${ref.job_id} (${job.state}) has no output model yet.`, {
        recovery: 'Wait until monitor_training shows succeeded, then evaluate again.',
        details: { field: 'job_id' },
      });
    }
    adapterDir = job.adapter_dir ?? null;
    // a full fine-tune has no adapter: its merged folder is the whole model
    if (!job.adapter_dir) fullDir = job.merged_dir!;
    jobId = job.job_id;
    baseId ??= job.config?.base_model;
    label = ref.job_id;
  } else if (ref.adapter_path) {
    adapterDir = services.workspace.resolveUserPath(ref.adapter_path, 'adapter_path');
    readAdapterFolder(adapterDir);
    label = `adapter ${adapterDir}`;
  }
  if (!baseId) throw new FinetuneError('INVALID_INPUT', 'model_id (the base model, mdl_…) is needed.', { details: { field } });
  const base = findBaseModel(services, baseId, field);
  if (!existsSync(base.dir)) throw new FinetuneError('FILE_ERROR', `Model ${baseId}'s folder ${base.dir} is missing.`, { details: { field, file: base.dir } });
  return {
    label: ref.label ?? label ?? `${base.name} (${base.id})`,
    base_model_id: base.id,
    base_dir: fullDir ?? base.dir,
    adapter_dir: adapterDir,
    job_id: jobId,
    version_id: versionId,
    is_base: adapterDir === null && !fullDir,
    provider: null,
  };
}

/**
 * A base model by record id, or by the name an adapter config or lineage recorded
 * (e.g. "stories260K") when exactly one imported model carries it.
 */
function findBaseModel(services: Services, idOrName: string, field: string) {
  if (idOrName.startsWith('mdl_')) return services.models.get(idOrName);
  const named = services.models.list().filter((m) => m.name === idOrName);
  if (named.length === 1) return named[0];
  throw new FinetuneError('NOT_FOUND', named.length ? `${named.length} imported models are named '${idOrName}'; pass model_id to choose.` : `No imported model named '${idOrName}'.`, {
    recovery: 'Call list_models and pass model_id (mdl_…), or import_model the base model first.',
    details: { field },
  });
}
