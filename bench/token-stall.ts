/**
 * The longest event-loop stall while a file with 1 MB rows is validated with a model's Hugging Face
 * tokenizer (stories260K's, converted from the shipped tok512.bin), before and after long rows were
 * counted in a worker thread (countAside), in the same run: "before" is the same counter with
 * countAside removed, which counts every row on the main thread as the code did. The token figures of
 * both must be equal. BENCH_ROW_KB (1024) and BENCH_LONG_ROWS (2) size the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { validateSource } from '../src/datasets/parallel-validate.js';
import { DatasetSettingsSchema } from '../src/datasets/settings.js';
import { localCounter, type TokenCounter } from '../src/datasets/tokenizers.js';
import { convertLlama2c } from '../src/models/files/llama2c.js';

const rowChars = Number(process.env.BENCH_ROW_KB ?? 1024) * 1024;
const longRows = Number(process.env.BENCH_LONG_ROWS ?? 2);
const folder = mkdtempSync(join(tmpdir(), 'ftm-bench-token-stall-'));
const stories = new URL('../assets/models/stories260K/', import.meta.url).pathname;
convertLlama2c({ checkpoint: join(stories, 'stories260K.bin'), tokenizer: join(stories, 'tok512.bin'), out_dir: join(folder, 'model') });

const sentence = (i: number) => `Once upon a time, girl number ${i} named Lily loved to play outside in the park with her dog. `;
const lines: string[] = [];
for (let r = 0; r < longRows; r++) {
  let text = '';
  for (let i = r * 1_000_000; text.length < rowChars; i++) text += sentence(i);
  lines.push(JSON.stringify({ messages: [{ role: 'user', content: `Summarise: ${text.slice(0, rowChars)}` }, { role: 'assistant', content: `Story ${r} is long.` }] }));
  for (let s = 0; s < 10; s++) lines.push(JSON.stringify({ messages: [{ role: 'user', content: `Question ${r}.${s}?` }, { role: 'assistant', content: sentence(s) }] }));
}
const file = join(folder, 'long-rows.jsonl');
writeFileSync(file, `${lines.join('\n')}\n`);

const settings = DatasetSettingsSchema.parse({});
const sourceOptions = { maxLineBytes: settings.max_line_bytes, maxJsonBytes: settings.max_json_bytes, textSeparator: '' };

async function run(counter: TokenCounter): Promise<{ stallMs: number; seconds: number; tokens: unknown }> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const started = performance.now();
  const result = await validateSource(file, sourceOptions, { counter, maxIssues: settings.max_issues, thresholds: settings });
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  return { stallMs: delay.max / 1e6, seconds, tokens: result.summary.tokens };
}

try {
  const counter = await localCounter(join(folder, 'model'));
  const mainThread: TokenCounter = { ...counter, countAside: undefined };
  console.log(`${lines.length} rows, ${longRows} of ${(rowChars / 1024).toFixed(0)} KB, tokenizer ${counter.name}`);
  const after = await run(counter);
  const before = await run(mainThread);
  const same = JSON.stringify(before.tokens) === JSON.stringify(after.tokens);
  console.log(`before (every row counted on the event loop): longest stall ${before.stallMs.toFixed(0)} ms, validation ${before.seconds.toFixed(1)} s`);
  console.log(`after (rows of 32k+ characters counted in a worker): longest stall ${after.stallMs.toFixed(0)} ms, validation ${after.seconds.toFixed(1)} s`);
  console.log(`token statistics identical: ${same ? 'yes' : 'NO'}`);
  if (!same) process.exitCode = 1;
} finally {
  rmSync(folder, { recursive: true, force: true });
}
