import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../../src/errors.js';
import { writeFileAtomic } from '../../../src/workspace/atomic-write.js';
import { readSafetensors, writeSafetensors } from '../model-files/safetensors.js';
import type { ParamsIo } from './checkpoint.js';

export interface NamedShape {
  name: string;
  shape: number[];
}

/** What PEFT's adapter_config.json needs to describe a LoRA adapter. */
export interface LoraAdapterConfig {
  base_model_name_or_path: string;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[];
  use_rslora: boolean;
}

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/**
 * The adapter_config.json PEFT writes for a causal-LM LoRA (keys PEFT's LoraConfig reads; the
 * rest take PEFT's defaults), so `PeftModel.from_pretrained(base, dir)` loads it as is.
 */
export function peftAdapterConfig(config: LoraAdapterConfig): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: config.base_model_name_or_path,
    r: config.r,
    lora_alpha: config.lora_alpha,
    lora_dropout: config.lora_dropout,
    target_modules: [...config.target_modules].sort(),
    use_rslora: config.use_rslora,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
  };
}

/** The module names (`q_proj`, `v_proj`) that PEFT tensor names (`…self_attn.q_proj.lora_A.weight`) adapt. */
export function loraTargetModules(tensorNames: readonly string[]): string[] {
  const modules = new Set<string>();
  for (const name of tensorNames) {
    const match = /\.([^.]+)\.lora_[AB]\.weight$/.exec(name);
    if (match) modules.add(match[1]);
  }
  return [...modules].sort();
}

/** Writes a PEFT adapter folder's two files into `dir` (which the caller makes atomic). */
export function writeAdapterFiles(dir: string, tensors: readonly NamedShape[], params: readonly Float32Array[], config: LoraAdapterConfig): void {
  const map = new Map(tensors.map((t, i) => [t.name, { shape: t.shape, data: params[i] }]));
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), map, { format: 'pt' });
  writeFileAtomic(join(dir, ADAPTER_CONFIG), `${JSON.stringify(peftAdapterConfig(config), null, 2)}\n`);
}

/** Reads named tensors from a safetensors file in the order of `tensors`, checking shapes. */
export function readNamed(file: string, tensors: readonly NamedShape[]): Float32Array[] {
  if (!existsSync(file)) throw new FinetuneError('FILE_ERROR', `${file} is missing.`, { details: { file } });
  const stored = readSafetensors(file);
  return tensors.map((t) => {
    const tensor = stored.get(t.name);
    if (!tensor || tensor.shape.join('x') !== t.shape.join('x')) {
      throw new FinetuneError('STATE_CONFLICT', `${file} has no tensor ${t.name} of shape [${t.shape}].`, {
        recovery: 'Resume with the config the checkpoint was trained with.',
        details: { file, field: t.name },
      });
    }
    return tensor.data;
  });
}

/** LoRA checkpoints: the trainable tensors as a PEFT adapter in `<checkpoint>/adapter/`. */
export function adapterParamsIo(tensors: readonly NamedShape[], config: LoraAdapterConfig): ParamsIo {
  return {
    write(dir, params) {
      writeAdapterFiles(join(dir, 'adapter'), tensors, params, config);
    },
    read(dir) {
      return readNamed(join(dir, 'adapter', ADAPTER_WEIGHTS), tensors);
    },
  };
}

/** Full fine-tuning checkpoints: the trained weights with Hugging Face names in `<checkpoint>/model.safetensors`. */
export function weightsParamsIo(tensors: readonly NamedShape[]): ParamsIo {
  return {
    write(dir, params) {
      writeSafetensors(join(dir, 'model.safetensors'), new Map(tensors.map((t, i) => [t.name, { shape: t.shape, data: params[i] }])), { format: 'pt' });
    },
    read(dir) {
      return readNamed(join(dir, 'model.safetensors'), tensors);
    },
  };
}

export function readAdapterConfig(dir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
}
