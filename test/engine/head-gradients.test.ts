/**
 * The head training graphs (pooling + classification head + weighted cross-entropy; pooling +
 * MultipleNegativesRanking, triplet margin or cosine-similarity loss) give the loss and gradients of tf.grads over
 * an independent TensorFlow.js implementation: pooling by gather / masked mean (not a pooling
 * matrix), the losses as sentence-transformers and torch define them.
 */
import { describe, expect, it } from 'vitest';
import { createHeadStep, type HeadBatch, type HeadStepSpec } from '../../plugins/local/engine/heads/step.js';
import type { LoraSpec } from '../../plugins/local/engine/train-step.js';
import { relError } from './helpers/rel-error.js';
import { randomBert, randomGpt2, randomLlama, type RandomModel, seededRandom } from './helpers/random-model.js';
import { bertHidden, gpt2Hidden, llamaHidden, type RefBatch, type RefLora, tf, toTensors } from './helpers/tf-reference.js';

await tf.setBackend('cpu');

const T = 8;

interface Case {
  name: string;
  model: RandomModel;
  approach: 'lora' | 'full';
  task: 'classification' | 'embedding';
  pooling: 'mean' | 'last' | 'cls';
  loss?: 'mnrl' | 'triplet' | 'cosine';
  group?: 2 | 3;
  class_weights?: number[];
  /** Triplet margin (default 5); 0.8 puts one example of the gpt2 batch inside the margin and one outside, so relu's gate is checked. */
  margin?: number;
  /** Examples in the batch of 3 (the rest is padding). */
  count: number;
}

const lora: LoraSpec = { r: 4, alpha: 8, dropout: 0, target_modules: 'all-linear', use_rslora: false, on_missing_target: 'error' };
const llama = randomLlama({ vocab: 48, hidden: 32, layers: 2, heads: 4, kvHeads: 2, inter: 40, tied: false });
const llamaTied = randomLlama({ vocab: 48, hidden: 32, layers: 2, heads: 4, kvHeads: 1, inter: 40, tied: true }, 5);
const qwen = randomLlama({ vocab: 48, hidden: 32, layers: 2, heads: 4, kvHeads: 2, inter: 40, tied: true, qkvBias: true, ropeTheta: 1e6 }, 7);
const gpt2 = randomGpt2({ vocab: 48, hidden: 32, layers: 2, heads: 4, positions: 16 });
const bert = randomBert({ vocab: 48, hidden: 32, layers: 2, heads: 4, inter: 40, positions: 16, pooler: true });
const xlmr = randomBert({ vocab: 48, hidden: 32, layers: 2, heads: 4, inter: 40, positions: 18, modelType: 'xlm-roberta', prefix: 'roberta.' }, 9);

const CASES: Case[] = [
  { name: 'llama LoRA, classification, last token, class weights, a padding row', model: llama, approach: 'lora', task: 'classification', pooling: 'last', class_weights: [1, 2.5, 0.5], count: 2 },
  { name: 'gpt2 full, classification, mean pooling', model: gpt2, approach: 'full', task: 'classification', pooling: 'mean', count: 3 },
  { name: 'llama LoRA, MultipleNegativesRanking on triplets, mean pooling, one padded example', model: llama, approach: 'lora', task: 'embedding', pooling: 'mean', loss: 'mnrl', group: 3, count: 2 },
  { name: 'llama tied full, MultipleNegativesRanking on pairs, last token', model: llamaTied, approach: 'full', task: 'embedding', pooling: 'last', loss: 'mnrl', group: 2, count: 3 },
  { name: 'gpt2 LoRA, triplet margin loss (Euclidean, margin 5) on triplets, mean pooling, one padded example', model: gpt2, approach: 'lora', task: 'embedding', pooling: 'mean', loss: 'triplet', group: 3, count: 2 },
  { name: 'gpt2 LoRA, triplet margin loss with margin 0.8: one triplet past the margin (no gradient), one inside', model: gpt2, approach: 'lora', task: 'embedding', pooling: 'mean', loss: 'triplet', group: 3, margin: 0.8, count: 2 },
  { name: 'qwen2 LoRA, cosine-similarity loss on scored pairs, last token', model: qwen, approach: 'lora', task: 'embedding', pooling: 'last', loss: 'cosine', group: 2, count: 3 },
  { name: 'bert encoder LoRA, MultipleNegativesRanking on triplets, CLS pooling, one padded example', model: bert, approach: 'lora', task: 'embedding', pooling: 'cls', loss: 'mnrl', group: 3, count: 2 },
  { name: 'bert encoder full, MultipleNegativesRanking on pairs, mean pooling', model: bert, approach: 'full', task: 'embedding', pooling: 'mean', loss: 'mnrl', group: 2, count: 3 },
  { name: 'bert encoder LoRA, classification (pooler from the checkpoint + classifier with bias), CLS pooling, a padding row', model: bert, approach: 'lora', task: 'classification', pooling: 'cls', count: 2 },
  { name: 'xlm-roberta encoder full, classification (RobertaClassificationHead: dense + out_proj), CLS pooling', model: xlmr, approach: 'full', task: 'classification', pooling: 'cls', class_weights: [2, 1, 1], count: 3 },
  { name: 'xlm-roberta encoder (roberta. names, positions from 2) LoRA, cosine-similarity loss, mean pooling', model: xlmr, approach: 'lora', task: 'embedding', pooling: 'mean', loss: 'cosine', group: 2, count: 3 },
];

const B = 3;
const LABELS = 3;

/** Rows with different right padding; rows past `count` in each group are all padding. */
function makeRows(model: RandomModel, rows: number, real: (r: number) => boolean, seed: number): RefBatch {
  const vocab = model.raw_config.vocab_size as number;
  const next = seededRandom(seed);
  const ids: number[][] = [];
  const attention: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const len = real(r) ? T - (r % 3) : 0;
    ids.push(Array.from({ length: T }, (_, t) => (t < len ? Math.floor(next() * vocab) : 0)));
    attention.push(Array.from({ length: T }, (_, t) => (t < len ? 1 : 0)));
  }
  return { ids, attention };
}

/** Independent pooling: the hidden row of the first or last attended token, or the masked mean. */
function refPool(hidden: tf.Tensor2D, batch: RefBatch, pooling: 'mean' | 'last' | 'cls'): tf.Tensor2D {
  const rows = batch.ids.map((_, r) => {
    const n = batch.attention[r]!.reduce((a, b) => a + b, 0);
    if (n === 0) return tf.zeros([hidden.shape[1]]);
    if (pooling === 'cls') return tf.gather(hidden, r * T);
    if (pooling === 'last') return tf.gather(hidden, r * T + n - 1);
    const mask = tf.tensor2d(batch.attention[r]!, [T, 1]);
    return tf.slice(hidden, [r * T, 0], [T, hidden.shape[1]]).mul(mask).sum(0).div(n);
  });
  return tf.stack(rows) as tf.Tensor2D;
}

const normalize = (x: tf.Tensor2D): tf.Tensor2D => x.div(tf.sqrt(x.square().sum(-1, true).add(1e-12))) as tf.Tensor2D;

describe('head training graphs: loss and gradients equal tf.grads of an independent TensorFlow.js model', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const group = c.task === 'classification' ? 1 : c.group!;
      const rows = group * B;
      const spec: HeadStepSpec = {
        model: c.model as unknown as HeadStepSpec['model'],
        approach: c.approach,
        ...(c.approach === 'lora' ? { lora } : {}),
        task: c.task,
        pooling: c.pooling,
        ...(c.task === 'classification' ? { num_labels: LABELS, ...(c.class_weights ? { class_weights: c.class_weights } : {}) } : { loss: c.loss, group, ...(c.margin ? { margin: c.margin } : {}) }),
        batch_size: B,
        seq_len: T,
        threads: 1,
      };
      const step = await createHeadStep(spec);
      const ref = makeRows(c.model, rows, (r) => r % B < c.count, 31);
      const labels = [2, 0, 1].map((l, b) => (b < c.count ? l : -1));
      const pairScores = [0.9, -0.2, 0.4];
      const batch: HeadBatch = {
        input_ids: Int32Array.from(ref.ids.flat()),
        attention_mask: Float32Array.from(ref.attention.flat()),
        ...(c.task === 'classification' ? { labels: Int32Array.from(labels) } : { count: c.count, ...(c.loss === 'cosine' ? { scores: Float32Array.from(pairScores) } : {}) }),
      };
      const next = seededRandom(13);
      // random LoRA matrices (B starts at zero) and head biases (start at zero), so every gradient is exercised
      const params = step.trainable.map((t) => ((c.approach === 'lora' && t.name.startsWith('base_model.model.')) || t.name.endsWith('.bias') ? t.init.map(() => (2 * next() - 1) * 0.2) : t.init));
      const result = await step.step(batch, params);

      const base = toTensors(c.model.weights);
      const lossOf = (...xs: tf.Tensor[]): tf.Scalar => {
        let w = base;
        let l: RefLora | undefined;
        const names = step.trainable.map((t) => t.name);
        if (c.approach === 'full') {
          w = new Map(base);
          names.forEach((n, i) => w.set(n, xs[i]!));
        } else {
          const adapters = new Map<string, [tf.Tensor, tf.Tensor]>();
          for (let i = 0; i < names.length; i++) {
            if (!names[i]!.endsWith('lora_A.weight')) continue;
            adapters.set(names[i]!.replace('base_model.model.', '').replace('.lora_A.weight', ''), [xs[i]!, xs[i + 1]!]);
          }
          l = { scale: lora.alpha / lora.r, adapters };
        }
        const type = c.model.raw_config.model_type;
        const prefix = c.model.weights.has('roberta.embeddings.word_embeddings.weight') ? 'roberta.' : '';
        const hidden = type === 'gpt2' ? gpt2Hidden(c.model, w, ref, l) : type === 'bert' || type === 'xlm-roberta' ? bertHidden(c.model, w, ref, l, prefix) : llamaHidden(c.model, w, ref, l);
        const pooled = refPool(hidden, ref, c.pooling);
        const real = Array.from({ length: c.count }, (_, i) => i);
        if (c.task === 'classification') {
          const at = (name: string) => xs[names.indexOf(name)]! as tf.Tensor2D;
          let logits: tf.Tensor2D;
          if (names.includes('score.weight')) logits = tf.matMul(pooled, at('score.weight'), false, true);
          else {
            // BertForSequenceClassification / RobertaClassificationHead: tanh(dense(x_[CLS])), then a linear layer with bias
            const [dense, out] = type === 'bert' ? ['pooler.dense', 'classifier'] : ['classifier.dense', 'classifier.out_proj'];
            const hiddenHead = tf.tanh(tf.matMul(pooled, at(`${dense}.weight`), false, true).add(at(`${dense}.bias`))) as tf.Tensor2D;
            logits = tf.matMul(hiddenHead, at(`${out}.weight`), false, true).add(at(`${out}.bias`));
          }
          const logp = tf.logSoftmax(logits);
          const cw = c.class_weights ?? [1, 1, 1];
          const picked = real.map((b) => logp.slice([b, labels[b]!], [1, 1]).reshape([]).mul(cw[labels[b]!]!));
          const total = real.reduce((a, b) => a + cw[labels[b]!]!, 0);
          return tf.addN(picked).neg().div(total) as tf.Scalar;
        }
        const anchors = normalize(tf.gather(pooled, real));
        if (c.loss === 'cosine') {
          const others = normalize(tf.gather(pooled, real.map((i) => B + i)));
          const cos = anchors.mul(others).sum(-1);
          return cos.sub(tf.tensor1d(pairScores.slice(0, c.count))).square().mean() as tf.Scalar;
        }
        if (c.loss === 'triplet') {
          // sentence-transformers TripletLoss: torch F.pairwise_distance(x, y, p=2) = ‖x − y + 1e-6‖ on the raw embeddings
          const rowsOf = (k: number) => tf.gather(pooled, real.map((i) => k * B + i));
          const distance = (x: tf.Tensor2D, y: tf.Tensor2D) => x.sub(y).add(1e-6).square().sum(-1).sqrt();
          const [a, p, n] = [rowsOf(0), rowsOf(1), rowsOf(2)] as tf.Tensor2D[];
          return tf.relu(distance(a!, p!).sub(distance(a!, n!)).add(c.margin ?? 5)).mean() as tf.Scalar;
        }
        const candidates = normalize(tf.gather(pooled, Array.from({ length: group - 1 }, (_, k) => real.map((i) => (k + 1) * B + i)).flat()));
        const scores = tf.matMul(anchors, candidates, false, true).mul(20);
        const logp = tf.logSoftmax(scores);
        return tf.addN(real.map((i) => logp.slice([i, i], [1, 1]).reshape([]))).neg().div(c.count) as tf.Scalar;
      };
      const xs = step.trainable.map((t, i) => tf.tensor(params[i]!, t.shape));
      const refGrads = tf.grads((...args: tf.Tensor[]) => lossOf(...args))(xs);
      const refLoss = lossOf(...xs).dataSync()[0]!;
      expect(Math.abs(result.loss - refLoss) / Math.max(Math.abs(refLoss), 1e-6)).toBeLessThan(1e-5);
      let worst = 0;
      for (let i = 0; i < xs.length; i++) {
        const expected = refGrads[i]!.dataSync() as Float32Array;
        if (step.trainable[i]!.name.endsWith('attention.self.key.bias')) {
          // q·(k + b) shifts every score of a query by q·b, which softmax ignores: the true gradient is 0
          // and both sides hold float noise, so compare magnitudes instead of relative error
          expect(Math.max(...result.grads[i]!.map(Math.abs)), step.trainable[i]!.name).toBeLessThan(1e-5);
          expect(Math.max(...expected.map(Math.abs))).toBeLessThan(1e-5);
          continue;
        }
        expect(Math.hypot(...expected), `${step.trainable[i]!.name} has a zero reference gradient`).toBeGreaterThan(0);
        const err = relError(result.grads[i]!, expected);
        worst = Math.max(worst, err);
        expect(err, step.trainable[i]!.name).toBeLessThan(1e-4);
      }
      expect(worst).toBeLessThan(1e-4);
      if (c.task === 'classification') expect(result.metrics.accuracy).toBeGreaterThanOrEqual(0);
      await step.dispose();
    });
  }
});
