/**
 * `npm run bench metrics`: scores 10,000 generated hypothesis/reference pairs with corpus BLEU,
 * corpus chrF and ROUGE-1/2/L and prints pairs/s. When a Python with sacrebleu (and rouge-score,
 * or google-research's `rouge` package) is importable — `python3`, or the interpreter named by
 * BENCH_PYTHON — the same pairs are scored there in the same run and the ratio is printed.
 * Our scores must equal the Python ones (printed side by side) for the speed to mean anything.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../src/random.js';
import { Bleu } from '../src/evaluation/metrics/bleu.js';
import { Chrf } from '../src/evaluation/metrics/chrf.js';
import { RougeScorer } from '../src/evaluation/metrics/rouge.js';
import { scoreOutputs } from '../src/evaluation/score-outputs.js';

const PAIRS = 10_000;
const REPEATS = 3;

/** Zipf-distributed words with punctuation and numbers; each reference is its hypothesis with ~30 % of words changed. */
function generatePairs(n: number, seed = 20261122): Array<{ hypothesis: string; reference: string }> {
  const prng = Prng.fromSeed(seed);
  const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'zen', 'ber', 'tion', 'ing', 'ed', 'ly', 'es'];
  const vocab = Array.from({ length: 3000 }, (_, i) => {
    let w = '';
    for (let k = 0; k < 1 + (i % 4); k++) w += syllables[(i * 7 + k * 13 + (i >> 3)) % syllables.length];
    return i % 97 === 0 ? `${w},` : i % 89 === 0 ? `${w}.` : i % 53 === 0 ? String(i) : i % 31 === 0 ? w[0].toUpperCase() + w.slice(1) : w;
  });
  const zipf = (): string => vocab[Math.min(vocab.length - 1, Math.floor(vocab.length ** prng.nextFloat()) - 1)];
  const pairs: Array<{ hypothesis: string; reference: string }> = [];
  for (let i = 0; i < n; i++) {
    const length = 8 + prng.nextInt(30);
    const hyp = Array.from({ length }, zipf);
    const ref: string[] = [];
    for (const word of hyp) {
      const r = prng.nextFloat();
      if (r < 0.1) continue; // deleted
      ref.push(r < 0.25 ? zipf() : word); // substituted or kept
      if (r > 0.93) ref.push(zipf()); // inserted
    }
    pairs.push({ hypothesis: `${hyp.join(' ')}.`, reference: `${ref.join(' ')}.` });
  }
  return pairs;
}

function best(fn: () => number): { seconds: number; value: number } {
  let seconds = Infinity;
  let value = 0;
  for (let r = 0; r < REPEATS; r++) {
    const start = performance.now();
    value = fn();
    seconds = Math.min(seconds, (performance.now() - start) / 1000);
  }
  return { seconds, value };
}

const PYTHON_SCRIPT = String.raw`
import json, sys, time
pairs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
hyps = [p["hypothesis"] for p in pairs]; refs = [p["reference"] for p in pairs]
out = {}
def best(fn, repeats=3):
    t = float("inf"); v = None
    for _ in range(repeats):
        s = time.perf_counter(); v = fn(); t = min(t, time.perf_counter() - s)
    return t, v
try:
    import sacrebleu
    from sacrebleu.metrics import BLEU, CHRF
    # fresh metric objects per repeat so tokenizer caches start cold, as ours do
    out["bleu"] = best(lambda: BLEU().corpus_score(hyps, [refs]).score)
    out["chrf"] = best(lambda: CHRF().corpus_score(hyps, [refs]).score)
    out["sacrebleu_version"] = sacrebleu.__version__
except ImportError:
    pass
scorer_mod = None
try:
    from rouge_score import rouge_scorer as scorer_mod
    out["rouge_impl"] = "rouge_score"
except ImportError:
    try:
        from rouge import rouge_scorer as scorer_mod
        out["rouge_impl"] = "google-research rouge"
    except ImportError:
        pass
if scorer_mod is not None:
    def rouge():
        sc = scorer_mod.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
        return sum(sc.score(r, h)["rougeL"].fmeasure for h, r in zip(hyps, refs)) / len(hyps)
    out["rouge"] = best(rouge)
print(json.dumps(out))
`;

function runPython(pairsFile: string): Record<string, unknown> | undefined {
  const python = process.env.BENCH_PYTHON ?? 'python3';
  const run = spawnSync(python, ['-c', PYTHON_SCRIPT, pairsFile], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0 || !run.stdout.trim()) return undefined;
  const parsed = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  return Object.keys(parsed).length ? parsed : undefined;
}

const pairs = generatePairs(PAIRS);
const hyps = pairs.map((p) => p.hypothesis);
const refs = pairs.map((p) => [p.reference]);

const ours = {
  bleu: best(() => new Bleu().corpusScore(hyps, refs).score),
  chrf: best(() => new Chrf().corpusScore(hyps, refs)),
  rouge: best(() => {
    const scorer = new RougeScorer();
    let sum = 0;
    for (let i = 0; i < pairs.length; i++) sum += scorer.score(pairs[i].reference, pairs[i].hypothesis).rougeL.fmeasure;
    return sum / pairs.length;
  }),
};

const dir = mkdtempSync(join(tmpdir(), 'bench-metrics-'));
const pairsFile = join(dir, 'pairs.jsonl');
writeFileSync(pairsFile, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
const python = runPython(pairsFile);
// The whole score_outputs service on the same file: streaming read, all 9 text metrics, 1000 bootstrap resamples each.
const endToEndStart = performance.now();
await scoreOutputs(pairsFile, { bootstrap_samples: 1000 });
const endToEndSeconds = (performance.now() - endToEndStart) / 1000;
rmSync(dir, { recursive: true, force: true });

process.stdout.write(`${PAIRS} generated pairs, best of ${REPEATS} runs, Node ${process.version}\n`);
const labels = { bleu: 'BLEU (corpus, 13a)', chrf: 'chrF (corpus)', rouge: 'ROUGE-1/2/L (per pair)' } as const;
for (const key of ['bleu', 'chrf', 'rouge'] as const) {
  const o = ours[key];
  let line = `${labels[key].padEnd(24)} ${Math.round(PAIRS / o.seconds).toLocaleString('en-US').padStart(9)} pairs/s  score ${o.value.toFixed(6)}`;
  const ref = python?.[key] as [number, number] | undefined;
  if (ref) {
    const [seconds, value] = ref;
    const impl = key === 'rouge' ? String(python?.rouge_impl) : `sacrebleu ${String(python?.sacrebleu_version)}`;
    line += `  | ${impl}: ${Math.round(PAIRS / seconds).toLocaleString('en-US')} pairs/s, score ${value.toFixed(6)}`;
    line += `  | ratio ${(seconds / o.seconds).toFixed(2)}x${Math.abs(value - o.value) > 1e-9 ? '  SCORES DIFFER' : ''}`;
  }
  process.stdout.write(`${line}\n`);
}
process.stdout.write(
  `score_outputs end to end  ${Math.round(PAIRS / endToEndSeconds).toLocaleString('en-US').padStart(9)} rows/s  (${endToEndSeconds.toFixed(2)} s: BLEU, chrF, chrF++, ROUGE-1/2/L/Lsum, EM, F1, 1000 bootstrap resamples each)\n`,
);
if (!python) process.stdout.write('(no python3 with sacrebleu / rouge-score here: set BENCH_PYTHON to compare)\n');
