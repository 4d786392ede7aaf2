import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../../src/errors.js';
import type { WeightTensor } from '../../../src/models/files/load-model.js';
import { ADAPTER_WEIGHTS_FILE, readPeftAdapter, writePeftAdapter, type LoraPair, type PeftAdapter } from '../../../src/models/files/peft.js';
import { readSafetensors, writeSafetensors } from '../../../src/models/files/safetensors.js';
import type { ParamsIo } from './checkpoint.js';

interface NamedShape {
  name: string;
  shape: number[];
}

/** What adapter_config.json says besides the tensors. */
export type LoraAdapterConfig = Omit<PeftAdapter, 'tensors'>;

const PEFT_NAME = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/;

/** The Hugging Face module names (`model.layers.0.self_attn.q_proj`) of PEFT tensor names. */
function adaptedModules(tensorNames: readonly string[]): string[] {
  return [...new Set(tensorNames.map((n) => PEFT_NAME.exec(n)?.[1]).filter((m): m is string => Boolean(m)))];
}

/** The short module names (`q_proj`, `v_proj`) PEFT lists as target_modules. */
export function loraTargetModules(tensorNames: readonly string[]): string[] {
  return [...new Set(adaptedModules(tensorNames).map((m) => m.slice(m.lastIndexOf('.') + 1)))].sort();
}

/** The trainer's flat LoRA tensors (PEFT names) as a PeftAdapter for writePeftAdapter. */
export function toPeftAdapter(tensors: readonly NamedShape[], params: readonly Float32Array[], config: LoraAdapterConfig): PeftAdapter {
  const pairs = new Map<string, Partial<LoraPair>>();
  tensors.forEach((t, i) => {
    const match = PEFT_NAME.exec(t.name);
    if (!match) throw new FinetuneError('INTERNAL', `Trainable tensor ${t.name} is not a PEFT LoRA name.`);
    const pair = pairs.get(match[1]) ?? {};
    pair[match[2] as 'A' | 'B'] = { shape: t.shape, data: params[i] };
    pairs.set(match[1], pair);
  });
  return { ...config, tensors: pairs as Map<string, LoraPair> };
}

/** Reads a PEFT adapter folder back into the order of `tensors`, checking names and shapes. */
function fromPeftAdapter(dir: string, tensors: readonly NamedShape[]): Float32Array[] {
  const adapter = readPeftAdapter(dir);
  return tensors.map((t) => {
    const match = PEFT_NAME.exec(t.name);
    const tensor: WeightTensor | undefined = match ? adapter.tensors.get(match[1])?.[match[2] as 'A' | 'B'] : undefined;
    if (!tensor || tensor.shape.join('x') !== t.shape.join('x')) {
      throw new FinetuneError('STATE_CONFLICT', `${join(dir, ADAPTER_WEIGHTS_FILE)} has no tensor ${t.name} of shape [${t.shape}].`, {
        recovery: 'Resume with the config the checkpoint was trained with.',
        details: { file: join(dir, ADAPTER_WEIGHTS_FILE), field: t.name },
      });
    }
    return tensor.data;
  });
}

/** Reads named tensors from a safetensors file in the order of `tensors`, checking shapes. */
function readNamed(file: string, tensors: readonly NamedShape[]): Float32Array[] {
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
      writePeftAdapter(join(dir, 'adapter'), toPeftAdapter(tensors, params, config));
    },
    read(dir) {
      return fromPeftAdapter(join(dir, 'adapter'), tensors);
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

