import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a file in test/fixtures/metrics/. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/metrics/${name}`, import.meta.url));
}

export function readJson(name: string): any {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8'));
}

export interface Pair {
  id: string | number;
  hypothesis: string;
  reference: string;
}

export function readPairs(name: string): Pair[] {
  return readFileSync(fixturePath(name), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Pair);
}

/** sacreBLEU's reference streams ([stream][segment]) turned into per-segment reference lists. */
export function perSegment(streams: readonly (readonly string[])[]): string[][] {
  return streams[0].map((_, i) => streams.map((s) => s[i]));
}

/** What the reference implementations computed on this folder's inputs (see make_expected.py). */
export const expected = readJson('expected_values.json');
