import type * as Ort from 'onnxruntime-node';
import { FinetuneError } from '../../../src/errors.js';
import { type LoadedModel, loadModelFolder } from '../../../src/models/files/load-model.js';
import { mergeAdapterFolder } from '../../../src/models/files/peft.js';
import type { ChatMessage, TextTokenizer } from '../../../src/models/files/tokenizer.js';
import { Graph } from '../onnx/graph.js';
import * as op from '../onnx/ops.js';
import { type ArchConfig, archFromConfig, requireDecoder } from '../../../src/models/files/arch.js';
import { attentionBias, checkTokenIds, positionFeeds, toInt64 } from './feeds.js';
import { buildModel, type Weights } from './model-graph.js';
import { sampleNext, seededRng } from './sampling.js';
import { availableProviders, createSessionFromGraph, loadOrt, resolveProvider } from './session.js';

/** A model ready to run: its graphs are built and their sessions created on first use, then cached. */
export interface RuntimeModel {
  arch: ArchConfig;
  weights: Weights;
  tokenizer?: TextTokenizer;
  dir?: string;
  provider: string;
  threads?: number;
  /** Session per graph variant; every variant takes symbolic batch and sequence dims. */
  sessions: Map<GraphVariant, Promise<Ort.InferenceSession>>;
  external_data_threshold?: number;
  /** Milliseconds spent building graphs and creating sessions, per variant. */
  build_ms: Partial<Record<GraphVariant, number>>;
}

/** decode: last-position logits + KV cache in and out; logits: every position; score: row log-prob sums. */
type GraphVariant = 'decode' | 'logits' | 'score';

interface RuntimeOptions {
  adapter_dir?: string;
  threads?: number;
  provider?: string;
  /** Weights above this many bytes go to ONNX external data (default 1.5 GB; tests lower it). */
  external_data_threshold?: number;
}

const loaded = new Map<string, Promise<RuntimeModel>>();
const MAX_CACHED_MODELS = 2;

/** Loads a Hugging Face folder (or an already loaded model), optionally with a PEFT adapter merged in. */
export async function loadRuntimeModel(source: string | Pick<LoadedModel, 'config' | 'weights'> & Partial<LoadedModel>, options: RuntimeOptions = {}): Promise<RuntimeModel> {
  const provider = await resolveProvider(options.provider);
  if (typeof source !== 'string') return makeRuntimeModel(source, options, provider);
  const key = JSON.stringify([source, options.adapter_dir ?? '', options.threads ?? 0, provider]);
  let entry = loaded.get(key);
  if (!entry) {
    entry = loadModelFolder(source).then((model) => makeRuntimeModel(model, options, provider));
    entry.catch(() => loaded.delete(key));
    loaded.set(key, entry);
    while (loaded.size > MAX_CACHED_MODELS) {
      const oldest = loaded.keys().next().value!;
      const evicted = loaded.get(oldest)!;
      loaded.delete(oldest);
      void evicted.then(releaseRuntimeModel, () => undefined);
    }
  }
  return entry;
}

function makeRuntimeModel(model: Pick<LoadedModel, 'config' | 'weights'> & Partial<LoadedModel>, options: RuntimeOptions, provider: string): RuntimeModel {
  const arch = archFromConfig(model.raw_config ?? model.config);
  requireDecoder(arch, 'generate text');
  let weights: Weights = model.weights;
  if (options.adapter_dir) weights = mergeAdapterFolder(model.weights, options.adapter_dir, arch.family);
  return { arch, weights, tokenizer: model.tokenizer, dir: model.dir, provider, threads: options.threads, external_data_threshold: options.external_data_threshold, sessions: new Map(), build_ms: {} };
}

export async function releaseRuntimeModel(model: RuntimeModel): Promise<void> {
  const sessions = [...model.sessions.values()];
  model.sessions.clear();
  for (const s of sessions) await (await s).release();
}

function buildVariant(model: RuntimeModel, variant: GraphVariant): Graph {
  const g = new Graph(`${model.arch.model_type}_${variant}`);
  const m = buildModel(g, {
    arch: model.arch,
    weights: model.weights,
    batch: 'batch',
    seq: 'seq',
    flat: false,
    ...(variant === 'decode' ? { past: 'past' } : {}),
  });
  if (variant === 'decode') {
    const last = op.sliceAxis(m.hidden, 1, -1, Number.MAX_SAFE_INTEGER);
    g.output(op.fusedMatMul(last, m.head, { transB: true }), 'logits');
    m.presents.forEach((p, i) => g.output(p, `present_${i % 2 ? 'value' : 'key'}_${Math.floor(i / 2)}`));
  } else {
    const logits = op.fusedMatMul(m.hidden, m.head, { transB: true });
    if (variant === 'logits') g.output(logits, 'logits');
    else {
      const targets = g.input('targets', 'int64', ['batch', 'seq', 1]);
      const weights = g.input('weights', 'float32', ['batch', 'seq']);
      const picked = op.reshape(op.pickLogSoftmax(logits, targets), [0, 0], ['batch', 'seq']);
      g.output(op.reduceSum(op.mul(picked, weights), [1], false), 'row_logps');
    }
  }
  return g;
}

function session(model: RuntimeModel, variant: GraphVariant): Promise<Ort.InferenceSession> {
  let s = model.sessions.get(variant);
  if (!s) {
    const started = performance.now();
    s = createSessionFromGraph(buildVariant(model, variant), { threads: model.threads, provider: model.provider, external_data_threshold: model.external_data_threshold }).then((r) => {
      model.build_ms[variant] = performance.now() - started;
      return r.session;
    });
    s.catch(() => model.sessions.delete(variant));
    model.sessions.set(variant, s);
  }
  return s;
}

async function positionTensors(arch: ArchConfig, start: number, count: number): Promise<Record<string, Ort.Tensor>> {
  const ort = await loadOrt();
  const out: Record<string, Ort.Tensor> = {};
  for (const [name, p] of Object.entries(positionFeeds(arch, start, count))) out[name] = new ort.Tensor(p.data instanceof Float32Array ? 'float32' : 'int64', p.data, p.dims);
  return out;
}

/** Logits [B, T, V] for right-padded rows (padding keys masked). */
export async function forwardLogits(model: RuntimeModel, rows: readonly (readonly number[])[]): Promise<{ logits: Float32Array; dims: number[]; provider: string }> {
  const ort = await loadOrt();
  const { ids, mask, T } = padRows(rows, model.arch);
  const s = await session(model, 'logits');
  const out = await s.run({
    input_ids: new ort.Tensor('int64', ids, [rows.length, T]),
    attn_bias: new ort.Tensor('float32', attentionBias(rows.length, T, 0, mask, model.arch.sliding_window), [rows.length, 1, T, T]),
    ...(await positionTensors(model.arch, 0, T)),
  });
  return { logits: out.logits!.data as Float32Array, dims: [...out.logits!.dims], provider: model.provider };
}

function padRows(rows: readonly (readonly number[])[], arch: ArchConfig): { ids: BigInt64Array; mask: Float32Array; T: number } {
  if (!rows.length || rows.some((r) => !r.length)) throw new FinetuneError('INVALID_INPUT', 'every row needs at least one token', { details: { field: 'input_ids' } });
  rows.forEach((r, b) => checkTokenIds(r, arch.vocab_size, `input_ids[${b}]`));
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * T);
  const mask = new Float32Array(rows.length * T);
  rows.forEach((r, b) =>
    r.forEach((id, t) => {
      ids[b * T + t] = BigInt(id);
      mask[b * T + t] = 1;
    }),
  );
  return { ids, mask, T };
}

interface ScoreBatch {
  /** Token ids per row (ragged; padded internally). */
  input_ids: readonly (readonly number[])[];
  /** Per row, 1 where the token at t is scored (predicted from t-1); default: every token but the first. */
  loss_mask?: readonly (readonly number[])[];
}

/** Per-row sums of log p(token | prefix) and scored-token counts (perplexity, DPO references). */
export async function scoreSequences(model: RuntimeModel, batch: ScoreBatch): Promise<{ logps: number[]; tokens: number[]; provider: string }> {
  const ort = await loadOrt();
  const rows = batch.input_ids;
  const { ids, mask, T } = padRows(rows, model.arch);
  const B = rows.length;
  const targets = new BigInt64Array(B * T);
  const weights = new Float32Array(B * T);
  const tokens = new Array<number>(B).fill(0);
  rows.forEach((r, b) => {
    const lm = batch.loss_mask?.[b];
    for (let t = 0; t + 1 < r.length; t++) {
      const w = lm ? (lm[t + 1] ?? 0) : 1;
      targets[b * T + t] = BigInt(r[t + 1]!);
      weights[b * T + t] = w;
      tokens[b]! += w;
    }
  });
  const s = await session(model, 'score');
  const out = await s.run({
    input_ids: new ort.Tensor('int64', ids, [B, T]),
    attn_bias: new ort.Tensor('float32', attentionBias(B, T, 0, mask, model.arch.sliding_window), [B, 1, T, T]),
    targets: new ort.Tensor('int64', targets, [B, T, 1]),
    weights: new ort.Tensor('float32', weights, [B, T]),
    ...(await positionTensors(model.arch, 0, T)),
  });
  return { logps: [...(out.row_logps!.data as Float32Array)], tokens, provider: model.provider };
}

export interface GenerateRequest {
  prompt?: string;
  messages?: ChatMessage[];
  /** Token ids to start from instead of text. */
  input_ids?: number[];
  max_tokens?: number;
  /** 0 (the default) = greedy. */
  temperature?: number;
  top_k?: number;
  top_p?: number;
  repetition_penalty?: number;
  stop?: string[];
  seed?: number;
  /** Reuse keys and values of earlier positions (default); false recomputes the whole prefix each token. */
  use_cache?: boolean;
  signal?: AbortSignal;
  /** Called with each new piece of text as it becomes final (see TextStream); the pieces join to `text`. */
  on_text?: (delta: string) => void;
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  prompt_tokens: number;
  finish_reason: 'stop' | 'length';
  provider: string;
  tokens_per_s: number;
}

function promptIds(model: RuntimeModel, req: GenerateRequest): number[] {
  if (req.input_ids) return req.input_ids;
  const tok = model.tokenizer;
  if (!tok) throw new FinetuneError('INVALID_INPUT', 'this model has no tokenizer: pass input_ids', { details: { field: 'prompt' } });
  if (req.messages) return tok.encode(tok.applyChatTemplate(req.messages, { add_generation_prompt: true }), { add_special_tokens: false });
  if (req.prompt !== undefined) return tok.encode(req.prompt);
  throw new FinetuneError('INVALID_INPUT', 'give a prompt or messages', { details: { field: 'prompt' } });
}

export async function generate(model: RuntimeModel, req: GenerateRequest): Promise<GenerateResult> {
  const ort = await loadOrt();
  const { arch } = model;
  const prompt = promptIds(model, req);
  if (!prompt.length) throw new FinetuneError('INVALID_INPUT', 'the prompt encodes to no tokens', { details: { field: 'prompt' } });
  checkTokenIds(prompt, arch.vocab_size, 'input_ids');
  if (prompt.length >= arch.max_positions) {
    throw new FinetuneError('INVALID_INPUT', `the prompt has ${prompt.length} tokens; this model's context holds ${arch.max_positions}`, { details: { field: 'prompt' } });
  }
  const maxTokens = Math.min(req.max_tokens ?? 128, arch.max_positions - prompt.length);
  const eos = new Set([...arch.eos_token_ids, ...(model.tokenizer?.eos_token_id != null ? [model.tokenizer.eos_token_id] : [])]);
  const rng = seededRng(req.seed ?? Math.floor(Math.random() * 2 ** 32));
  const sampling = { temperature: req.temperature ?? 0, top_k: req.top_k, top_p: req.top_p, repetition_penalty: req.repetition_penalty };
  const useCache = req.use_cache ?? true;
  const s = await session(model, 'decode');
  const empty = new Float32Array(0);
  const pastShape = (len: number) => [1, arch.num_kv_heads, len, arch.head_dim];
  let past: Ort.Tensor[] = [];
  for (let i = 0; i < arch.num_layers * 2; i++) past.push(new ort.Tensor('float32', empty, pastShape(0)));
  const all = [...prompt];
  const generated: number[] = [];
  let finish: 'stop' | 'length' = 'length';
  let cut: string | undefined;
  const started = performance.now();
  const stream = req.on_text && model.tokenizer ? new TextStream(req.on_text, req.stop) : undefined;
  while (generated.length < maxTokens) {
    if (req.signal?.aborted) throw new FinetuneError('CANCELLED', 'generation was cancelled');
    const pastLen = useCache ? all.length - (generated.length ? 1 : prompt.length) : 0;
    const chunk = useCache ? all.slice(pastLen) : all;
    const feeds: Record<string, Ort.Tensor> = {
      input_ids: new ort.Tensor('int64', toInt64(chunk), [1, chunk.length]),
      attn_bias: new ort.Tensor('float32', attentionBias(1, chunk.length, pastLen, undefined, arch.sliding_window), [1, 1, chunk.length, pastLen + chunk.length]),
      ...(await positionTensors(arch, pastLen, chunk.length)),
    };
    for (let l = 0; l < arch.num_layers; l++) {
      feeds[`past_key_${l}`] = useCache ? past[2 * l]! : new ort.Tensor('float32', empty, pastShape(0));
      feeds[`past_value_${l}`] = useCache ? past[2 * l + 1]! : new ort.Tensor('float32', empty, pastShape(0));
    }
    const out = await s.run(feeds);
    if (useCache) past = Array.from({ length: arch.num_layers * 2 }, (_, i) => out[`present_${i % 2 ? 'value' : 'key'}_${Math.floor(i / 2)}`]!);
    const next = sampleNext(out.logits!.data as Float32Array, all, sampling, rng);
    if (eos.has(next)) {
      finish = 'stop';
      break;
    }
    generated.push(next);
    all.push(next);
    if (req.stop?.length && model.tokenizer) {
      const text = model.tokenizer.decode(generated, { skip_special_tokens: true });
      const at = Math.min(...req.stop.map((st) => (st ? text.indexOf(st) : -1)).filter((i) => i >= 0));
      if (Number.isFinite(at)) {
        cut = text.slice(0, at);
        finish = 'stop';
        break;
      }
    }
    stream?.update(model.tokenizer!.decode(generated, { skip_special_tokens: true }));
  }
  const seconds = (performance.now() - started) / 1000;
  const text = cut ?? (model.tokenizer ? model.tokenizer.decode(generated, { skip_special_tokens: true }) : '');
  stream?.finish(text);
  return { text, tokens: generated, prompt_tokens: prompt.length, finish_reason: finish, provider: model.provider, tokens_per_s: generated.length / Math.max(seconds, 1e-9) };
}

/**
 * Hands out the decoded text as it grows, holding back what may still change: a trailing U+FFFD (a
 * character whose bytes are not all generated yet) and the last characters that could begin a stop
 * string (the final text is cut before it). `finish` sends the rest, so the pieces join to the text.
 */
class TextStream {
  private sent = '';
  private readonly holdBack: number;

  constructor(
    private readonly emit: (delta: string) => void,
    stop: readonly string[] | undefined,
  ) {
    this.holdBack = Math.max(0, ...(stop ?? []).map((s) => s.length - 1));
  }

  update(text: string): void {
    let upTo = text.length - this.holdBack;
    while (upTo > this.sent.length && text.charCodeAt(upTo - 1) === 0xfffd) upTo--;
    if (upTo > this.sent.length && text.startsWith(this.sent)) this.send(text.slice(0, upTo));
  }

  finish(text: string): void {
    if (text.length > this.sent.length && text.startsWith(this.sent)) this.send(text);
  }

  private send(upTo: string): void {
    const delta = upTo.slice(this.sent.length);
    this.sent = upTo;
    this.emit(delta);
  }
}

/** What the runtime can use here: providers of the installed onnxruntime-node, and the default. */
export async function runtimeInfo(): Promise<{ onnxruntime_version: string; providers: string[]; default_provider: string; cached_models: number }> {
  const ort = await loadOrt();
  return { onnxruntime_version: ort.env.versions?.common ?? 'unknown', providers: await availableProviders(), default_provider: 'cpu', cached_models: loaded.size };
}
