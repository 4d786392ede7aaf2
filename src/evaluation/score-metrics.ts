/**
 * The metrics score_outputs computes, by row kind. Kept apart from score-outputs.ts so that the
 * tool's schema loads without the scorers (nothing heavy before the MCP handshake).
 */
export const TEXT_METRICS = ['bleu', 'chrf', 'chrf_pp', 'rouge_1', 'rouge_2', 'rouge_l', 'rouge_lsum', 'exact_match', 'f1'] as const;

export const CLASSIFICATION_METRICS = [
  'accuracy', 'macro_f1', 'macro_precision', 'macro_recall', 'micro_f1', 'micro_precision', 'micro_recall',
  'weighted_f1', 'weighted_precision', 'weighted_recall',
] as const;
