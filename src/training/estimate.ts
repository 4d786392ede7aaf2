import { FinetuneError } from '../errors.js';
import { readFileSync, statSync } from 'node:fs';
import type { Quote, QuoteBasis, TrainingBackend, TrainingHyperparameters, TrainingSpec } from '../plugins/providers.js';
import type { TrainingDeps } from './deps.js';
import { backendCapabilities } from './configure.js';
import { kvDimension, resolveInputs, type DatasetFacts, type ModelFacts, type TrainingInputs } from './inputs.js';
import { JobLedger, type StoredConfig } from './ledger.js';
import type { TrainingSettings } from './settings.js';
import { buildSpec } from './spec.js';

/** One number of the estimate with how it was computed. */
interface Figure {
  value: number;
  unit: string;
  formula: string;
}

interface DeviceOption {
  device: string;
  /** Devices the option runs on: the job's own count, or the fewest that fit when that is more. */
  count: number;
  fits: boolean;
  memory_gb: number;
  /** Training memory each device holds with `count` of them. */
  need_gb: number;
  seconds: number;
  cost_usd: number;
}

export interface ResourceEstimate {
  backend: string;
  parameters: Figure;
  trainable_parameters: Figure;
  memory: { total_gb: number; per_device_gb: number; parts: Record<string, Figure> };
  tokens: { per_epoch: Figure; total: Figure; steps: Figure };
  flops: Figure;
  time: Figure;
  cost: Figure;
  device: string;
  /** Devices the job runs on (backend_options.num_gpus × num_nodes, or instance_count). */
  device_count: number;
  recommended_device: string | null;
  /** Devices the recommended option needs (more than the job asks when one does not fit). */
  recommended_count: number | null;
  devices: DeviceOption[];
  fits: boolean;
  calibrated?: { tokens_per_s?: number; billed_tokens?: number; cost_usd?: number; source: string };
  assumptions: string[];
}

const GB = 1024 ** 3;
const DTYPE_BYTES: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2 };

/**
 * Memory, tokens, FLOPs, time and cost of a config, each with its formula and assumptions. A caller
 * that has resolved the config's inputs already (the pre-flight) passes them.
 */
export async function estimateResources(services: TrainingDeps, config: StoredConfig, options: { calibrate?: boolean; inputs?: TrainingInputs } = {}): Promise<ResourceEstimate> {
  const settings = services.config.training;
  const { dataset, model } = options.inputs ?? (await resolveInputs(services, config));
  const backend = await services.plugins.get('training_backend', config.backend);
  const spec = await buildSpec(services, config, 'estimate', null, { dataset, model });
  const price = (basis: QuoteBasis) => priceOf(backend, spec, config.backend, basis);
  const caps = backendCapabilities(services, config.backend);
  const assumptions: string[] = [];
  const h = config.hyperparameters;

  const local = caps.devices.includes('cpu') && !caps.remote;
  const dtype = local ? 'float32' : 'bfloat16';
  assumptions.push(local ? 'Local CPU trainer: weights and activations in float32.' : 'GPU training in bfloat16 with float32 optimizer states (mixed precision).');
  const { parameters: P, shape, trainable, parts: memory, total_gb } = memoryEstimate(config, model, DTYPE_BYTES[dtype], assumptions);

  const asked = requestedDevices(config.backend_options, caps.instance_gpus);
  const tokens = tokenFigures(dataset, h, config.method, asked, assumptions);
  // Frozen weights need no weight gradients: forward (2) + input gradients (2) FLOPs per weight and token.
  const refForward = config.method === 'dpo' ? 2 * P : 0;
  // Attention scores and mixing have no weights: 2 × layers × context × hidden FLOPs per token forward,
  // three times that with the backward pass (Kaplan et al. 2020); context = the mean row length.
  const context = Math.min(tokens.mean_row_tokens, config.hyperparameters.max_seq_length);
  const attention = 6 * shape.layers * context * shape.hidden * (config.method === 'dpo' ? 4 / 3 : 1);
  const weightFlops = config.approach === 'full' ? 6 * P : 4 * P + 6 * trainable;
  const flops: Figure = {
    value: (weightFlops + attention + refForward) * tokens.total.value,
    unit: 'FLOP',
    formula:
      `(${config.approach === 'full' ? '6 × parameters' : '4 × frozen + 6 × trainable'} + 6 × layers × context × hidden (attention)` +
      `${config.method === 'dpo' ? ' + 2 × parameters (reference forward, attention likewise)' : ''}) × tokens; context ${Math.round(context)} tokens`,
  };

  if (P < 1e7) assumptions.push('Under ~10M parameters, fixed per-step costs (data, optimizer in JS, evals, checkpoints) outweigh FLOPs: the time is a lower bound; calibrate=true measures it.');
  // A backend that names no device with known figures runs on hardware its provider picks.
  const hosted = caps.devices.length > 0 && !caps.devices.some((d) => settings.devices[d]);
  if (hosted) assumptions.push(`'${config.backend}' runs on hardware its provider picks: memory is for information and does not block the run.`);
  const layout: DeviceLayout = { approach: config.approach, parts: memory, asked, max: Math.max(asked, caps.max_devices ?? 1) };
  if (layout.max > 1) assumptions.push(perDeviceAssumption(config.approach));
  const devices = await deviceOptions(caps.devices, settings, hosted ? undefined : layout, flops.value, (device, seconds) => price({ tokens: tokens.total.value, seconds, device, calibrate: false }), assumptions);
  // gpu (Modal), device, gpu_type (Ray's accelerator type) or a cloud's instance_type: the device a plan is sized and priced for.
  const instance = config.backend_options.instance_type;
  const pinned = [config.backend_options.gpu, config.backend_options.device, config.backend_options.gpu_type, typeof instance === 'string' ? caps.instance_types?.[instance] : undefined].find(
    (value): value is string => typeof value === 'string',
  );
  // Cheapest, then fastest, then fewest devices (an unpriced cluster ties on cost).
  const fitting = devices.filter((d) => d.fits).sort((a, b) => a.cost_usd - b.cost_usd || a.seconds - b.seconds || a.count - b.count);
  const recommendation = fitting.find((d) => d.count === asked) ?? fitting[0];
  const recommended = recommendation?.device ?? null;
  // The job runs on the count it asks for: the chosen option is that one, never a larger recommendation.
  const own = devices.filter((d) => d.count === asked);
  const chosen = own.find((d) => d.device === pinned) ?? own.find((d) => d.device === recommended) ?? own[0];
  const figures = chosen ? deviceFigures(settings, chosen.device) : undefined;
  const figuresOf = chosen && !settings.devices[chosen.device] ? `${chosen.device}, taken as ${HOSTED_REFERENCE}` : (chosen?.device ?? 'unknown device');
  let time: Figure = {
    value: chosen?.seconds ?? 0,
    unit: 's',
    formula: `FLOPs / (${figures?.tflops ?? '?'} TFLOP/s peak of ${figuresOf} × MFU ${figures?.mfu ?? settings.mfu})`,
  };
  let calibrated: ResourceEstimate['calibrated'];
  let cost = costFigure(chosen ? await price({ tokens: tokens.total.value, seconds: time.value, device: chosen.device, calibrate: false }) : undefined);
  if (options.calibrate) {
    // The backend's own figures win: a measured throughput, the provider's token count and its price.
    const measured = 'measure' in backend && backend.measure ? await backend.measure(spec) : undefined;
    if (measured) time = { value: tokens.total.value / measured.tokens_per_s, unit: 's', formula: `tokens / ${measured.tokens_per_s.toFixed(0)} tokens/s (measured by a short run on '${config.backend}')` };
    const quote = await price({ tokens: tokens.total.value, seconds: time.value, device: chosen?.device ?? caps.devices[0] ?? 'unknown', calibrate: true });
    if (quote?.billed_tokens) tokens.total = { value: quote.billed_tokens, unit: 'tokens', formula: `billed tokens counted by the '${config.backend}' backend's own quote` };
    cost = costFigure(quote);
    if (measured || quote?.billed_tokens) {
      calibrated = {
        ...(measured ? { tokens_per_s: measured.tokens_per_s } : {}),
        // A provider that counted the tokens priced them too.
        ...(quote?.billed_tokens ? { billed_tokens: quote.billed_tokens, cost_usd: quote.usd } : {}),
        source: measured ? `a short measured run on '${config.backend}'` : `the '${config.backend}' backend's own quote`,
      };
    } else assumptions.push(`Backend '${config.backend}' measures no run of its own; the time is from the formulas.`);
  }
  return {
    backend: config.backend,
    parameters: { value: P, unit: 'parameters', formula: model.parameters ? 'from the model record / config.json' : 'assumed' },
    trainable_parameters: {
      value: trainable,
      unit: 'parameters',
      formula: config.approach === 'full' ? 'all parameters' : `per layer: r × (in + out) summed over target modules (r = ${h.lora_r}) × ${shape.layers} layers`,
    },
    memory: { total_gb: round(total_gb), per_device_gb: round(perDeviceGb(layout, asked)), parts: memory },
    tokens: { per_epoch: tokens.per_epoch, total: tokens.total, steps: tokens.steps },
    flops,
    time: { ...time, value: Math.round(time.value) },
    cost,
    device: chosen?.device ?? 'unknown',
    device_count: asked,
    recommended_device: recommended,
    recommended_count: recommendation?.count ?? null,
    devices,
    fits: chosen?.fits ?? false,
    ...(calibrated ? { calibrated } : {}),
    assumptions,
  };
}

/** estimate_resources: the estimate of a stored config. */
export function estimateConfig(services: TrainingDeps, config_id: string, options: { calibrate?: boolean } = {}): Promise<ResourceEstimate> {
  return estimateResources(services, new JobLedger(services.workspace.db).getConfig(config_id), options);
}

/** What memory depends on: the training run's method, approach and hyperparameters. */
type MemoryRun = Pick<StoredConfig, 'method' | 'approach' | 'hyperparameters'>;

/**
 * Training memory of a run on a model (weights, adapters and optimizer, activations, logits, DPO
 * reference), each part with its formula; `bytes` is the compute dtype's size (4 on CPU, 2 on GPU).
 * recommend_base_model checks catalogue models against a GPU's memory with it.
 */
export function memoryEstimate(run: MemoryRun, model: ModelFacts, bytes: number, assumptions: string[]): { parameters: number; shape: Shape; trainable: number; parts: Record<string, Figure>; total_gb: number } {
  const P = model.parameters ?? 7e9;
  if (!model.parameters) assumptions.push(`Model size unknown: assumed 7B parameters.`);
  const shape = modelShape(model, P, assumptions);
  const trainable = run.approach === 'full' ? P : loraParameters(shape, run.hyperparameters);
  const parts = memoryParts(run, shape, P, trainable, bytes, assumptions);
  return { parameters: P, shape, trainable, parts, total_gb: Object.values(parts).reduce((sum, f) => sum + f.value, 0) };
}

interface Shape {
  layers: number;
  hidden: number;
  ff: number;
  vocab: number;
  heads: number;
  /** Width of the k and v projections (smaller than hidden with grouped-query attention). */
  kv: number;
}

export function modelShape(model: ModelFacts, P: number, assumptions: string[]): Shape {
  if (model.layers && model.hidden_size) {
    return {
      layers: model.layers,
      hidden: model.hidden_size,
      ff: model.intermediate_size ?? 4 * model.hidden_size,
      vocab: model.vocab_size ?? 32000,
      heads: model.heads ?? Math.max(1, Math.round(model.hidden_size / 64)),
      kv: kvDimension(model),
    };
  }
  // Llama-family proportions: P ≈ 12.6 · layers · d², layers ≈ d / 128.
  const hidden = Math.round(Math.cbrt((P * 128) / 12.6) / 64) * 64 || 64;
  const layers = Math.max(1, Math.round(hidden / 128));
  assumptions.push(`Model shape unknown: assumed a Llama-like decoder with ${layers} layers of width ${hidden} for ${fmt(P)} parameters.`);
  return { layers, hidden, ff: Math.round((hidden * 8) / 3), vocab: 32000, heads: Math.max(1, hidden / 128), kv: hidden };
}

/** LoRA adds r × (in + out) per adapted linear layer. */
export function loraParameters(shape: Shape, h: Pick<TrainingHyperparameters, 'lora_r' | 'target_modules'>): number {
  const d = shape.hidden;
  const ff = shape.ff;
  const kv = shape.kv;
  const modules: Record<string, [number, number]> = { q_proj: [d, d], k_proj: [d, kv], v_proj: [d, kv], o_proj: [d, d], gate_proj: [d, ff], up_proj: [d, ff], down_proj: [ff, d] };
  const targets = h.target_modules === 'all-linear' ? Object.keys(modules) : h.target_modules.filter((m) => m in modules);
  const perLayer = targets.reduce((s, m) => s + h.lora_r * (modules[m][0] + modules[m][1]), 0);
  return perLayer * shape.layers;
}

function memoryParts(config: MemoryRun, s: Shape, P: number, trainable: number, bytes: number, assumptions: string[]): Record<string, Figure> {
  const h = config.hyperparameters;
  const parts: Record<string, Figure> = {};
  const b = h.batch_size * (config.method === 'dpo' ? 2 : 1);
  const seq = h.max_seq_length;
  if (config.approach === 'qlora' && bytes === 4) {
    // the local engine: linear weights NF4 with a float32 absmax per 64 values, the rest float32
    const linear = Math.min(P, s.layers * (2 * s.hidden * s.hidden + 2 * s.hidden * s.kv + 3 * s.hidden * s.ff));
    parts.weights = {
      value: gb(linear * 0.5625 + (P - linear) * 4),
      unit: 'GB',
      formula: 'linear-layer parameters × 0.5625 bytes (NF4 codes + float32 absmax per 64) + other parameters (embeddings, head, norms) × 4 bytes',
    };
  } else if (config.approach === 'qlora') {
    parts.weights = { value: gb((P * 4.127) / 8), unit: 'GB', formula: 'parameters × 4.127 bits (NF4 with double-quantised constants, QLoRA paper)' };
  } else if (config.approach === 'full') {
    parts.weights = { value: gb(P * bytes), unit: 'GB', formula: `parameters × ${bytes} bytes` };
  } else {
    parts.weights = { value: gb(P * bytes), unit: 'GB', formula: `parameters × ${bytes} bytes (frozen base)` };
  }
  const optimizerBytes = config.approach === 'full' && bytes === 2 ? 14 : 12;
  parts.trainable_and_optimizer = {
    value: gb(trainable * (config.approach === 'full' ? optimizerBytes : 16)),
    unit: 'GB',
    formula:
      config.approach === 'full'
        ? `trainable × ${optimizerBytes} bytes (gradients + AdamW m, v${bytes === 2 ? ' + float32 master copy' : ''})`
        : 'trainable × 16 bytes (float32 adapter weights, gradients, AdamW m and v)',
  };
  // GPU trainers (TRL, Axolotl, provider services) run with gradient checkpointing and flash attention:
  // only each layer's input is kept (2·s·b·h bytes in 16-bit) plus one layer recomputed at a time.
  // The local trainer keeps every activation (Korthikanti et al. 2022, no recomputation).
  const perLayerFull = seq * b * s.hidden * (34 + (5 * s.heads * seq) / s.hidden) * (bytes / 2);
  const checkpointed = bytes === 2;
  const activationBytes = checkpointed ? s.layers * 2 * seq * b * s.hidden + seq * b * s.hidden * 34 : s.layers * perLayerFull;
  parts.activations = {
    value: gb(activationBytes),
    unit: 'GB',
    formula: checkpointed
      ? `layers × 2 × seq × batch × hidden + 34 × seq × batch × hidden bytes (gradient checkpointing with flash attention: layer inputs kept, one layer recomputed)${config.method === 'dpo' ? '; batch doubled for chosen + rejected' : ''}`
      : `layers × seq × batch × hidden × (34 + 5 × heads × seq / hidden) × 2 bytes (float32, no recomputation; Korthikanti et al. 2022)${config.method === 'dpo' ? '; batch doubled for chosen + rejected' : ''}`,
  };
  parts.logits = { value: gb(b * seq * s.vocab * 4 * 2), unit: 'GB', formula: 'batch × seq × vocab × 4 bytes × 2 (float32 logits and their gradient)' };
  if (config.method === 'dpo') {
    const extra = config.approach === 'full' ? P * bytes : 0;
    parts.reference_model = {
      value: gb(extra),
      unit: 'GB',
      formula: config.approach === 'full' ? 'parameters × bytes (a frozen copy of the policy)' : '0: with adapters the reference is the base model with adapters disabled',
    };
  }
  assumptions.push('Memory excludes framework overhead (CUDA context, allocator fragmentation): keep ~10–20 % headroom.');
  return parts;
}

/** Token and step counts; with `devices` data-parallel processes each optimizer step takes batch × accumulation rows on every one. */
function tokenFigures(dataset: DatasetFacts, h: TrainingHyperparameters, method: string, devices: number, assumptions: string[]): ResourceEstimate['tokens'] & { mean_row_tokens: number } {
  const rows = dataset.counts.rows || 1;
  const trainRows = dataset.counts.train ?? rows;
  let meanTokens: number;
  let source: string;
  if (dataset.token_stats && dataset.token_stats.total > 0) {
    meanTokens = dataset.token_stats.total / rows;
    source = `manifest token_stats (${dataset.token_stats.tokenizer ?? 'tokenizer'}): ${dataset.token_stats.total} tokens over ${rows} rows`;
  } else {
    meanTokens = charsPerRow(dataset.train_path) / 4;
    source = 'no token_stats in the manifest: ~4 characters per token over the training file';
    assumptions.push('Token counts approximated as characters / 4 (the manifest has no token_stats).');
  }
  const perRow = Math.min(meanTokens, h.max_seq_length * (method === 'dpo' ? 2 : 1));
  const perEpoch = Math.round(perRow * trainRows);
  const rowsPerStep = h.batch_size * h.gradient_accumulation * devices;
  const per = devices > 1 ? ` × ${devices} devices` : '';
  const stepsPerEpoch = Math.max(1, Math.ceil(trainRows / rowsPerStep));
  const steps = h.max_steps > 0 ? h.max_steps : Math.ceil(stepsPerEpoch * h.epochs);
  const total = h.max_steps > 0 ? Math.round(steps * rowsPerStep * perRow) : Math.round(perEpoch * h.epochs);
  return {
    mean_row_tokens: perRow,
    per_epoch: { value: perEpoch, unit: 'tokens', formula: `train rows ${trainRows} × min(mean tokens/row ${meanTokens.toFixed(1)}, max_seq_length) — ${source}` },
    total: { value: total, unit: 'tokens', formula: h.max_steps > 0 ? `max_steps ${steps} × batch ${h.batch_size} × accumulation ${h.gradient_accumulation}${per} × tokens/row` : `tokens per epoch × ${h.epochs} epochs` },
    steps: { value: steps, unit: 'optimizer steps', formula: h.max_steps > 0 ? 'max_steps' : `ceil(train rows / (batch × accumulation${per ? ' × devices' : ''})) × epochs` },
  };
}

function charsPerRow(path: string): number {
  try {
    const size = statSync(path).size;
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n').filter((l) => l.trim()).length || 1;
    return size / lines;
  } catch {
    return 512;
  }
}

/** How the job's memory spreads over devices: the job's own count, and the most the backend can give one job. */
interface DeviceLayout {
  approach: StoredConfig['approach'];
  parts: Record<string, Figure>;
  asked: number;
  max: number;
}

/**
 * Devices the config asks for: per node backend_options.num_gpus, else the GPUs of its instance_type
 * (the trainer runs a process on each), else 1; times num_nodes (Ray) or instance_count (SageMaker, Azure ML).
 */
function requestedDevices(options: Record<string, unknown>, instanceGpus: Record<string, number> = {}): number {
  const whole = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : undefined);
  const perNode = whole(options.num_gpus) ?? (typeof options.instance_type === 'string' ? instanceGpus[options.instance_type] : undefined);
  const nodes = whole(options.num_nodes) ?? whole(options.instance_count) ?? 1;
  return (perNode ?? 1) * nodes;
}

/** Parts a full fine-tune shards across devices (ZeRO-3 / FSDP full_shard): weights, gradients and optimizer state, the reference copy. */
const SHARDED_PARTS = ['weights', 'trainable_and_optimizer', 'reference_model'];

/**
 * Memory each of `count` devices holds. Data parallel replicates the model: with adapters every device
 * holds the whole (frozen, perhaps 4-bit) base. A full fine-tune shards weights, gradients and AdamW
 * state across the devices (ZeRO-3, Rajbhandari et al. 2020; PyTorch FSDP full_shard, the trainer's);
 * each device keeps its own activations and logits.
 */
function perDeviceGb(layout: DeviceLayout | undefined, count: number): number {
  if (!layout) return 0;
  return Object.entries(layout.parts).reduce((sum, [name, part]) => sum + (layout.approach === 'full' && SHARDED_PARTS.includes(name) ? part.value / count : part.value), 0);
}

function perDeviceAssumption(approach: StoredConfig['approach']): string {
  return approach === 'full'
    ? 'Several devices: weights, gradients and optimizer state sharded across them (ZeRO-3 / FSDP full_shard), activations and logits per device; time scales with the device count, cost is device-time.'
    : 'Several devices: data parallel, every device holds the whole base model and adapters (adapters are not sharded); time scales with the device count, cost is device-time.';
}

/** The fewest devices (1, 2, 4, 8, … up to `max`) on which the job fits `memoryGb`, or undefined. */
function fewestFitting(layout: DeviceLayout, memoryGb: number): number | undefined {
  for (let count = layout.asked; count <= layout.max; count = count * 2) {
    if (perDeviceGb(layout, count) <= memoryGb) return count;
  }
  return perDeviceGb(layout, layout.max) <= memoryGb ? layout.max : undefined;
}

async function deviceOptions(
  names: string[],
  settings: TrainingSettings,
  layout: DeviceLayout | undefined,
  flops: number,
  price: (device: string, seconds: number) => Promise<Quote | undefined>,
  assumptions: string[],
): Promise<DeviceOption[]> {
  const known = names.filter((n) => settings.devices[n]);
  if (known.length < names.length) assumptions.push(`No speed or memory figures for: ${names.filter((n) => !settings.devices[n]).join(', ')} (add them under training.devices).`);
  // A hosted backend's own device (e.g. "openai-hosted") keeps its name; only its time borrows an A100's figures.
  const hosted = !known.length && names.length > 0 && HOSTED_REFERENCE in settings.devices;
  if (hosted) assumptions.push(`Time on ${names[0]} assumes one ${HOSTED_REFERENCE}, since the backend names no device with known figures.`);
  const asked = layout?.asked ?? 1;
  const options: DeviceOption[] = [];
  for (const device of hosted ? [names[0]] : known) {
    const spec = deviceFigures(settings, device);
    const option = async (count: number): Promise<DeviceOption> => {
      const seconds = flops / (spec.tflops * 1e12 * (spec.mfu ?? settings.mfu) * count);
      const need = perDeviceGb(layout, count);
      // The backend prices the job's own count; a larger count is priced as that much more device-time.
      const cost = costFigure(await price(device, (seconds * count) / asked)).value;
      return { device, count, fits: need <= spec.memory_gb, memory_gb: spec.memory_gb, need_gb: round(need), seconds: round(seconds), cost_usd: cost };
    };
    const own = await option(asked);
    options.push(own);
    const more = !own.fits && layout ? fewestFitting(layout, spec.memory_gb) : undefined;
    if (more && more > asked) options.push(await option(more));
  }
  return options;
}

/** The device whose figures time a hosted backend that names no device with known figures. */
const HOSTED_REFERENCE = 'A100-80GB';

function deviceFigures(settings: TrainingSettings, device: string): TrainingSettings['devices'][string] {
  return settings.devices[device] ?? settings.devices[HOSTED_REFERENCE];
}

/** The backend's price for a run (its list prices, or its provider's quote when calibrating); none when it quotes none. */
async function priceOf(backend: TrainingBackend, spec: TrainingSpec, name: string, basis: QuoteBasis): Promise<Quote | undefined> {
  const quote = await backend.quote?.(spec, basis);
  if (quote && !(Number.isFinite(quote.usd) && quote.usd >= 0)) throw new FinetuneError('INTERNAL', `Backend '${name}' quoted ${quote.usd} USD, which is no price.`);
  return quote;
}

function costFigure(quote: Quote | undefined): Figure {
  if (!quote) return { value: 0, unit: 'USD', formula: 'the backend quotes no price: counted as 0' };
  return { value: round(quote.usd), unit: 'USD', formula: quote.basis };
}

const gb = (bytes: number) => round(bytes / GB);
const round = (x: number) => Math.round(x * 10000) / 10000;
const fmt = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : `${(n / 1e6).toFixed(1)}M`);
