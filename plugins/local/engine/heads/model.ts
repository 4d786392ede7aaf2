import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { FinetuneError } from '../../../../src/errors.js';
import { archFromConfig, isEncoder, type ArchConfig } from '../../../../src/models/files/arch.js';
import { loadModelFolder, type LoadedModel, type WeightTensor } from '../../../../src/models/files/load-model.js';
import { HEAD_FILE } from '../../../../src/models/files/head-folder.js';
import { mergeAdapterFolder, readPeftAdapter } from '../../../../src/models/files/peft.js';
import { attentionBias, positionFeeds, toInt64 } from '../feeds.js';
import { createSessionFromGraph, loadOrt } from '../session.js';
import { type Pooling, poolMatrix } from './pooling.js';
import { classifierWeights } from './classifier.js';
import { buildHeadGraph } from './step.js';

const ROWS = 8;

/** A model with a head, ready to run: a classifier (labels + score.weight) or an embedding model. */
export interface HeadModel {
  task: 'classification' | 'embedding';
  pooling: Pooling;
  labels: string[];
  arch: ArchConfig;
  model: Pick<LoadedModel, 'config' | 'raw_config' | 'tokenizer'> & { weights: Map<string, WeightTensor> };
  sessions: Map<string, Promise<Ort.InferenceSession>>;
  provider: string;
}

interface HeadFile {
  task?: string;
  pooling?: string;
  labels?: string[];
}

function readHead(dir: string): HeadFile | null {
  const path = join(dir, HEAD_FILE);
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as HeadFile;
  // a transformers sequence classifier from elsewhere: labels from config.json, last-token pooling
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const arch = Array.isArray(config.architectures) ? String(config.architectures[0]) : '';
  if (arch.endsWith('ForSequenceClassification') && config.id2label && typeof config.id2label === 'object') {
    const id2label = config.id2label as Record<string, string>;
    // an encoder classifies from its first token ([CLS] / <s>), a decoder from its last
    const pooling = isEncoder(archFromConfig(config)) ? 'cls' : 'last';
    return { task: 'classification', pooling, labels: Object.keys(id2label).sort((a, b) => Number(a) - Number(b)).map((k) => id2label[k]!) };
  }
  const pooling = join(dir, '1_Pooling', 'config.json');
  if (existsSync(pooling)) {
    const p = JSON.parse(readFileSync(pooling, 'utf8')) as Record<string, unknown>;
    return { task: 'embedding', pooling: p.pooling_mode_lasttoken ? 'last' : p.pooling_mode_cls_token ? 'cls' : 'mean' };
  }
  return null;
}

/** Which head a model has, from its files alone (no weights read): null for a plain language model. */
export function describeHead(baseDir: string, adapterDir: string | null): { task: 'classification' | 'embedding'; labels: string[] } | null {
  const head = adapterDir ? (existsSync(join(adapterDir, HEAD_FILE)) ? readHead(adapterDir) : null) : readHead(baseDir);
  if (!head) return null;
  return { task: head.task === 'classification' ? 'classification' : 'embedding', labels: head.labels ?? [] };
}

/**
 * Loads a classifier or embedding model: a base folder plus a head job's PEFT adapter (LoRA merged,
 * the saved `score` module added), or a folder that holds the whole model. A plain base model loads
 * as an embedding model with `pooling` (the baseline of an embedding fine-tune).
 */
export async function loadHeadModel(baseDir: string, adapterDir: string | null, options: { pooling?: Pooling; threads?: number; provider?: string } = {}): Promise<HeadModel> {
  const base = await loadModelFolder(baseDir);
  const arch = archFromConfig(base.raw_config);
  let weights = base.weights;
  let head = adapterDir ? (existsSync(join(adapterDir, HEAD_FILE)) ? readHead(adapterDir) : null) : readHead(baseDir);
  if (adapterDir) {
    if (!head) {
      throw new FinetuneError('MODEL_UNSUPPORTED', `${adapterDir} is not the adapter of a classification or embedding job (no ${HEAD_FILE}).`, {
        recovery: 'Pass the job_id of a classification or embedding job, or its output/merged folder.',
        details: { file: adapterDir },
      });
    }
    weights = mergeAdapterFolder(base.weights, adapterDir, arch.family);
    for (const [name, tensor] of readPeftAdapter(adapterDir).saved_modules ?? []) weights.set(name, tensor);
  }
  head ??= { task: 'embedding', pooling: options.pooling ?? 'mean' };
  const task = head.task === 'classification' ? 'classification' : 'embedding';
  if (task === 'classification') classifierWeights(arch, weights, head.labels?.length ?? 0, adapterDir ?? baseDir);
  return {
    task,
    pooling: options.pooling ?? (head.pooling === 'last' || head.pooling === 'cls' ? head.pooling : 'mean'),
    labels: head.labels ?? [],
    arch,
    model: { config: base.config, raw_config: base.raw_config, tokenizer: base.tokenizer, weights },
    sessions: new Map(),
    provider: options.provider ?? 'cpu',
  };
}

/** Runs texts through the model in groups of 8 rows: logits [n, labels] or pooled embeddings [n, hidden]. */
async function forward(m: HeadModel, texts: readonly string[]): Promise<Float32Array[]> {
  const ort = await loadOrt();
  const limit = Math.min(m.arch.max_positions - m.arch.position_offset, 4096);
  const encoded = texts.map((t) => m.model.tokenizer.encode(t, { add_special_tokens: true }).slice(0, limit));
  const out: Float32Array[] = [];
  const width = m.task === 'classification' ? m.labels.length : m.arch.hidden_size;
  for (let start = 0; start < encoded.length; start += ROWS) {
    const group = encoded.slice(start, start + ROWS);
    const T = Math.min(limit, Math.max(2, Math.ceil(Math.max(...group.map((g) => g.length)) / 8) * 8));
    const key = `${ROWS}x${T}`;
    let session = m.sessions.get(key);
    if (!session) {
      const spec = { model: m.model, approach: 'lora' as const, task: m.task, pooling: m.pooling, num_labels: m.labels.length, group: 1 as const, batch_size: ROWS, seq_len: T, provider: m.provider };
      session = createSessionFromGraph(buildHeadGraph(spec, m.arch, undefined, 'forward').graph, spec).then((r) => r.session);
      m.sessions.set(key, session);
    }
    const ids = new Int32Array(ROWS * T);
    const mask = new Float32Array(ROWS * T);
    group.forEach((row, r) => row.forEach((id, t) => ((ids[r * T + t] = id), (mask[r * T + t] = 1))));
    const feeds: Record<string, Ort.Tensor> = {
      input_ids: new ort.Tensor('int64', toInt64(ids), [ROWS, T]),
      attn_bias: new ort.Tensor('float32', attentionBias(ROWS, T, 0, mask, m.arch.sliding_window, !isEncoder(m.arch)), [ROWS, 1, T, T]),
      pool: new ort.Tensor('float32', poolMatrix(mask, ROWS, T, m.pooling), [ROWS, ROWS * T]),
    };
    for (const [name, p] of Object.entries(positionFeeds(m.arch, 0, T))) feeds[name] = new ort.Tensor(p.data instanceof Float32Array ? 'float32' : 'int64', p.data, p.dims);
    if (m.task === 'classification') for (const t of classifierWeights(m.arch, m.model.weights, m.labels.length, 'the model')) feeds[t.name] = new ort.Tensor('float32', t.data, t.shape);
    const name = m.task === 'classification' ? 'logits' : 'embeddings';
    const result = (await (await session).run(feeds, [name]))[name]!.data as Float32Array;
    group.forEach((_, r) => out.push(result.slice(r * width, (r + 1) * width)));
  }
  return out;
}

/** Label probabilities (softmax of the logits) and the most likely label of each text. */
export async function classifyTexts(m: HeadModel, texts: readonly string[]): Promise<Array<{ label: string; probabilities: Record<string, number> }>> {
  if (m.task !== 'classification') throw new FinetuneError('MODEL_UNSUPPORTED', 'This model has no classification head (it is an embedding model or a plain language model).', { details: { field: 'model_id' } });
  return (await forward(m, texts)).map((logits) => {
    const max = Math.max(...logits);
    const exps = [...logits].map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    let best = 0;
    logits.forEach((v, i) => (best = v > logits[best]! ? i : best));
    return { label: m.labels[best]!, probabilities: Object.fromEntries(m.labels.map((l, i) => [l, exps[i]! / sum])) };
  });
}

/** Pooled embeddings of each text, L2-normalised (cosine similarity is then a dot product). */
export async function embedTexts(m: HeadModel, texts: readonly string[]): Promise<Float32Array[]> {
  if (m.task !== 'embedding') throw new FinetuneError('MODEL_UNSUPPORTED', 'This model is a classifier, not an embedding model.', { details: { field: 'model_id' } });
  return (await forward(m, texts)).map((v) => {
    const norm = Math.sqrt(v.reduce((a, b) => a + b * b, 0)) || 1;
    return v.map((x) => x / norm);
  });
}

/** Releases the model's ONNX Runtime sessions. */
export async function releaseHeadModel(m: HeadModel): Promise<void> {
  for (const s of m.sessions.values()) await (await s).release();
  m.sessions.clear();
}
