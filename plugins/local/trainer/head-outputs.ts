import { join } from 'node:path';
import type { LoadedModel, WeightTensor } from '../../../src/models/files/load-model.js';
import { mergeLora, readPeftAdapter, writePeftAdapter, type PeftAdapter } from '../../../src/models/files/peft.js';
import { FinetuneError } from '../../../src/errors.js';
import type { HeadInfo } from '../../../src/models/files/head-folder.js';
import type { ParamsIo } from './checkpoint.js';
import { toPeftAdapter, type LoraAdapterConfig } from './params-io.js';

// the folder writers live with the model files: export_model writes a head job's folder from its adapter too
export { writeClassifierFolder, writeHeadInfo, writeSentenceTransformersFolder, type HeadInfo } from '../../../src/models/files/head-folder.js';

const PEFT_TASK = { classification: 'SEQ_CLS', embedding: 'FEATURE_EXTRACTION' } as const;

interface NamedShape {
  name: string;
  shape: number[];
}

/** LoRA tensors plus whole trained modules (score.weight) as one PEFT adapter. */
export function headAdapter(tensors: readonly NamedShape[], params: readonly Float32Array[], config: LoraAdapterConfig, info: HeadInfo): PeftAdapter {
  const lora = tensors.map((t, i) => ({ t, p: params[i]! })).filter(({ t }) => t.name.startsWith('base_model.model.'));
  const saved = new Map<string, WeightTensor>();
  tensors.forEach((t, i) => {
    if (!t.name.startsWith('base_model.model.')) saved.set(t.name, { shape: t.shape, data: params[i]! });
  });
  const adapter = toPeftAdapter(
    lora.map(({ t }) => t),
    lora.map(({ p }) => p),
    config,
  );
  return { ...adapter, task_type: PEFT_TASK[info.task], ...(saved.size ? { saved_modules: saved } : {}) };
}

/** Checkpoints of a LoRA head job: the PEFT adapter with its saved modules in `<checkpoint>/adapter/`. */
export function headAdapterParamsIo(tensors: readonly NamedShape[], config: LoraAdapterConfig, info: HeadInfo): ParamsIo {
  return {
    write(dir, params) {
      writePeftAdapter(join(dir, 'adapter'), headAdapter(tensors, params, config, info));
    },
    read(dir) {
      const adapter = readPeftAdapter(join(dir, 'adapter'));
      return tensors.map((t) => {
        const m = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/.exec(t.name);
        const tensor = m ? adapter.tensors.get(m[1]!)?.[m[2] as 'A' | 'B'] : adapter.saved_modules?.get(t.name);
        if (!tensor || tensor.shape.join('x') !== t.shape.join('x')) {
          throw new FinetuneError('STATE_CONFLICT', `${join(dir, 'adapter')} has no tensor ${t.name} of shape [${t.shape}].`, {
            recovery: 'Resume with the config the checkpoint was trained with.',
            details: { file: join(dir, 'adapter'), field: t.name },
          });
        }
        return tensor.data;
      });
    },
  };
}

/** The full weights of the trained model: the base with LoRA merged (or the trained weights), plus the head. */
export function trainedWeights(model: Pick<LoadedModel, 'weights'>, tensors: readonly NamedShape[], params: readonly Float32Array[], adapter: PeftAdapter | null): Map<string, WeightTensor> {
  const weights = adapter ? mergeLora(model.weights, adapter) : new Map(model.weights);
  tensors.forEach((t, i) => {
    if (!t.name.startsWith('base_model.model.')) weights.set(t.name, { shape: t.shape, data: params[i]! });
  });
  return weights;
}

