import { FinetuneError } from '../errors.js';

/**
 * Which embedding loss trains on which rows, as sentence-transformers feeds them:
 * MultipleNegativesRanking on (anchor, positive) pairs or triplets (the other rows' positives are
 * in-batch negatives, a triplet adds its hard negative), TripletLoss on triplets only, and
 * CosineSimilarityLoss on pairs with a similarity score. configure_training and the local trainer
 * both ask here, so a combination refused at one is refused at the other.
 */
export const EMBEDDING_LOSSES = ['mnrl', 'triplet', 'cosine'] as const;
type EmbeddingLossName = (typeof EMBEDDING_LOSSES)[number];

const LOSS_TASKS: Record<EmbeddingLossName, readonly string[]> = { mnrl: ['pair', 'triplet'], triplet: ['triplet'], cosine: ['scored_pair'] };
const LOSS_NAMES: Record<EmbeddingLossName, string> = { mnrl: 'MultipleNegativesRanking', triplet: 'triplet margin', cosine: 'cosine-similarity' };
const TASK_ROWS: Record<string, string> = { pair: '{anchor, positive} pairs', triplet: '{anchor, positive, negative} triplets', scored_pair: '{sentence1, sentence2, score} scored pairs' };

/** The loss an embedding job trains with: the one asked for, else the data's own (cosine on scored pairs, MultipleNegativesRanking on the rest). */
export function embeddingLoss(taskType: string, asked: EmbeddingLossName | undefined): EmbeddingLossName {
  const loss = asked ?? (taskType === 'scored_pair' ? 'cosine' : 'mnrl');
  if (LOSS_TASKS[loss].includes(taskType)) return loss;
  const fits = EMBEDDING_LOSSES.filter((l) => LOSS_TASKS[l].includes(taskType));
  const rows = LOSS_TASKS[loss].map((t) => TASK_ROWS[t]).join(' or ');
  throw new FinetuneError('CONFIG_INVALID', `embedding_loss "${loss}" (${LOSS_NAMES[loss]}) trains on ${rows}; this dataset is '${taskType}'.`, {
    recovery: fits.length
      ? `Nearest supported: embedding_loss "${fits[0]}" (${LOSS_NAMES[fits[0]!]}) on these rows${fits.length > 1 ? ` (or ${fits.slice(1).map((l) => `"${l}"`).join(', ')})` : ''}, or prepare ${rows} with prepare_dataset for "${loss}".`
      : `Prepare ${rows} with prepare_dataset.`,
    details: { field: 'hyperparameters.embedding_loss', task_type: taskType, loss },
  });
}
