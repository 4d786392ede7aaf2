import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../errors.js';
import { modelCardFor } from '../registry/card-service.js';
import { registryOf } from '../registry/index.js';
import { pushesOf, recordPush, type ModelPush } from '../registry/pushes.js';
import type { ModelVersion } from '../registry/types.js';
import type { Services } from '../services.js';
import { filesIn } from '../workspace/folder-files.js';
import { EXPORT_FORMATS } from './tool-schemas.js';
import { exportModel } from './export.js';

interface PushArgs {
  /** `name@1.0.0` or `mv_…`. */
  version: string;
  repo: string;
  /** `adapter` (the registry's PEFT folder) or a format of the export service. */
  format: string;
  private: boolean;
  revision: string;
  signal?: AbortSignal;
}

type HubLib = typeof import('@huggingface/hub');
type HubCommon = { repo: { type: 'model'; name: string }; hubUrl: string; accessToken: string; fetch?: typeof fetch };

const REPO_ID = /^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/;
/** Commits read back when looking for one a failed attempt may have made (the newest first). */
const COMMITS_SEARCHED = 1000;

/**
 * push_model: commits a version's files (its PEFT adapter, or a folder the export service writes)
 * and its model card as README.md to a Hub model repo, created private unless asked otherwise, with
 * @huggingface/hub (which uploads large files through LFS, or Xet where the Hub offers it). The
 * commit title names the version and its lineage hash; before committing, the repo's history is
 * searched for that title, so a retry after a failure whose commit did land (a lost answer) records
 * that commit instead of making a second one. Each push is recorded in the registry.
 */
export async function pushModel(services: Services, args: PushArgs) {
  if (!REPO_ID.test(args.repo)) {
    throw new FinetuneError('INVALID_INPUT', `repo '${args.repo}' is not a Hub model repo id: write it as owner/name (letters, digits, '-', '_', '.'), e.g. "my-org/stories-bot".`, { details: { field: 'repo' } });
  }
  const registry = registryOf(services);
  const version = versionOf(registry, args.version);
  const { hubUrl, accessToken, fetch } = services.models.hubAccess();
  if (!accessToken) {
    throw new FinetuneError('AUTH_INVALID', 'push_model needs a Hugging Face access token with write access, and none is set.', {
      recovery: 'Set HF_TOKEN in the server\'s environment (or models.hub_token in the config file) to a token with write access (huggingface.co/settings/tokens), then call push_model again.',
      details: { field: 'HF_TOKEN' },
    });
  }
  const lineageSha = lineageHash(version);
  const label = `${version.name}@${version.version}`;
  const title = `${label} (${args.format}) lineage ${lineageSha.slice(0, 12)}`;
  const source = await filesOf(services, version, args.format);
  const card = hubCard(version, args.format, modelCardFor(services, { name: version.name, version: version.version }).markdown);
  const hub: HubLib = await import('@huggingface/hub');
  const common: HubCommon = { repo: { type: 'model', name: args.repo }, hubUrl, accessToken, ...(fetch ? { fetch } : {}) };
  const log = services.logger.child({ tool: 'push_model', repo: args.repo, version: label });
  try {
    const created = await ensureRepo(hub, common, args.private);
    let commit = created ? undefined : await findCommit(hub, common, args.revision, title);
    const reused = commit !== undefined;
    if (!commit) {
      const operations = [
        ...(await Promise.all(source.files.map(async (path) => ({ operation: 'addOrUpdate' as const, path, content: await openAsBlob(join(source.dir, path)) })))),
        { operation: 'addOrUpdate' as const, path: 'README.md', content: new Blob([card]) },
      ];
      const description = [
        `Pushed by finetune-mcp: model version ${version.version_id} (${label}), format ${args.format}.`,
        '',
        `lineage sha256: ${lineageSha}`,
        `artifact sha256: ${version.artifact_sha256}`,
        `base model: ${version.lineage.base_model ?? 'not recorded'}`,
        `dataset: ${version.lineage.dataset_id ?? 'not recorded'} (content hash ${version.lineage.dataset_hash ?? 'not recorded'})`,
        `training job: ${version.lineage.job_id ?? 'not recorded'}`,
      ].join('\n');
      const out = await hub.commit({ ...common, title, description, branch: args.revision, operations, abortSignal: args.signal });
      if (!out) throw new FinetuneError('UPSTREAM_ERROR', `The Hub at ${hubUrl} answered the commit to '${args.repo}' without a commit id.`);
      commit = out.commit;
    }
    const push: ModelPush = {
      hub_url: hubUrl,
      repo: args.repo,
      revision: args.revision,
      commit_oid: commit.oid,
      commit_url: commit.url,
      format: args.format,
      lineage_sha256: lineageSha,
      files: [...source.files, 'README.md'],
      pushed_at: new Date().toISOString(),
    };
    recordPush(services.workspace.db, version.version_id, push);
    const pushes = pushesOf(services.workspace.db, version.version_id);
    log.info({ commit: commit.oid, created, reused }, reused ? 'the version was already committed: recorded that commit' : 'pushed');
    return { version_id: version.version_id, repo_created: created, reused_commit: reused, commit_title: title, source_dir: source.dir, push: pushes.find((p) => p.commit_oid === push.commit_oid && p.repo === push.repo) ?? push, pushes };
  } catch (error) {
    throw translatePushError(error, args.repo, hubUrl);
  }
}

function versionOf(registry: ReturnType<typeof registryOf>, ref: string): ModelVersion {
  if (ref.startsWith('mv_')) return registry.get({ version_id: ref });
  const at = ref.lastIndexOf('@');
  if (at <= 0) throw new FinetuneError('INVALID_INPUT', `version '${ref}' must be name@x.y.z (e.g. "stories-bot@1.0.0") or a version id (mv_…).`, { details: { field: 'version' } });
  return registry.get({ name: ref.slice(0, at), version: ref.slice(at + 1) });
}

/** A hash of what the version is made of (its lineage and its weights), so a commit names exactly one version's contents. */
function lineageHash(version: ModelVersion): string {
  return createHash('sha256').update(JSON.stringify({ lineage: version.lineage, artifact_sha256: version.artifact_sha256 })).digest('hex');
}

/** The folder whose files are pushed: the registry's adapter copy, or an export in `format`. */
async function filesOf(services: Services, version: ModelVersion, format: string): Promise<{ dir: string; files: string[] }> {
  if (format === 'adapter') return { dir: version.artifact_dir, files: filesIn(version.artifact_dir).map((f) => f.name) };
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new FinetuneError('INVALID_INPUT', `format '${format}' is neither "adapter" nor an export_model format (${EXPORT_FORMATS.join(', ')}); nothing was pushed.`, {
      details: { field: 'format' },
    });
  }
  // The export's own defaults (export_model's schema): f16 GGUF, the merged hf folder, 5 GB shards.
  const written = await exportModel(services, { version: version.version_id, format: format as (typeof EXPORT_FORMATS)[number], external_data: 'auto', fallback: 'error', merged: true, max_shard_mb: 5000 });
  return { dir: written.path, files: written.files.map((f) => f.name) };
}

/** The model card with the Hub's metadata block on top (library, base model where it is a Hub id, tags). */
function hubCard(version: ModelVersion, format: string, markdown: string): string {
  const base = version.lineage.base_model;
  const meta = [
    '---',
    ...(format === 'adapter' ? ['library_name: peft'] : []),
    ...(base && REPO_ID.test(base) ? [`base_model: ${base}`] : []),
    'tags:',
    '  - finetune-mcp',
    ...(format === 'adapter' ? ['  - lora'] : [`  - ${format}`]),
    '---',
    '',
  ];
  return `${meta.join('\n')}${markdown}`;
}

/** Creates the repo; true when created, false when it already existed (409: the Hub's answer for an existing repo). */
async function ensureRepo(hub: HubLib, common: HubCommon, isPrivate: boolean): Promise<boolean> {
  try {
    await hub.createRepo({ ...common, visibility: isPrivate ? 'private' : 'public' });
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 409) return false;
    throw error;
  }
}

/** A commit on the revision with exactly this title (a previous attempt's), newest first; undefined when none. */
async function findCommit(hub: HubLib, common: HubCommon, revision: string, title: string): Promise<{ oid: string; url: string } | undefined> {
  let seen = 0;
  try {
    for await (const c of hub.listCommits({ ...common, revision })) {
      if (c.title === title) return { oid: c.oid, url: `${common.hubUrl}/${common.repo.name}/commit/${c.oid}` };
      if (++seen >= COMMITS_SEARCHED) break;
    }
  } catch (error) {
    // A repo without the revision yet has no earlier attempt on it.
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
  return undefined;
}

/** A Hub failure, translated once: 401/403 → AUTH_INVALID, 404 → NOT_FOUND, 429 → RATE_LIMITED, else UPSTREAM_ERROR (retryable). */
function translatePushError(error: unknown, repo: string, hubUrl: string): FinetuneError {
  if (error instanceof FinetuneError) return error;
  const e = error as { statusCode?: number; requestId?: string; message?: string; name?: string };
  const request = e.requestId ? ` (request id ${e.requestId})` : '';
  if (e.statusCode === 401 || e.statusCode === 403) {
    return new FinetuneError('AUTH_INVALID', `The Hub at ${hubUrl} refused to write to '${repo}' (HTTP ${e.statusCode})${request}: the token is invalid, read-only, or not allowed in that namespace.`, {
      recovery: 'Set HF_TOKEN to a token with write access to the namespace (huggingface.co/settings/tokens), or push to a repo under your own name.',
      details: { field: 'repo' },
    });
  }
  if (e.statusCode === 404) {
    return new FinetuneError('NOT_FOUND', `The Hub at ${hubUrl} has no '${repo}' or no such revision${request}.`, { recovery: 'Check the repo id and revision (a branch that exists, e.g. "main").', details: { field: 'revision' } });
  }
  if (e.statusCode === 429) return new FinetuneError('RATE_LIMITED', `The Hub is rate-limiting pushes to '${repo}'${request}.`);
  if (e.name === 'AbortError') return new FinetuneError('CANCELLED', `The push to '${repo}' was cancelled.`);
  const status = e.statusCode ? `HTTP ${e.statusCode}: ` : '';
  return new FinetuneError('UPSTREAM_ERROR', `Pushing to '${repo}' at ${hubUrl} failed: ${status}${e.message ?? String(error)}${request}`, {
    recovery: 'Call push_model again: it finds a commit an earlier attempt made instead of committing twice, and files already uploaded are not sent again.',
    retryable: true,
    cause: error,
  });
}
