import { existsSync, readFileSync } from 'node:fs';
import { FinetuneError } from '../../../src/errors.js';
import type { TrainingMethod } from '../../../src/plugins/types.js';
import { EMBEDDING_TASK_TYPES } from '../../../src/datasets/types.js';
import { hasTargets, truncate } from './batches.js';
import type { TrainData } from './loop.js';
import type { LossOn, PreferenceExample, Renderer, TokenizedExample } from './render.js';

/** A dataset split read and rendered: examples (or pairs) plus what was dropped and why. */
export interface RenderedSplit {
  examples: TokenizedExample[];
  pairs: PreferenceExample[];
  rows: number;
  /** Rows left with no loss token after truncation (they would train nothing). */
  dropped: number;
  truncated: number;
}

/** Reads a canonical JSONL split (one JSON object a line; blank lines skipped) with line numbers. */
export function readJsonl(path: string): Array<{ row: unknown; line: number }> {
  if (!existsSync(path)) {
    throw new FinetuneError('FILE_ERROR', `Dataset file ${path} does not exist.`, {
      recovery: 'Prepare the dataset again (its version folder is missing a split).',
      details: { file: path },
    });
  }
  const out: Array<{ row: unknown; line: number }> = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '') return;
      try {
        out.push({ row: JSON.parse(text), line: i + 1 });
      } catch (error) {
        throw new FinetuneError('DATASET_INVALID', `${path}:${i + 1}: not valid JSON (${(error as Error).message}).`, { details: { file: path, line: i + 1 } });
      }
    });
  return out;
}

export function renderSplit(path: string, taskType: string, method: 'sft' | 'dpo', renderer: Renderer, maxSeqLength: number): RenderedSplit {
  const split: RenderedSplit = { examples: [], pairs: [], rows: 0, dropped: 0, truncated: 0 };
  for (const { row, line } of readJsonl(path)) {
    split.rows += 1;
    const where = { file: path, line };
    if (method === 'dpo') {
      const pair = renderer.preference(row, where);
      if (pair.chosen.ids.length > maxSeqLength || pair.rejected.ids.length > maxSeqLength) split.truncated += 1;
      const chosen = truncate(pair.chosen, maxSeqLength);
      const rejected = truncate(pair.rejected, maxSeqLength);
      if (hasTargets(chosen) && hasTargets(rejected)) split.pairs.push({ chosen, rejected });
      else split.dropped += 1;
      continue;
    }
    const example = renderer.sft(row, taskType, where);
    if (example.ids.length > maxSeqLength) split.truncated += 1;
    const cut = truncate(example, maxSeqLength);
    if (hasTargets(cut)) split.examples.push(cut);
    else split.dropped += 1;
  }
  return split;
}

/** Which task types each method reads. */
export function checkTaskType(method: TrainingMethod, taskType: string, lossOn: LossOn): string | null {
  if (method === 'classification') return taskType === 'classification' ? null : `Classification needs {text, label} rows; this dataset is '${taskType}'.`;
  if (method === 'embedding') {
    return EMBEDDING_TASK_TYPES.includes(taskType) ? null : `Embedding training needs {anchor, positive[, negative]} pairs or triplets, or {sentence1, sentence2, score} scored pairs; this dataset is '${taskType}'.`;
  }
  if (method === 'dpo') return taskType === 'preference' ? null : `DPO needs a preference dataset ({prompt, chosen, rejected}); this one is '${taskType}'.`;
  if (['chat', 'completion', 'text', 'preference'].includes(taskType)) return null;
  return `SFT on the local backend reads chat, completion, text or preference rows; this dataset is '${taskType}' (loss_on ${lossOn}).`;
}

export function toTrainData(split: RenderedSplit, method: 'sft' | 'dpo', packing: boolean, reference?: { chosen: number[]; rejected: number[] }): TrainData {
  return method === 'dpo' ? { method: 'dpo', pairs: split.pairs, reference: reference ?? { chosen: [], rejected: [] } } : { method: 'sft', examples: split.examples, packing };
}
