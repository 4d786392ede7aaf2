/**
 * Child process of bench/datasets.ts: validates one file and prints its figures as JSON (own process,
 * own peak RSS). It runs the built JavaScript in dist/ (bench/datasets.ts builds it first), as users
 * do: the TypeScript loader would add its own memory to each worker thread's figures.
 */
import { pathToFileURL } from 'node:url';

type Modules = [
  typeof import('../src/streaming-heap.js'),
  typeof import('../src/datasets/settings.js'),
  typeof import('../src/datasets/sources.js'),
  typeof import('../src/datasets/tokenizers.js'),
  typeof import('../src/datasets/parallel-validate.js'),
];
const built = (name: string) => import(pathToFileURL(new URL(`../dist/src/${name}.js`, import.meta.url).pathname).href);
const [{ avoidPretenuring }, { DatasetSettingsSchema }, { readSourceBatches }, { openAiCounter }, { validateSource }] = (await Promise.all(
  ['streaming-heap', 'datasets/settings', 'datasets/sources', 'datasets/tokenizers', 'datasets/parallel-validate'].map(built),
)) as Modules;
avoidPretenuring(); // as the CLI and server do

const [path, mode] = process.argv.slice(2);
const settings = DatasetSettingsSchema.parse({});
const counter = mode === 'tokens' ? await openAiCounter('gpt-4o-mini') : undefined;
const started = performance.now();
const cpuStarted = process.cpuUsage();
const sourceOptions = { maxLineBytes: settings.max_line_bytes, maxJsonBytes: settings.max_json_bytes, textSeparator: '' };
const source = readSourceBatches(path, sourceOptions);
// 'read' is the floor under validation (read, UTF-8 check, JSON.parse, line hash; no row checks), to show where time goes.
const result = mode === 'read' ? await readOnly(source) : await validateSource(path, sourceOptions, { counter, maxIssues: settings.max_issues, thresholds: settings }); // the service's path: two worker threads for a large JSON Lines file

async function readOnly(records: typeof source) {
  const byCode: Record<string, number> = {};
  let n = 0;
  for await (const batch of records) {
    for (const record of batch) {
      n++;
      if (record.issue) byCode[record.issue.code] = (byCode[record.issue.code] ?? 0) + 1;
    }
  }
  return { summary: { records: n, errors: Object.values(byCode).reduce((a, b) => a + b, 0), by_code: byCode } };
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
const cpu_seconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `${JSON.stringify({ seconds, cpu_seconds, records: result.summary.records, errors: result.summary.errors, by_code: result.summary.by_code, max_rss_mb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
