import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreOutputs } from '../../src/evaluation/score-outputs.js';
import { isFinetuneError } from '../../src/errors.js';
import { scoreOutputsTool } from '../../tools/score-outputs.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { expected, fixturePath, readPairs } from './fixtures.js';

let t: TestClient;
let dir: string;
beforeAll(async () => {
  t = await connectTestClient();
  dir = join(t.home, 'inputs');
  mkdirSync(dir, { recursive: true });
});
afterAll(async () => t?.close());

function writeJsonl(name: string, rows: unknown[] | string): string {
  const path = join(dir, name);
  writeFileSync(path, typeof rows === 'string' ? rows : rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

describe('score_outputs on text rows (values from sacreBLEU 2.6.0, rouge-score, the SQuAD script)', () => {
  it('WMT17: BLEU, chrF, chrF++, ROUGE, EM, F1, signatures, per-example scores, intervals and gates', async () => {
    const pairs = readPairs('wmt17_ende20.jsonl');
    const path = writeJsonl('wmt17.jsonl', pairs.map((p) => ({ hypothesis: p.hypothesis, reference: p.reference })));
    const out = await t.callOk(scoreOutputsTool, { path });
    const want = expected.wmt17_ende20;
    expect(out.kind).toBe('text');
    expect(out.rows).toBe(20);
    expect(out.metrics.bleu).toBeCloseTo(want.corpus_bleu_13a.score, 10);
    expect(out.metrics.chrf).toBeCloseTo(want.corpus_chrf, 10);
    expect(out.metrics.chrf_pp).toBeCloseTo(want.corpus_chrf_pp, 10);
    expect(out.metrics.rouge_1).toBeCloseTo(want.rouge.rouge1.mean_fmeasure, 12);
    expect(out.metrics.rouge_2).toBeCloseTo(want.rouge.rouge2.mean_fmeasure, 12);
    expect(out.metrics.rouge_l).toBeCloseTo(want.rouge.rougeL.mean_fmeasure, 12);
    expect(out.metrics.exact_match).toBeCloseTo(want.squad_exact_match, 10);
    expect(out.metrics.f1).toBeCloseTo(want.squad_f1, 10);
    // sacreBLEU's own signature for BLEU with 1000 bootstrap resamples and seed 12345
    expect(out.signatures.bleu).toBe(expected.paired_bootstrap_wmt17.signature_BLEU);
    expect(out.examples).toHaveLength(20);
    out.examples.forEach((e, i) => {
      expect(e.line).toBe(i + 1);
      expect(e.scores.bleu).toBeCloseTo(want.sentence_bleu[i], 10);
      expect(e.scores.chrf).toBeCloseTo(want.sentence_chrf[i], 10);
      expect(e.scores.rouge_l).toBeCloseTo(want.rouge.rougeL.fmeasure[i], 12);
    });
    const ci = out.confidence_intervals.bleu;
    // the same resamples as sacreBLEU's --confidence (numpy default_rng(12345)); float32 aside
    expect(Math.abs(ci.ci - expected.paired_bootstrap_wmt17.confidence_bleu.ci) / ci.ci).toBeLessThan(1e-6);
    expect(Math.abs(ci.mean - expected.paired_bootstrap_wmt17.confidence_bleu.mean) / ci.mean).toBeLessThan(1e-6);
    expect(out.gates.map((g) => [g.metric, g.passed])).toEqual([
      ['bleu', false],
      ['rouge_l', true],
    ]);
    expect(out.gates_passed).toBe(false);
  });

  it('EmailSum with Porter stemming for ROUGE and the intl tokenizer for BLEU; only the asked metrics', async () => {
    const pairs = readPairs('emailsum20.jsonl');
    const path = writeJsonl('emailsum.jsonl', pairs.map((p) => ({ prediction: p.hypothesis, reference: p.reference })));
    const out = await t.callOk(scoreOutputsTool, { path, metrics: ['bleu', 'rouge_l', 'rouge_2'], rouge_stemmer: true, bleu_tokenize: 'intl', bootstrap_samples: 0 });
    expect(Object.keys(out.metrics).sort()).toEqual(['bleu', 'rouge_2', 'rouge_l']);
    expect(out.metrics.bleu).toBeCloseTo(expected.emailsum20.corpus_bleu_intl.score, 10);
    expect(out.metrics.rouge_l).toBeCloseTo(expected.emailsum20.rouge_stemmed.rougeL.mean_fmeasure, 12);
    expect(out.metrics.rouge_2).toBeCloseTo(expected.emailsum20.rouge_stemmed.rouge2.mean_fmeasure, 12);
    expect(out.confidence_intervals).toEqual({});
    expect(out.signatures.bleu).toBe(expected.emailsum20.corpus_bleu_intl.signature);
  });

  it('ROUGE-Lsum over multi-sentence predictions (one sentence a line)', async () => {
    const rows = (expected.rouge_lsum['emailsum20.jsonl'] as Array<{ hypothesis: string; reference: string; use_stemmer: boolean; fmeasure: number }>).filter((r) => !r.use_stemmer);
    const path = writeJsonl('lsum.jsonl', rows.map((r) => ({ prediction: r.hypothesis, reference: r.reference })));
    const out = await t.callOk(scoreOutputsTool, { path, metrics: ['rouge_lsum'], bootstrap_samples: 0 });
    expect(out.metrics.rouge_lsum).toBeCloseTo(rows.reduce((a, r) => a + r.fmeasure, 0) / rows.length, 12);
  });

  it('several references per row', async () => {
    const m = expected.multi_reference;
    const path = writeJsonl('multi.jsonl', m.hyps.map((h: string, i: number) => ({ prediction: h, references: m.refs[i] })));
    const out = await t.callOk(scoreOutputsTool, { path, bootstrap_samples: 0, max_examples: 1 });
    expect(out.metrics.bleu).toBeCloseTo(m.corpus_bleu, 10);
    expect(out.metrics.chrf).toBeCloseTo(m.corpus_chrf, 10);
    expect(out.signatures.bleu).toBe(m.bleu_signature);
    expect(out.examples).toHaveLength(1);
  });
});

describe('score_outputs on classification rows (values from scikit-learn 1.9.1)', () => {
  it('TweetEval emotion predictions, labels as names', async () => {
    const names = ['anger', 'joy', 'optimism', 'sadness'];
    const read = (f: string) => readFileSync(fixturePath(f), 'utf8').split(/\s+/).filter(Boolean).map(Number);
    const gold = read('tweeteval_emotion_test_labels.txt');
    const pred = read('tweeteval_emotion_predictions.txt');
    const path = writeJsonl('emotion.jsonl', gold.map((g, i) => ({ prediction: names[pred[i]], label: names[g] })));
    const out = await t.callOk(scoreOutputsTool, { path });
    const want = expected.classification.tweeteval;
    expect(out.kind).toBe('classification');
    expect(out.rows).toBe(1421);
    expect(out.metrics.accuracy).toBeCloseTo(want.accuracy, 12);
    expect(out.metrics.macro_f1).toBeCloseTo(want.macro.f1, 12);
    expect(out.metrics.micro_f1).toBeCloseTo(want.micro.f1, 12);
    expect(out.metrics.weighted_f1).toBeCloseTo(want.weighted.f1, 12);
    expect(out.metrics.macro_precision).toBeCloseTo(want.macro.precision, 12);
    expect(out.metrics.weighted_recall).toBeCloseTo(want.weighted.recall, 12);
    expect(out.classification?.labels).toEqual(names);
    expect(out.classification?.confusion_matrix).toEqual(want.confusion_matrix);
    expect(out.confidence_intervals.accuracy.low).toBeLessThan(want.accuracy);
    expect(out.gates).toEqual([]);
    expect(out.gates_passed).toBeNull();
  });
});

describe('score_outputs refuses bad input with a located error', () => {
  const cases: Array<[string, string, string, number | undefined]> = [
    ['bad JSON', '{"prediction": "a", "reference": "a"}\n\n{"prediction": oops}\n', 'DATASET_INVALID', 3],
    ['no reference', '{"prediction": "a"}\n', 'DATASET_INVALID', 1],
    ['reference not text', '{"prediction": "a", "references": ["x", 3]}\n', 'DATASET_INVALID', 1],
    ['mixed kinds', '{"prediction": "a", "reference": "a"}\n{"prediction": "a", "label": "b"}\n', 'DATASET_INVALID', 2],
    ['not an object', '["a", "b"]\n', 'DATASET_INVALID', 1],
    ['empty file', '\n\n', 'DATASET_INVALID', undefined],
  ];
  it.each(cases)('%s', async (_name, content, code, line) => {
    const path = writeJsonl(`bad-${_name.replace(/\W+/g, '-')}.jsonl`, content);
    const result = await t.call('score_outputs', { path });
    expect(result.isError).toBe(true);
    expect(errorCode(result)).toBe(code);
    if (line !== undefined) {
      expect(resultText(result)).toContain(`Line ${line} of ${path}`);
      expect((result._meta as { details?: { line?: number } }).details?.line).toBe(line);
    }
    expect(resultText(result)).toMatch(/Recovery: /);
  });

  it('a metric that does not fit the rows, a missing file, a path outside the allowed roots', async () => {
    const path = writeJsonl('ok.jsonl', [{ prediction: 'a', reference: 'a' }]);
    expect(errorCode(await t.call('score_outputs', { path, metrics: ['accuracy'] }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('score_outputs', { path: join(dir, 'missing.jsonl') }))).toBe('FILE_ERROR');
    expect(errorCode(await t.call('score_outputs', { path: '/etc/hostname' }))).toBe('PATH_NOT_ALLOWED');
  });
});

describe('score_outputs progress and cancellation', () => {
  const rows = Array.from({ length: 2500 }, (_, i) => ({ prediction: `answer ${i % 7}`, reference: `answer ${i % 5}` }));

  it('sends progress notifications every 1,000 rows when the client asks for them', async () => {
    const path = writeJsonl('progress.jsonl', rows);
    const seen: number[] = [];
    const result = await t.client.callTool({ name: 'score_outputs', arguments: { path, bootstrap_samples: 0 } }, undefined, {
      onprogress: (p) => seen.push(p.progress),
    });
    expect(result.isError).toBeFalsy();
    expect(seen).toEqual([1000, 2000]);
  });

  it('stops with CANCELLED when the signal aborts', async () => {
    const path = writeJsonl('cancel.jsonl', rows);
    const controller = new AbortController();
    controller.abort();
    const error = await scoreOutputs(path, { signal: controller.signal }).catch((e: unknown) => e);
    expect(isFinetuneError(error) && error.code).toBe('CANCELLED');
  });
});
