/** Child process of bench/datasets.ts: validates one file and prints its figures as JSON (own process, own peak RSS). */
import { DatasetSettingsSchema } from '../src/datasets/settings.js';
import { readSourceBatches } from '../src/datasets/sources.js';
import { openAiCounter } from '../src/datasets/tokenizers.js';
import { validateRecords } from '../src/datasets/validate.js';

const [path, withTokens] = process.argv.slice(2);
const settings = DatasetSettingsSchema.parse({});
const counter = withTokens === 'tokens' ? await openAiCounter('gpt-4o-mini') : undefined;
const started = performance.now();
const cpuStarted = process.cpuUsage();
const result = await validateRecords(
  readSourceBatches(path, { maxLineBytes: settings.max_line_bytes, maxJsonBytes: settings.max_json_bytes, textSeparator: '' }),
  { counter, maxIssues: settings.max_issues, thresholds: settings },
);
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
const cpu_seconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `${JSON.stringify({ seconds, cpu_seconds, records: result.summary.records, errors: result.summary.errors, by_code: result.summary.by_code, max_rss_mb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
