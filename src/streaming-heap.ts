import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's allocation-site pretenuring for this process (worker threads included). Dataset
 * tools stream millions of short-lived rows; once a few batches happened to survive a young GC, V8
 * pretenured the sites that allocate rows, so every later row went straight to the old generation
 * as garbage: split_dataset on 1 GB grew to ~200 MB of heap between full GCs and 384 MB RSS, and
 * ran 25% slower than without it (274 MB). See docs/datasets.md.
 */
export function avoidPretenuring(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
