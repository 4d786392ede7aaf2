import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FinetuneError } from '../../errors.js';
import { writeFileAtomic } from '../../workspace/atomic-write.js';
import type { LoadedModel, WeightTensor } from './load-model.js';
import { writeModelFolder } from './peft.js';

/**
 * What a head job (plugins/local/trainer/head-job.ts) writes, and export_model writes again from
 * its adapter, in the layouts other tools load:
 * - classification: a Hugging Face `…ForSequenceClassification` folder (config.json with
 *   architectures, id2label / label2id, pad_token_id; `score.weight` [labels, hidden], no lm_head);
 *   with LoRA also a PEFT adapter (task_type SEQ_CLS, the head in modules_to_save, as PEFT saves it);
 * - embedding: the sentence-transformers folder layout (modules.json, sentence_bert_config.json,
 *   config_sentence_transformers.json, 1_Pooling/config.json) beside the Hugging Face weights; with
 *   LoRA also a PEFT adapter (task_type FEATURE_EXTRACTION).
 * Both folders also get `finetune_head.json` ({task, pooling, labels}): what this engine's classify /
 * embed inference reads back from an adapter folder, which has no config.json of its own.
 */

/** `finetune_head.json`, written beside a head model's weights and in its adapter folder. */
export const HEAD_FILE = 'finetune_head.json';

/** The Hugging Face name of the classification head's weight ([num_labels, hidden], no bias, as LlamaForSequenceClassification). */
export const SCORE_WEIGHT = 'score.weight';

/** How a head pools a row's hidden states: last token, mean of tokens, or the first ([CLS]) token. */
export type Pooling = 'mean' | 'last' | 'cls';

export interface HeadInfo {
  task: 'classification' | 'embedding';
  pooling: Pooling;
  /** Classification: label names by class id. */
  labels?: string[];
  /** The pad token the batches used (HF's sequence classification finds the last token by it). */
  pad_token_id: number;
  /** Embedding: the longest row trained (sentence_bert_config.json's max_seq_length); absent in older files. */
  max_seq_length?: number;
}

/** The head's description beside the weights (an adapter folder has no config.json to carry labels and pooling). */
export function writeHeadInfo(dir: string, info: HeadInfo): void {
  writeFileAtomic(join(dir, HEAD_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

/** The head file of a folder, or null when it has none (a plain model or an SFT adapter). */
export function readHeadInfo(dir: string): HeadInfo | null {
  const path = join(dir, HEAD_FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as HeadInfo) : null;
}

/** transformers' class name for a sequence classifier of this causal LM (LlamaForCausalLM → LlamaForSequenceClassification). */
function sequenceClassificationArchitecture(rawConfig: Record<string, unknown>): string {
  const arch = Array.isArray(rawConfig.architectures) ? String(rawConfig.architectures[0] ?? '') : '';
  const stem = arch.replace(/(ForCausalLM|LMHeadModel|ForMaskedLM|ForSequenceClassification|Model)$/, '');
  if (stem) return `${stem}ForSequenceClassification`;
  const type = String(rawConfig.model_type ?? 'llama');
  const named: Record<string, string> = { gpt2: 'GPT2', qwen2: 'Qwen2', 'xlm-roberta': 'XLMRoberta' };
  return `${named[type] ?? type.charAt(0).toUpperCase() + type.slice(1)}ForSequenceClassification`;
}

/** The body prefix of an encoder's …ForSequenceClassification checkpoint. */
const ENCODER_PREFIX: Record<string, string> = { bert: 'bert.', roberta: 'roberta.', 'xlm-roberta': 'roberta.' };

/** An encoder classifier's tensors as transformers names them: the body under its prefix, `classifier.*` beside it. */
function encoderClassifierWeights(weights: Map<string, WeightTensor>, prefix: string): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const [name, tensor] of weights) out.set(name.startsWith('classifier.') || name.startsWith(prefix) ? name : prefix + name, tensor);
  return out;
}

/** Writes the classifier as a Hugging Face …ForSequenceClassification folder. */
export function writeClassifierFolder(dir: string, model: Pick<LoadedModel, 'dir' | 'raw_config'>, weights: Map<string, WeightTensor>, info: HeadInfo): void {
  const head = ENCODER_PREFIX[String(model.raw_config.model_type)] ? encoderClassifierWeights(weights, ENCODER_PREFIX[String(model.raw_config.model_type)]!) : new Map(weights);
  head.delete('lm_head.weight'); // a sequence classifier has `score` instead of the LM head
  if (!head.has(SCORE_WEIGHT) && !head.has('classifier.weight') && !head.has('classifier.out_proj.weight')) throw new FinetuneError('INTERNAL', 'the classifier has no head weights');
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

/** The whole head model in its layout: a classifier folder, or a sentence-transformers folder. */
export function writeHeadModelFolder(dir: string, model: Pick<LoadedModel, 'dir' | 'raw_config' | 'config'>, weights: Map<string, WeightTensor>, info: HeadInfo, maxSeqLength: number): void {
  if (info.task === 'classification') writeClassifierFolder(dir, model, weights, info);
  else writeSentenceTransformersFolder(dir, model, weights, info, maxSeqLength, model.config.hidden_size);
}
