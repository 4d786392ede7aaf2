import { existsSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import { FinetuneError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { deleteRecord, refuseIfRegistered, refuseIfTrainedOn, type DeletionResult } from '../workspace/record-deletion.js';
import type { Workspace } from '../workspace/workspace.js';
import { convertLlama2c } from './files/llama2c.js';
import { loadModelFolder, type LoadedModel } from './files/load-model.js';
import type { ModelConfig } from './files/model-config.js';
import { copyModelFiles, summarizeFolder, type FolderSummary } from './folder.js';
import { downloadHubModel } from './hub.js';
import { ModelRecordShape } from './tool-schemas.js';
import { DEFAULT_HUB_URL, type ModelSettings } from './settings.js';

/** A base model: an immutable record pointing at a Hugging Face-layout folder <home>/models/<id>/. */
export interface ModelRecord {
  id: string;
  name: string;
  /** Where it came from: a folder or .bin path, or a Hub repo id. */
  source: string;
  source_kind: 'folder' | 'llama2c' | 'hub';
  /** The Hub commit imported (hub sources), else null. */
  revision: string | null;
  /** sha256 of the weight files. */
  sha256: string;
  content_hash: string;
  architecture: ModelConfig['architecture'];
  model_type: string;
  parameters: number;
  context_length: number;
  dir: string;
  created_at: string;
}

interface ImportOptions {
  /** llama2.c sources: the tokenizer.bin (default: tokenizer.bin beside the checkpoint). */
  tokenizer?: string;
  name?: string;
  /** Hub sources: branch, tag or commit (default main). */
  revision?: string;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => void | Promise<void>;
}

interface ModelServiceOptions {
  workspace: Workspace;
  logger: Logger;
  settings?: ModelSettings;
  env?: Readonly<Record<string, string | undefined>>;
  /** Replaces global fetch for Hub calls (tests, proxies). */
  fetch?: typeof fetch;
}

type Row = Omit<ModelRecord, 'architecture'> & { architecture: string };

/** A Hub repo id: `name` or `owner/name` (letters, digits, - _ .). */
const HUB_REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/**
 * The fields a record takes from the files must pass the read tools' own schemas: a record that
 * list_models could not return would break it for the whole workspace.
 */
function assertRecordable(s: FolderSummary, dir: string): void {
  const fields = { parameters: s.parameters, context_length: s.config.max_position_embeddings, architecture: s.config.architecture, model_type: s.config.model_type } as const;
  for (const [field, value] of Object.entries(fields)) {
    const checked = ModelRecordShape[field as keyof typeof fields].safeParse(value);
    if (!checked.success) {
      throw new FinetuneError('FILE_ERROR', `The model in ${dir} cannot be recorded: its ${field} ${JSON.stringify(value)} is not valid (${checked.error.issues[0]?.message}).`, {
        recovery: 'Check config.json and the weights: sizes must be whole numbers below 2^53.',
        details: { field },
      });
    }
  }
}

/** Thrown inside the atomic folder fill to abandon a duplicate import (the temp folder is removed). */
class DuplicateModel extends Error {
  constructor(readonly existing: ModelRecord) {
    super('duplicate');
  }
}

export class ModelService {
  private readonly workspace: Workspace;
  private readonly logger: Logger;
  private readonly hubUrl: string;
  private readonly token?: string;
  private readonly fetchImpl?: typeof fetch;

  constructor(options: ModelServiceOptions) {
    this.workspace = options.workspace;
    this.logger = options.logger.child({ area: 'models' });
    const env = options.env ?? {};
    this.hubUrl = (options.settings?.hub_url ?? env.HF_ENDPOINT ?? DEFAULT_HUB_URL).replace(/\/+$/, '');
    this.token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || options.settings?.hub_token || undefined;
    this.fetchImpl = options.fetch;
  }

  /** The Hub this workspace talks to: endpoint, token (HF_TOKEN, else models.hub_token) and the fetch tests replace. */
  hubAccess(): { hubUrl: string; accessToken?: string; fetch?: typeof fetch } {
    return { hubUrl: this.hubUrl, accessToken: this.token, fetch: this.fetchImpl };
  }

  get(id: string): ModelRecord {
    const row = this.workspace.db.prepare('SELECT * FROM models WHERE id = ?').get(id) as Row | undefined;
    if (!row) {
      const known = (this.workspace.db.prepare('SELECT id FROM models ORDER BY created_at').pluck().all() as string[]).slice(-20);
      throw new FinetuneError('NOT_FOUND', `No model ${id}. Known models: ${known.length ? known.join(', ') : 'none (import one with import_model)'}.`, {
        recovery: 'Call list_models for the ids, or import_model to add one.',
        details: { field: 'model_id' },
      });
    }
    return row as ModelRecord;
  }

  list(): ModelRecord[] {
    return this.workspace.db.prepare('SELECT * FROM models ORDER BY created_at, id').all() as ModelRecord[];
  }

  /**
   * Deletes a base model: its record and folder, atomically. Refused while a training job used it or a
   * registered version names it. Reads only the id and name, so a record the read tools cannot show goes too.
   */
  delete(id: string): DeletionResult & { name: string } {
    let name = '';
    const result = deleteRecord(this.workspace, {
      area: 'models',
      id,
      check: (db) => {
        name = this.get(id).name;
        refuseIfTrainedOn(db, 'base_model', id, 'Model');
        refuseIfRegistered(db, 'base_model', id, 'Model');
      },
      deleteRows: (db) => db.prepare('DELETE FROM models WHERE id = ?').run(id),
    });
    this.logger.info({ model_id: id, bytes_freed: result.bytes_freed }, 'model deleted');
    return { ...result, name };
  }

  /** The loaded model (config, f32 weights, tokenizer) of a record, cached per folder. */
  load(id: string): Promise<LoadedModel> {
    return loadModelFolder(this.get(id).dir);
  }

  private byContent(contentHash: string): ModelRecord | undefined {
    return this.workspace.db.prepare('SELECT * FROM models WHERE content_hash = ?').get(contentHash) as ModelRecord | undefined;
  }

  /**
   * Imports a local Hugging Face folder, a llama2.c .bin (+ tokenizer.bin) or a Hub repo id. The folder
   * is built and validated in a temp sibling and renamed into place; the same content twice gives the same record.
   */
  async import(source: string, options: ImportOptions = {}): Promise<{ model: ModelRecord; created: boolean }> {
    const plan = this.plan(source, options);
    const id = this.workspace.newId('model');
    const target = this.workspace.artifactPath('models', id);
    let summary: FolderSummary | undefined;
    let revision: string | null = null;
    try {
      await this.workspace.writeDir(target, async (dir) => {
        if (plan.kind === 'llama2c') {
          convertLlama2c({ checkpoint: plan.path, tokenizer: plan.tokenizer!, out_dir: dir });
        } else if (plan.kind === 'folder') {
          copyModelFiles(plan.path, dir);
        } else {
          const download = await downloadHubModel({
            repo: plan.path,
            revision: options.revision,
            cacheDir: this.workspace.artifactPath('hub-cache'),
            hubUrl: this.hubUrl,
            accessToken: this.token,
            fetch: this.fetchImpl,
            logger: this.logger,
            signal: options.signal,
            onFile: (file, i, total) => options.progress?.(i, total, `downloading ${file}`),
          });
          revision = download.commit;
          copyModelFiles(download.snapshot_dir, dir);
        }
        summary = await summarizeFolder(dir);
        assertRecordable(summary, dir);
        const existing = this.byContent(summary.content_hash);
        if (existing) throw new DuplicateModel(existing);
      });
    } catch (error) {
      if (error instanceof DuplicateModel) return { model: error.existing, created: false };
      throw error;
    }
    const s = summary!;
    const record: ModelRecord = {
      id,
      name: options.name ?? plan.name,
      source: plan.path,
      source_kind: plan.kind,
      revision,
      sha256: s.sha256,
      content_hash: s.content_hash,
      architecture: s.config.architecture,
      model_type: s.config.model_type,
      parameters: s.parameters,
      context_length: s.config.max_position_embeddings,
      dir: target,
      created_at: new Date().toISOString(),
    };
    try {
      this.workspace.db
        .prepare(
          `INSERT INTO models (id, name, source, source_kind, revision, sha256, content_hash, architecture, model_type, parameters, context_length, dir, created_at)
           VALUES (@id, @name, @source, @source_kind, @revision, @sha256, @content_hash, @architecture, @model_type, @parameters, @context_length, @dir, @created_at)`,
        )
        .run(record);
    } catch (error) {
      // Another import of the same content won the race: keep its record, drop this folder.
      const existing = this.byContent(s.content_hash);
      rmSync(target, { recursive: true, force: true });
      if (existing) return { model: existing, created: false };
      throw error;
    }
    this.logger.info({ model_id: id, source: record.source, parameters: record.parameters }, 'model imported');
    return { model: record, created: true };
  }

  /** Decides what kind of source this is; local paths win over Hub ids of the same spelling. */
  private plan(source: string, options: ImportOptions): { kind: ModelRecord['source_kind']; path: string; tokenizer?: string; name: string } {
    const looksLocal = isAbsolute(source) || source.startsWith('.') || source.startsWith('~') || existsSync(source);
    if (!looksLocal) {
      if (!HUB_REPO_ID.test(source)) {
        throw new FinetuneError('INVALID_INPUT', `source '${source}' is neither an existing path nor a Hub repo id (owner/name).`, { details: { field: 'source' } });
      }
      return { kind: 'hub', path: source, name: source };
    }
    const path = this.workspace.resolveUserPath(source, 'source');
    if (!existsSync(path)) {
      throw new FinetuneError('FILE_ERROR', `source ${path} does not exist.`, { details: { file: path, field: 'source' } });
    }
    if (statSync(path).isDirectory()) return { kind: 'folder', path, name: basename(path) };
    if (basename(path) === 'config.json') return { kind: 'folder', path: dirname(path), name: basename(dirname(path)) };
    if (extname(path) !== '.bin') {
      throw new FinetuneError('INVALID_INPUT', `source ${path} is a file but not a llama2.c .bin checkpoint.`, {
        recovery: 'Pass a Hugging Face model folder, a llama2.c .bin checkpoint (with tokenizer), or a Hub repo id.',
        details: { field: 'source' },
      });
    }
    const tokenizer = options.tokenizer ? this.workspace.resolveUserPath(options.tokenizer, 'tokenizer') : join(dirname(path), 'tokenizer.bin');
    if (!existsSync(tokenizer)) {
      throw new FinetuneError('INVALID_INPUT', `A llama2.c checkpoint needs its tokenizer.bin; ${tokenizer} does not exist.`, {
        recovery: 'Pass tokenizer: the path of the tokenizer .bin exported with this checkpoint (e.g. tok512.bin).',
        details: { field: 'tokenizer', file: tokenizer },
      });
    }
    return { kind: 'llama2c', path, tokenizer, name: basename(path, '.bin') };
  }
}
