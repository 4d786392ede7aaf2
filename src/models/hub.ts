import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FinetuneError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { LICENCE_FILES } from './folder.js';

/**
 * Downloads the files of a Hub model repo that a model folder needs, through @huggingface/hub,
 * into a Hub-layout cache (<cache>/models--org--name/{blobs,snapshots}/). Resumable at byte level:
 * a partial `<blob>.incomplete` is continued with a Range request. Every blob is checked against the
 * hash the Hub reports (sha256 of LFS files, git blob sha1 of small files) before it is used.
 */

interface HubDownloadOptions {
  repo: string;
  revision?: string;
  cacheDir: string;
  hubUrl: string;
  accessToken?: string;
  fetch?: typeof fetch;
  logger: Logger;
  signal?: AbortSignal;
  onFile?: (path: string, index: number, total: number) => void | Promise<void>;
}

interface HubDownloadResult {
  snapshot_dir: string;
  commit: string;
  files: string[];
}

interface TreeEntry {
  type: string;
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number };
  xetHash?: string;
}

/** Files a model folder needs (and those that say its licence); everything else in the repo (other formats, images) is skipped. */
const WANTED = [
  ...LICENCE_FILES,
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'model.safetensors',
  'model.safetensors.index.json',
];
const SHARD = /^model-\d+-of-\d+\.safetensors$/;

type HubLib = typeof import('@huggingface/hub');

/** Translates a Hub failure once, here: 404 → NOT_FOUND, 401/403 (gated, private) → AUTH_INVALID, else UPSTREAM_ERROR. */
function translateHubError(error: unknown, repo: string, hubUrl: string): FinetuneError {
  if (error instanceof FinetuneError) return error;
  const e = error as { statusCode?: number; requestId?: string; message?: string; name?: string };
  const request = e.requestId ? ` (request id ${e.requestId})` : '';
  if (e.statusCode === 404) {
    return new FinetuneError('NOT_FOUND', `Hub repo '${repo}' (or the revision asked for) was not found at ${hubUrl}${request}.`, {
      recovery: 'Check the repo id (owner/name) and revision; private repos need HF_TOKEN.',
      details: { field: 'source' },
    });
  }
  if (e.statusCode === 401 || e.statusCode === 403) {
    return new FinetuneError('AUTH_INVALID', `The Hub refused access to '${repo}' (HTTP ${e.statusCode}): it is gated or private, or HF_TOKEN is invalid${request}.`, {
      recovery: 'Accept the model licence on its Hub page and set HF_TOKEN (environment) to a token with read access, then import again.',
      details: { field: 'source' },
    });
  }
  if (e.statusCode === 429) {
    return new FinetuneError('RATE_LIMITED', `The Hub is rate-limiting downloads of '${repo}'${request}.`);
  }
  if (e.name === 'AbortError') return new FinetuneError('CANCELLED', `Download of '${repo}' was cancelled.`);
  const status = e.statusCode ? `HTTP ${e.statusCode}: ` : '';
  return new FinetuneError('UPSTREAM_ERROR', `Downloading '${repo}' from ${hubUrl} failed: ${status}${e.message ?? String(error)}${request}`, { cause: error });
}

async function fileHash(path: string, algorithm: 'sha256' | 'sha1', gitBlobSize?: number): Promise<string> {
  const hash = createHash(algorithm);
  if (gitBlobSize !== undefined) hash.update(`blob ${gitBlobSize}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Verifies a blob against the Hub's hash; a mismatch deletes it so the next attempt downloads it again. */
async function verifyBlob(path: string, entry: TreeEntry, repo: string): Promise<void> {
  const size = statSync(path).size;
  const expectedSize = entry.lfs?.size ?? entry.size;
  const actual = entry.lfs ? await fileHash(path, 'sha256') : await fileHash(path, 'sha1', size);
  const expected = entry.lfs ? entry.lfs.oid : entry.oid;
  if (size !== expectedSize || actual !== expected) {
    rmSync(path, { force: true });
    throw new FinetuneError('UPSTREAM_ERROR', `${entry.path} of '${repo}' failed its checksum (${entry.lfs ? 'sha256' : 'git sha1'} ${actual}, ${size} bytes; the Hub reports ${expected}, ${expectedSize} bytes).`, {
      recovery: 'The download was corrupted; call import_model again (it downloads the file again).',
      retryable: true,
      details: { file: entry.path },
    });
  }
}

/** Downloads one file into blobs/<etag>, continuing a partial `.incomplete` download, then verifies it. */
async function fetchBlob(hub: HubLib, options: HubDownloadOptions, commit: string, entry: TreeEntry, blobPath: string): Promise<void> {
  if (existsSync(blobPath)) return;
  const incomplete = `${blobPath}.incomplete`;
  const have = existsSync(incomplete) ? statSync(incomplete).size : 0;
  const total = entry.lfs?.size ?? entry.size;
  if (have < total) {
    const blob = await hub.downloadFile({
      repo: options.repo,
      path: entry.path,
      revision: commit,
      hubUrl: options.hubUrl,
      accessToken: options.accessToken,
      fetch: options.fetch,
      xet: false,
    });
    if (!blob) throw new FinetuneError('NOT_FOUND', `${entry.path} is listed in '${options.repo}' but the Hub does not serve it.`);
    if (have > 0) options.logger.info({ file: entry.path, have, total }, 'resuming partial download');
    const part = have > 0 ? blob.slice(have) : blob;
    await pipeline(Readable.fromWeb(part.stream() as never), createWriteStream(incomplete, { flags: have > 0 ? 'a' : 'w' }), { signal: options.signal });
  }
  await verifyBlob(incomplete, entry, options.repo);
  renameSync(incomplete, blobPath);
}

/** The library announces downloads with console.debug, which would corrupt a stdio MCP stream: log it instead. */
async function withConsoleDebugInLog<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  /* eslint-disable no-console -- replacing the library's console.debug is the point here */
  const original = console.debug;
  console.debug = (...args: unknown[]) => logger.debug({ hub: args.map(String).join(' ') }, 'hub');
  try {
    return await work();
  } finally {
    console.debug = original;
  }
  /* eslint-enable no-console */
}

/** Resolves the revision to a commit, lists the repo and fetches the model files (cached, resumable, checksummed). */
export async function downloadHubModel(options: HubDownloadOptions): Promise<HubDownloadResult> {
  const hub = await import('@huggingface/hub');
  const { repo, hubUrl } = options;
  const common = { hubUrl, accessToken: options.accessToken, fetch: options.fetch };
  try {
    return await withConsoleDebugInLog(options.logger, async () => {
      const info = await hub.modelInfo({ name: repo, revision: options.revision ?? 'main', additionalFields: ['sha'], ...common });
      const commit = (info as { sha?: string }).sha;
      if (!commit) throw new FinetuneError('UPSTREAM_ERROR', `The Hub did not report a commit for '${repo}'.`);
      const entries: TreeEntry[] = [];
      for await (const entry of hub.listFiles({ repo, revision: commit, recursive: true, expand: false, ...common })) {
        const e = entry as unknown as TreeEntry;
        if (e.type === 'file' && (WANTED.includes(e.path) || SHARD.test(e.path))) entries.push(e);
      }
      const names = entries.map((e) => e.path);
      if (!names.includes('config.json') || !names.some((n) => n.endsWith('.safetensors'))) {
        throw new FinetuneError('MODEL_UNSUPPORTED', `Hub repo '${repo}' at ${commit.slice(0, 12)} has no config.json with safetensors weights (files: ${names.join(', ') || 'none'}).`, {
          recovery: 'Import a repo that holds a transformers model saved as safetensors (model.safetensors or sharded).',
          details: { field: 'source' },
        });
      }
      const storage = join(options.cacheDir, hub.getRepoFolderName({ type: 'model', name: repo }));
      mkdirSync(join(storage, 'blobs'), { recursive: true });
      for (const [i, entry] of entries.entries()) {
        if (options.signal?.aborted) throw new FinetuneError('CANCELLED', `Download of '${repo}' was cancelled.`);
        await options.onFile?.(entry.path, i, entries.length);
        const etag = entry.lfs?.oid ?? entry.xetHash ?? entry.oid;
        await fetchBlob(hub, options, commit, entry, join(storage, 'blobs', etag));
        // With the blob in place the library only links it into snapshots/<commit>/.
        await hub.downloadFileToCacheDir({ repo, path: entry.path, revision: commit, cacheDir: options.cacheDir, ...common });
      }
      return { snapshot_dir: join(storage, 'snapshots', commit), commit, files: names };
    });
  } catch (error) {
    throw translateHubError(error, repo, hubUrl);
  }
}
