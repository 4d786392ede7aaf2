import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a dataset version folder exactly as docs/CONVENTIONS.md lays it out (rows.jsonl, split
 * files, manifest.json), for tests that need a dataset without running the datasets stage.
 */
export function writeTestDataset(home: string, options: { id?: string; task_type?: 'chat' | 'preference' | 'completion'; rows: number; tokens_per_row?: number; split?: boolean }): string {
  const id = options.id ?? `ds_test${Math.random().toString(36).slice(2, 10)}`;
  const task_type = options.task_type ?? 'chat';
  const dir = join(home, 'datasets', id);
  mkdirSync(dir, { recursive: true });
  const rows = Array.from({ length: options.rows }, (_, i) =>
    task_type === 'preference'
      ? { prompt: [{ role: 'user', content: `q${i}` }], chosen: [{ role: 'assistant', content: `good ${i}` }], rejected: [{ role: 'assistant', content: `bad ${i}` }] }
      : task_type === 'completion'
        ? { prompt: `q${i}`, completion: `a${i}` }
        : { messages: [{ role: 'user', content: `question ${i}` }, { role: 'assistant', content: `answer ${i}` }] },
  );
  const jsonl = (list: unknown[]) => list.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const nTrain = Math.max(1, Math.floor(rows.length * 0.8));
  writeFileSync(join(dir, 'rows.jsonl'), jsonl(rows));
  const split = options.split ?? true;
  if (split) {
    writeFileSync(join(dir, 'train.jsonl'), jsonl(rows.slice(0, nTrain)));
    writeFileSync(join(dir, 'validation.jsonl'), jsonl(rows.slice(nTrain)));
  }
  const perRow = options.tokens_per_row ?? 100;
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      dataset_id: id,
      parent_id: null,
      task_type,
      source: { path: 'test', format: 'jsonl', sha256: '0'.repeat(64) },
      content_hash: '0'.repeat(64),
      counts: split ? { rows: rows.length, train: nTrain, validation: rows.length - nTrain, test: 0 } : { rows: rows.length },
      token_stats: { tokenizer: 'test', total: perRow * rows.length, min: perRow, mean: perRow, p50: perRow, p90: perRow, p95: perRow, max: perRow },
      created_at: new Date().toISOString(),
      lineage: [],
    }),
  );
  return id;
}

/**
 * A dataset version made by the real datasets service (prepare from a generated JSONL source) when
 * the server has one; otherwise the folder layout above.
 */
export async function prepareTestDataset(
  t: { home: string; services: object },
  options: { task_type?: 'chat' | 'preference'; rows: number },
): Promise<string> {
  const datasets = (t.services as { datasets?: { prepare(o: { path: string; model?: string }): Promise<{ record: { id: string } }> } }).datasets;
  if (!datasets) return writeTestDataset(t.home, options);
  const source = join(t.home, 'exports', `source-${Math.random().toString(36).slice(2, 8)}.jsonl`);
  mkdirSync(join(t.home, 'exports'), { recursive: true });
  const rows = Array.from({ length: options.rows }, (_, i) =>
    options.task_type === 'preference'
      ? { prompt: `Question ${i}?`, chosen: `A helpful answer ${i}.`, rejected: `No.` }
      : { messages: [{ role: 'user', content: `Question number ${i}?` }, { role: 'assistant', content: `Answer number ${i}.` }] },
  );
  writeFileSync(source, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return (await datasets.prepare({ path: source, model: 'gpt-4o-mini' })).record.id;
}
