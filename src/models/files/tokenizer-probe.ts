import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { FinetuneError } from '../../errors.js';

/**
 * The static regex check (tokenizer-check.ts) refuses exponential backtracking, but a pattern can
 * still be polynomial (`a*a*a*a*c`: n^4 steps a match attempt) or slow in ways no heuristic sees.
 * So an import also runs the tokenizer for real, once, in a worker thread with a deadline and a heap
 * cap: it loads tokenizer.json and encodes a few long adversarial inputs. A worker that misses the
 * deadline is terminated and the model refused; the server's own thread never runs the regex.
 */
const TOKENIZER_PROBE_DEADLINE_MS = 15_000;

/** Long runs of the characters tokenizer regexes branch on: letters, spaces, digits, apostrophes, newlines, punctuation, accents. */
const PROBE_INPUTS = ['a', ' ', '1', "'s", 'a ', '\n', ' \n', 'é', '!?', 'Ab1 '].map((unit) => unit.repeat(Math.ceil(4096 / unit.length)));

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const { Tokenizer } = require(workerData.module);
const read = (name) => JSON.parse(readFileSync(join(workerData.dir, name), 'utf8'));
const config = existsSync(join(workerData.dir, 'tokenizer_config.json')) ? read('tokenizer_config.json') : {};
const tokenizer = new Tokenizer(read('tokenizer.json'), config);
for (const text of workerData.inputs) tokenizer.encode(text);
parentPort.postMessage('done');
`;

/** Loads the folder's tokenizer.json in a worker and encodes the probe inputs; refuses the model when that does not end in time. */
export async function probeTokenizer(dir: string, deadlineMs = TOKENIZER_PROBE_DEADLINE_MS): Promise<void> {
  const module = createRequire(import.meta.url).resolve('@huggingface/tokenizers');
  const worker = new Worker(WORKER, { eval: true, workerData: { dir, module, inputs: PROBE_INPUTS }, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
  const file = join(dir, 'tokenizer.json');
  const outcome = await new Promise<{ ok: true } | { ok: false; why: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, why: `did not load and encode ${PROBE_INPUTS.length} inputs of 4,096 characters within ${deadlineMs / 1000} s (a slow pre-tokenizer or normalizer regex, or a huge vocabulary)` }), deadlineMs);
    worker.once('message', () => {
      clearTimeout(timer);
      resolve({ ok: true });
    });
    worker.once('error', (error: Error & { code?: string }) => {
      clearTimeout(timer);
      resolve({ ok: false, why: error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'needs more than 1 GB of memory to load and encode' : `failed to encode: ${error.message}` });
    });
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve({ ok: false, why: 'stopped before encoding' });
    });
  });
  await worker.terminate();
  if (!outcome.ok) {
    throw new FinetuneError('MODEL_UNSUPPORTED', `${file} ${outcome.why}; the model is not imported.`, {
      recovery: 'Use the tokenizer.json published with the model (Hugging Face tokenizers writes bounded regexes), or fix the pattern named in its pre_tokenizer / normalizer.',
      details: { file },
    });
  }
}
