import type { CanonicalRow, TaskType } from '../../src/datasets/types.js';
import { ReviewQueueStore } from '../../src/generation/queue-store.js';
import type { CandidateRow, GenerationKind, ReviewQueueRecord, RowFlag } from '../../src/generation/types.js';
import type { Workspace } from '../../src/workspace/workspace.js';

/** Text unique to row n of a test queue, so a test can look for it in any file. */
export const marker = (n: number) => `ZQX${String(n).padStart(3, '0')}`;

/** A canonical row of a task type, carrying the marker of row n (the shapes prepare_dataset writes). */
export function testRow(task: TaskType, n: number): CanonicalRow {
  if (task === 'triplet') return { anchor: `How long do refunds take ${marker(n)}?`, positive: `Refunds take five days (${marker(n)}).`, negative: `Shipping is free over 50 EUR (${marker(n)}).` };
  return { messages: [{ role: 'user', content: `What does the handbook say about case ${marker(n)}?` }, { role: 'assistant', content: `Case ${marker(n)} is handled within five working days.` }] };
}

/** A queue as generate_dataset would leave it: `count` pending rows with document provenance; every fifth row flagged. */
export function createTestQueue(workspace: Workspace, options: { count: number; task?: TaskType; kind?: GenerationKind; name?: string }): ReviewQueueRecord {
  const task = options.task ?? 'chat';
  const rows: Array<CandidateRow & { flags: RowFlag[] }> = Array.from({ length: options.count }, (_, i) => ({
    row: testRow(task, i + 1),
    context: `Handbook passage ${i + 1}`,
    provenance: {
      source: { type: 'document', file: '/docs/handbook.md', chunk: i, heading_path: ['Refunds', `Case ${i + 1}`], span: [i * 100, i * 100 + 90], sha256: 'a'.repeat(64) },
      generator: { provider: 'openai-compatible', model: 'fake-generator' },
      prompt_template: { id: options.kind ?? 'qa', version: 1 },
      generated_at: '2026-12-05T08:00:00.000Z',
    },
    flags: (i + 1) % 5 === 0 ? [{ code: 'unsupported', message: 'answer shares 12% of its words with its chunk (min 30%)', score: 0.12 }] : [],
  }));
  return new ReviewQueueStore(workspace).create(
    { name: options.name ?? null, kind: options.kind ?? (task === 'triplet' ? 'triplets' : 'qa'), task_type: task, source: { documents: ['/docs/handbook.md'] }, generator: { provider: 'openai-compatible', model: 'fake-generator' }, params: { count: options.count }, report: { requested: options.count, generated: options.count } },
    rows,
  );
}

/** `<queue>:<n>` for n in [from, to]. */
export function ids(queue: string, from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${queue}:${from + i}`);
}
