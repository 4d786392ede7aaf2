import { FinetuneError } from '../../../../src/errors.js';
import type { Pooling } from '../../../../src/models/files/head-folder.js';
import type { Graph, Value } from '../../onnx/graph.js';
import * as op from '../../onnx/ops.js';

/**
 * Pooling of a decoder's final hidden states into one vector a row, as a matrix product: pooled =
 * P · H with H the flat [R·T, D] hidden states and P a [R, R·T] weight matrix computed in JS from the
 * attention mask. `last` puts 1 on the last attended token of each row (transformers'
 * …ForSequenceClassification and sentence-transformers' `lasttoken` with right padding), `mean`
 * puts 1/n on each of a row's n attended tokens (sentence-transformers' `mean`), `cls` puts 1 on
 * the first token (BERT's [CLS], sentence-transformers' `cls`). One MatMul carries all three, and its
 * VJP (Pᵀ · g) is the ordinary matmul gradient.
 */
export type { Pooling };

/** Graph side: a `pool` input [R, R·T] times the flat hidden states [R·T, D] → [R, D]. */
export function poolHidden(g: Graph, hidden: Value, rows: number, seq: number): Value {
  const pool = g.input('pool', 'float32', [rows, rows * seq]);
  return op.matmul(pool, hidden);
}

/** JS side: the [R, R·T] pooling weights of a right-padded batch (rows with no token pool nothing). */
export function poolMatrix(attentionMask: Float32Array, rows: number, seq: number, pooling: Pooling): Float32Array {
  if (attentionMask.length !== rows * seq) {
    throw new FinetuneError('INVALID_INPUT', `attention_mask has ${attentionMask.length} values; expected ${rows} rows × ${seq}`, { details: { field: 'attention_mask' } });
  }
  const n = rows * seq;
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let count = 0;
    let last = -1;
    for (let t = 0; t < seq; t++) {
      if (attentionMask[r * seq + t] !== 0) {
        count += 1;
        last = t;
      }
    }
    if (count === 0) continue;
    if (pooling === 'last') out[r * n + r * seq + last] = 1;
    else if (pooling === 'cls') out[r * n + r * seq] = 1;
    else for (let t = 0; t < seq; t++) if (attentionMask[r * seq + t] !== 0) out[r * n + r * seq + t] = 1 / count;
  }
  return out;
}
