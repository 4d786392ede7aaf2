import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedModel, WeightTensor } from '../../../src/models/files/load-model.js';
import { mergeLora, readPeftAdapter, writeModelFolder, writePeftAdapter, type PeftAdapter } from '../../../src/models/files/peft.js';
import { writeFileAtomic } from '../../../src/workspace/atomic-write.js';
import { FinetuneError } from '../../../src/errors.js';
import type { Pooling } from '../engine/heads/pooling.js';
import { HEAD_FILE } from '../engine/heads/model.js';
import { SCORE_WEIGHT } from '../engine/heads/step.js';
import type { ParamsIo } from './checkpoint.js';
import { toPeftAdapter, type LoraAdapterConfig } from './params-io.js';

/**
 * What a head job writes, in the layouts other tools load:
 * - classification: a Hugging Face `…ForSequenceClassification` folder (config.json with
 *   architectures, id2label / label2id, pad_token_id; `score.weight` [labels, hidden], no lm_head);
 *   with LoRA also a PEFT adapter (task_type SEQ_CLS, the head in modules_to_save, as PEFT saves it);
 * - embedding: the sentence-transformers folder layout (modules.json, sentence_bert_config.json,
 *   config_sentence_transformers.json, 1_Pooling/config.json) beside the Hugging Face weights; with
 *   LoRA also a PEFT adapter (task_type FEATURE_EXTRACTION).
 * Both folders also get `finetune_head.json` ({task, pooling, labels}): what this engine's classify /
 * embed inference reads back from an adapter folder, which has no config.json of its own.
 */

export interface HeadInfo {
  task: 'classification' | 'embedding';
  pooling: Pooling;
  /** Classification: label names by class id. */
  labels?: string[];
  /** The pad token the batches used (HF's sequence classification finds the last token by it). */
  pad_token_id: number;
}

const PEFT_TASK = { classification: 'SEQ_CLS', embedding: 'FEATURE_EXTRACTION' } as const;

interface NamedShape {
  name: string;
  shape: number[];
}

/** The head's description beside the weights (an adapter folder has no config.json to carry labels and pooling). */
export function writeHeadInfo(dir: string, info: HeadInfo): void {
  writeFileAtomic(join(dir, HEAD_FILE), `${JSON.stringify(info, null, 2)}\n`);
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

/** transformers' class name for a sequence classifier of this causal LM (LlamaForCausalLM → LlamaForSequenceClassification). */
function sequenceClassificationArchitecture(rawConfig: Record<string, unknown>): string {
  const arch = Array.isArray(rawConfig.architectures) ? String(rawConfig.architectures[0] ?? '') : '';
  const stem = arch.replace(/(ForCausalLM|LMHeadModel|Model)$/, '');
  if (stem) return `${stem}ForSequenceClassification`;
  const type = String(rawConfig.model_type ?? 'llama');
  return `${type === 'gpt2' ? 'GPT2' : type === 'qwen2' ? 'Qwen2' : type.charAt(0).toUpperCase() + type.slice(1)}ForSequenceClassification`;
}

/** The full weights of the trained model: the base with LoRA merged (or the trained weights), plus the head. */
export function trainedWeights(model: Pick<LoadedModel, 'weights'>, tensors: readonly NamedShape[], params: readonly Float32Array[], adapter: PeftAdapter | null): Map<string, WeightTensor> {
  const weights = adapter ? mergeLora(model.weights, adapter) : new Map(model.weights);
  tensors.forEach((t, i) => {
    if (!t.name.startsWith('base_model.model.')) weights.set(t.name, { shape: t.shape, data: params[i]! });
  });
  return weights;
}

/** Writes the classifier as a Hugging Face …ForSequenceClassification folder. */
export function writeClassifierFolder(dir: string, model: Pick<LoadedModel, 'dir' | 'raw_config'>, weights: Map<string, WeightTensor>, info: HeadInfo): void {
  const head = new Map(weights);
  head.delete('lm_head.weight'); // a sequence classifier has `score` instead of the LM head
  if (!head.has(SCORE_WEIGHT)) throw new FinetuneError('INTERNAL', 'the classifier has no score.weight');
  const labels = info.labels ?? [];
  const raw_config = {
    ...model.raw_config,
    architectures: [sequenceClassificationArchitecture(model.raw_config)],
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    pad_token_id: info.pad_token_id,
    problem_type: 'single_label_classification',
  };
  writeModelFolder(dir, { dir: model.dir, raw_config }, head);
  writeHeadInfo(dir, info);
}

/** Writes the embedding model in the sentence-transformers layout (module 0 the Transformer at the root, 1 the pooling). */
export function writeSentenceTransformersFolder(dir: string, model: Pick<LoadedModel, 'dir' | 'raw_config'>, weights: Map<string, WeightTensor>, info: HeadInfo, maxSeqLength: number, hidden: number): void {
  writeModelFolder(dir, model, weights);
  const json = (path: string, value: unknown) => writeFileAtomic(join(dir, path), `${JSON.stringify(value, null, 2)}\n`);
  json('modules.json', [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  ]);
  json('sentence_bert_config.json', { max_seq_length: maxSeqLength, do_lower_case: false });
  json('config_sentence_transformers.json', { __version__: { sentence_transformers: '3.0.0' }, prompts: {}, default_prompt_name: null, similarity_fn_name: 'cosine' });
  mkdirSync(join(dir, '1_Pooling'), { recursive: true });
  json('1_Pooling/config.json', {
    word_embedding_dimension: hidden,
    pooling_mode_cls_token: info.pooling === 'cls',
    pooling_mode_mean_tokens: info.pooling === 'mean',
    pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: info.pooling === 'last',
    include_prompt: true,
  });
  writeHeadInfo(dir, info);
}
