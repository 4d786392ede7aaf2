import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import type { RunContext } from './service.js';

export interface ExtractOptions {
  /** Name of an enabled data_source plugin, e.g. "phoenix". */
  source: string;
  /** The plugin's own query (project, time range, feedback filters…). */
  query: Record<string, unknown>;
  name?: string;
}

/**
 * Pulls examples from a data-source plugin (telemetry, a knowledge base) into a JSONL file in the
 * workspace, then prepares it as an ordinary dataset version, so extracted data gets the same
 * validation, statistics and lineage as an imported file. Records the source could not use are
 * returned with their reason, never dropped silently.
 */
export async function extractDataset(services: Services, options: ExtractOptions, run: RunContext = {}) {
  const source = await services.plugins.get('data_source', options.source);
  const file = join(services.workspace.artifactDir('exports', 'extracted'), `${options.source}-${services.workspace.newId('dataset')}.jsonl`);
  const skipped: Array<{ ref: string; reason: string }> = [];
  let rows = 0;
  const out = createWriteStream(file, { encoding: 'utf8' });
  try {
    for await (const row of source.extract(options.query, (s) => skipped.push(s))) {
      if (run.signal?.aborted) throw new FinetuneError('CANCELLED', 'Extraction cancelled.');
      // Source metadata (trace and span ids) stays in the extracted file's sidecar, not in the training rows.
      const { metadata: _metadata, ...example } = row;
      if (!out.write(`${JSON.stringify(example)}\n`)) await once(out, 'drain');
      rows++;
      if (rows % 500 === 0) run.progress?.(rows, 0, `${rows} examples extracted`);
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  if (rows === 0) {
    throw new FinetuneError('DATASET_INVALID', `${options.source} returned no usable examples (${skipped.length} skipped${skipped[0] ? `, e.g. ${skipped[0].ref}: ${skipped[0].reason}` : ''}).`, {
      recovery: 'Widen the query (time range, project, feedback filters) and extract again.',
      details: { field: 'query' },
    });
  }
  const prepared = await services.datasets.prepare({ path: file, name: options.name ?? `${options.source}-extract` }, run);
  return { prepared, rows, skipped, file };
}
