import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../errors.js';
import { readUserJson } from '../../workspace/confine.js';
import { writeFileAtomic } from '../../workspace/atomic-write.js';
import type { LoadedModel, WeightTensor } from './load-model.js';
import { readSafetensors, writeSafetensors, writeSafetensorsShards } from './safetensors.js';

/**
 * LoRA adapters in Hugging Face PEFT's layout (adapter_config.json + adapter_model.safetensors),
 * so an adapter trained here loads in PEFT and one trained with PEFT loads here.
 */

export interface LoraPair {
  /** lora_A: [r, in_features]. */
  A: WeightTensor;
  /** lora_B: [out_features, r]. */
  B: WeightTensor;
  /** This module's lora_alpha when the adapter's alpha_pattern overrides it. */
  alpha?: number;
}

export interface PeftAdapter {
  base_model_name_or_path: string;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[];
  use_rslora: boolean;
  /** True for GPT-2's Conv1D weights stored [in, out] (PEFT's fan_in_fan_out). */
  fan_in_fan_out?: boolean;
  /** Keyed by the Hugging Face module name, e.g. `model.layers.0.self_attn.q_proj`. */
  tensors: Map<string, LoraPair>;
  /** PEFT task type: CAUSAL_LM (default), SEQ_CLS (a classification head), FEATURE_EXTRACTION (embeddings). */
  task_type?: string;
  /** Whole modules trained beside the adapters (PEFT's modules_to_save), by Hugging Face tensor name, e.g. `score.weight`. */
  saved_modules?: Map<string, WeightTensor>;
}

/** The module names PEFT lists in modules_to_save for tensors such as `score.weight`. */
function savedModuleNames(saved: Map<string, WeightTensor> | undefined): string[] | null {
  return saved?.size ? [...new Set([...saved.keys()].map((n) => n.slice(0, n.lastIndexOf('.'))))] : null;
}

const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
const PEFT_PREFIX = 'base_model.model.';

/** The PEFT tensor name of a module's lora_A / lora_B weight. */
function peftTensorName(module: string, which: 'A' | 'B'): string {
  return `${PEFT_PREFIX}${module}.lora_${which}.weight`;
}

/** LoRA's scale: alpha / r, or alpha / sqrt(r) with rank-stabilised LoRA. */
function loraScale(adapter: Pick<PeftAdapter, 'lora_alpha' | 'use_rslora'>, r: number): number {
  return adapter.use_rslora ? adapter.lora_alpha / Math.sqrt(r) : adapter.lora_alpha / r;
}

function checkPair(module: string, pair: LoraPair, where: string): void {
  const [r, inFeatures] = pair.A.shape;
  const [outFeatures, rB] = pair.B.shape;
  if (pair.A.shape.length !== 2 || pair.B.shape.length !== 2 || r !== rB || pair.A.data.length !== r * inFeatures || pair.B.data.length !== outFeatures * rB) {
    throw new FinetuneError('INVALID_INPUT', `LoRA tensors of ${module} in ${where} have shapes A [${pair.A.shape}] and B [${pair.B.shape}]; expected A [r, in] and B [out, r].`, {
      details: { file: where, field: module },
    });
  }
}

/** Writes adapter_model.safetensors, then adapter_config.json (its presence marks a complete adapter). */
export function writePeftAdapter(dir: string, adapter: PeftAdapter): void {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, WeightTensor>();
  for (const [module, pair] of adapter.tensors) {
    checkPair(module, pair, dir);
    tensors.set(peftTensorName(module, 'A'), pair.A);
    tensors.set(peftTensorName(module, 'B'), pair.B);
  }
  // PEFT saves a modules_to_save copy as base_model.model.<module>.weight (the `modules_to_save.default` part dropped).
  for (const [name, tensor] of adapter.saved_modules ?? []) tensors.set(`${PEFT_PREFIX}${name}`, tensor);
  writeSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), tensors, { format: 'pt' });
  const config = {
    peft_type: 'LORA',
    task_type: adapter.task_type ?? 'CAUSAL_LM',
    base_model_name_or_path: adapter.base_model_name_or_path,
    revision: null,
    inference_mode: true,
    r: adapter.r,
    lora_alpha: adapter.lora_alpha,
    lora_dropout: adapter.lora_dropout,
    target_modules: adapter.target_modules,
    use_rslora: adapter.use_rslora,
    use_dora: false,
    fan_in_fan_out: adapter.fan_in_fan_out ?? false,
    bias: 'none',
    init_lora_weights: true,
    modules_to_save: savedModuleNames(adapter.saved_modules),
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
  };
  writeFileAtomic(join(dir, ADAPTER_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
}

/** Reads a PEFT LoRA adapter folder (ours or PEFT's own output). */
export function readPeftAdapter(dir: string): PeftAdapter {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  for (const path of [configPath, weightsPath]) {
    if (!existsSync(path)) {
      throw new FinetuneError('FILE_ERROR', `${dir} is not a PEFT adapter folder: ${path} is missing.`, {
        recovery: 'Point at a folder holding adapter_config.json and adapter_model.safetensors (a job\'s output/adapter).',
        details: { file: path },
      });
    }
  }
  const config = readUserJson(configPath, 'adapter_path') as Record<string, unknown>;
  if (config.use_dora === true) {
    throw new FinetuneError('MODEL_UNSUPPORTED', `${configPath} is a DoRA adapter (use_dora); only plain LoRA adapters are supported.`, {
      details: { file: configPath, field: 'use_dora' },
    });
  }
  if (config.peft_type !== 'LORA') {
    throw new FinetuneError('MODEL_UNSUPPORTED', `${configPath} has peft_type ${JSON.stringify(config.peft_type)}; only LORA adapters are supported.`, {
      details: { file: configPath, field: 'peft_type' },
    });
  }
  const halves = new Map<string, Partial<LoraPair>>();
  const savedModules = Array.isArray(config.modules_to_save) ? (config.modules_to_save as unknown[]).map(String) : [];
  const saved = new Map<string, WeightTensor>();
  // PEFT saves `base_model.model.<module>.lora_A.weight` (older versions keep the adapter name: `.lora_A.default.weight`).
  const pattern = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/;
  for (const [name, tensor] of readSafetensors(weightsPath)) {
    const match = pattern.exec(name);
    if (!match) {
      const bare = name.startsWith(PEFT_PREFIX) ? name.slice(PEFT_PREFIX.length).replace('.modules_to_save.default.', '.') : '';
      if (savedModules.some((m) => bare === m || bare.startsWith(`${m}.`))) saved.set(bare, { shape: tensor.shape, data: tensor.data });
      continue;
    }
    const entry = halves.get(match[1]) ?? {};
    entry[match[2] as 'A' | 'B'] = { shape: tensor.shape, data: tensor.data };
    halves.set(match[1], entry);
  }
  const tensors = new Map<string, LoraPair>();
  for (const [module, pair] of halves) {
    if (!pair.A || !pair.B) {
      throw new FinetuneError('FILE_ERROR', `${weightsPath} holds lora_${pair.A ? 'A' : 'B'} but not lora_${pair.A ? 'B' : 'A'} for ${module}.`, {
        details: { file: weightsPath, field: module },
      });
    }
    checkPair(module, pair as LoraPair, weightsPath);
    const alpha = patternValue(config.alpha_pattern, module);
    tensors.set(module, alpha === undefined ? (pair as LoraPair) : { ...(pair as LoraPair), alpha });
  }
  const targets = config.target_modules;
  return {
    base_model_name_or_path: String(config.base_model_name_or_path ?? ''),
    r: Number(config.r),
    lora_alpha: Number(config.lora_alpha ?? config.r),
    lora_dropout: Number(config.lora_dropout ?? 0),
    target_modules: Array.isArray(targets) ? (targets as string[]) : typeof targets === 'string' ? [targets] : [],
    use_rslora: Boolean(config.use_rslora ?? false),
    fan_in_fan_out: Boolean(config.fan_in_fan_out ?? false),
    tensors,
    ...(typeof config.task_type === 'string' ? { task_type: config.task_type } : {}),
    ...(saved.size ? { saved_modules: saved } : {}),
  };
}

/** PEFT's rank/alpha_pattern lookup: a key matches a module whose name is the key or ends with `.key`. */
function patternValue(pattern: unknown, module: string): number | undefined {
  if (!pattern || typeof pattern !== 'object') return undefined;
  for (const [key, value] of Object.entries(pattern as Record<string, unknown>)) {
    if ((module === key || module.endsWith(`.${key}`)) && typeof value === 'number') return value;
  }
  return undefined;
}

/**
 * W' = W + scale · B·A for every adapted module (transposed for fan_in_fan_out Conv1D weights).
 * Returns a new Map; untouched weights are shared, adapted ones are fresh arrays.
 */
export function mergeLora(weights: Map<string, WeightTensor>, adapter: PeftAdapter): Map<string, WeightTensor> {
  const merged = new Map(weights);
  for (const [module, { A, B, alpha }] of adapter.tensors) {
    const name = `${module}.weight`;
    const base = weights.get(name);
    if (!base) {
      throw new FinetuneError('INVALID_INPUT', `The adapter targets ${module} but the base model has no ${name}.`, {
        recovery: 'Use the adapter with the base model it was trained on (adapter_config.json base_model_name_or_path).',
        details: { field: module },
      });
    }
    const [r, inFeatures] = A.shape;
    const outFeatures = B.shape[0];
    const transposed = adapter.fan_in_fan_out ?? false;
    const expected = transposed ? [inFeatures, outFeatures] : [outFeatures, inFeatures];
    if (base.shape[0] !== expected[0] || base.shape[1] !== expected[1]) {
      throw new FinetuneError('INVALID_INPUT', `${name} has shape [${base.shape}] but the adapter's B·A is [${outFeatures}, ${inFeatures}]${transposed ? ' (fan_in_fan_out)' : ''}.`, {
        details: { field: module },
      });
    }
    const scale = loraScale({ lora_alpha: alpha ?? adapter.lora_alpha, use_rslora: adapter.use_rslora }, r);
    const data = Float32Array.from(base.data);
    for (let o = 0; o < outFeatures; o++) {
      for (let k = 0; k < r; k++) {
        const b = scale * B.data[o * r + k];
        if (b === 0) continue;
        const aRow = k * inFeatures;
        for (let i = 0; i < inFeatures; i++) {
          data[transposed ? i * outFeatures + o : o * inFeatures + i] += b * A.data[aRow + i];
        }
      }
    }
    merged.set(name, { shape: [...base.shape], data });
  }
  return merged;
}

/**
 * The weights with the PEFT adapter in `adapterDir` merged in. PEFT names GPT-2 modules
 * `transformer.h.N…` while GPT-2's own checkpoints drop `transformer.`, and its Conv1D weights are
 * [in, out] (fan_in_fan_out): the adapter is aligned with the weights it merges into first.
 */
export function mergeAdapterFolder(weights: Map<string, WeightTensor>, adapterDir: string, family: 'llama' | 'gpt2' | 'bert'): Map<string, WeightTensor> {
  const adapter = readPeftAdapter(adapterDir);
  if (family !== 'gpt2') return mergeLora(weights, adapter);
  const tensors: PeftAdapter['tensors'] = new Map();
  for (const [module, pair] of adapter.tensors) {
    const bare = module.startsWith('transformer.') ? module.slice('transformer.'.length) : module;
    tensors.set(!weights.has(`${module}.weight`) && weights.has(`${bare}.weight`) ? bare : module, pair);
  }
  return mergeLora(weights, { ...adapter, fan_in_fan_out: true, tensors });
}

const COPIED_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'chat_template.jinja'];

/**
 * Writes a complete Hugging Face folder for `weights` (e.g. merged ones): model.safetensors (sharded
 * past `maxShardBytes`), the tokenizer files of `model`, and config.json last. Wrap in
 * writeDirAtomic for an all-or-nothing folder. Returns the file names written.
 */
export function writeModelFolder(dir: string, model: Pick<LoadedModel, 'dir' | 'raw_config'>, weights: Map<string, WeightTensor>, maxShardBytes = Infinity): string[] {
  mkdirSync(dir, { recursive: true });
  const files = writeSafetensorsShards(dir, weights, maxShardBytes, { format: 'pt' });
  for (const file of COPIED_FILES) {
    if (existsSync(join(model.dir, file))) {
      copyFileSync(join(model.dir, file), join(dir, file));
      files.push(file);
    }
  }
  writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify({ ...model.raw_config, torch_dtype: 'float32' }, null, 2)}\n`);
  return ['config.json', ...files];
}
