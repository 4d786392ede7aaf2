/**
 * How fast hostile inputs are refused. A CSV whose header has a million columns (5 MB): the time
 * readSource takes to refuse it (the header's columns are counted on the bytes), against csv-parse
 * parsing the same header line alone, as readSource did before (every field built before its
 * `columns` hook could refuse them), measured in the same run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSource } from '../src/datasets/sources.js';

const folder = mkdtempSync(join(tmpdir(), 'ftm-bench-hostile-'));
const file = join(folder, 'million.csv');
const header = Array.from({ length: 1_000_000 }, (_, i) => i.toString(36)).join(',');
writeFileSync(file, `${header}\n${header}\n`);

async function refuse(): Promise<number> {
  const started = performance.now();
  for await (const record of readSource(file, { maxLineBytes: 64 * 1024 * 1024, maxJsonBytes: 128 * 1024 * 1024 })) if (!record.issue) throw new Error('the million-column header was not refused');
  return performance.now() - started;
}

function parseHeader(): number {
  const { parse } = createRequire(import.meta.url)('csv-parse/sync') as typeof import('csv-parse/sync');
  const started = performance.now();
  parse(header, { columns: false });
  return performance.now() - started;
}

try {
  const ours = await refuse();
  const reference = parseHeader();
  console.log(`million-column CSV header (${(header.length / 1e6).toFixed(1)} MB): refused in ${ours.toFixed(0)} ms; csv-parse on the header alone ${reference.toFixed(0)} ms (${(reference / ours).toFixed(0)}x)`);
} finally {
  rmSync(folder, { recursive: true, force: true });
}
