import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportDatasetTool } from '../../tools/export-dataset.js';
import { inspectDatasetTool } from '../../tools/inspect-dataset.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import { validateDatasetTool } from '../../tools/validate-dataset.js';
import { errorCode } from '../helpers/mcp.js';
import { useDatasetClient } from './helpers.js';

/**
 * Embedding pairs: {anchor, positive} (a query and its passage, for MultipleNegativesRanking) and
 * {sentence1, sentence2, score} (a similarity target for the cosine loss) are detected, kept as
 * canonical rows, refused with the line and field of a bad score or a missing text, and exported.
 */
const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

const PAIRS = [
  { anchor: 'Who found the hat?', positive: 'Sue the fox found a red hat at home.' },
  { anchor: 'Where did Tom swim?', positive: 'Tom swam in the cold lake every morning.' },
  { anchor: 'What did Lily bake?', positive: 'Lily baked a big cake for her mom.' },
  { anchor: 'Why was Max sad?', positive: 'Max was sad because his kite broke.' },
];
const SCORED = [
  { sentence1: 'A man is playing a guitar.', sentence2: 'A person plays a guitar.', score: 0.92 },
  { sentence1: 'A cat sleeps on the sofa.', sentence2: 'A dog runs in the park.', score: 0.04 },
  { sentence1: 'The girl eats an apple.', sentence2: 'A girl is eating fruit.', score: 0.7 },
  { sentence1: 'Rain falls on the roof.', sentence2: 'The stock market fell.', score: -0.2 },
];

describe('pair and scored_pair datasets', () => {
  const env = useDatasetClient('ftm-ds-pairs-');
  const write = (name: string, text: string) => {
    const path = join(env.scratch, name);
    writeFileSync(path, text);
    return path;
  };

  it('detects {anchor, positive} as pair rows and {sentence1, sentence2, score} as scored_pair rows, kept as given', async () => {
    const pairs = await env.t.callOk(prepareDatasetTool, { path: write('pairs.jsonl', jsonl(PAIRS)) });
    expect(pairs).toMatchObject({ task_type: 'pair', format: 'pair', counts: { rows: 4 } });
    const scored = await env.t.callOk(prepareDatasetTool, { path: write('sts.jsonl', jsonl(SCORED)) });
    expect(scored).toMatchObject({ task_type: 'scored_pair', format: 'scored_pair', counts: { rows: 4 } });
    const page = await env.t.callOk(inspectDatasetTool, { dataset_id: scored.dataset_id, offset: 3, limit: 1 });
    expect(page.rows[0].row).toEqual(SCORED[3]);
    // a triplet keeps its own type: the negative decides
    const triplet = await env.t.callOk(prepareDatasetTool, { path: write('triplet.jsonl', jsonl([{ ...PAIRS[0], negative: PAIRS[1]!.positive }, { ...PAIRS[2], negative: PAIRS[3]!.positive }])) });
    expect(triplet.task_type).toBe('triplet');
  });

  it('reads the score of a CSV row (text cells) as its number', async () => {
    const csv = `sentence1,sentence2,score\n${SCORED.map((r) => `"${r.sentence1}","${r.sentence2}",${r.score}`).join('\n')}\n`;
    const out = await env.t.callOk(prepareDatasetTool, { path: write('sts.csv', csv) });
    expect(out.task_type).toBe('scored_pair');
    const page = await env.t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id, offset: 0, limit: 4 });
    expect(page.rows.map((r) => (r.row as { score: number }).score)).toEqual([0.92, 0.04, 0.7, -0.2]);
  });

  it('locates a missing, non-numeric or out-of-range score and a missing text by line and field, with a fix', async () => {
    const rows = [
      SCORED[0],
      { sentence1: 'A man sings.', sentence2: 'A man is singing.' },
      { sentence1: 'A man sings.', sentence2: 'Someone sings.', score: 'high' },
      { sentence1: 'A boy runs.', sentence2: 'A child is running.', score: 4.2 },
      { sentence1: 'A boy runs.', sentence2: 'A kid jogs.', score: -3 },
      { sentence1: 'A bird flies.', score: 0.5 },
      SCORED[1],
    ];
    const out = await env.t.callOk(validateDatasetTool, { path: write('bad-sts.jsonl', jsonl(rows)), format: 'scored_pair' });
    expect(out.valid).toBe(false);
    const errors = out.issues.filter((i) => i.severity === 'error').map((i) => [i.line, i.code, i.field]);
    expect(errors).toEqual([
      [2, 'missing_field', 'score'],
      [3, 'field_not_number', 'score'],
      [4, 'score_out_of_range', 'score'],
      [5, 'score_out_of_range', 'score'],
      [6, 'missing_field', 'sentence2'],
    ]);
    const byLine = Object.fromEntries(out.issues.map((i) => [i.line, i]));
    expect(byLine[4]!.fix).toMatch(/divide by 5/);
    expect(byLine[5]!.fix).toMatch(/\[-1, 1\]/);
    const refused = await env.t.call('prepare_dataset', { path: join(env.scratch, 'bad-sts.jsonl') });
    expect(refused.isError).toBe(true);
    expect(errorCode(refused)).toBe('DATASET_INVALID');
  });

  it('locates a pair row without its positive, one whose positive is not text, and a triplet among pairs (its negative would be lost)', async () => {
    const rows = [PAIRS[0], { anchor: 'Who swam?', positive: 7 }, PAIRS[2], { anchor: 'Who baked?', passage: 'Lily baked.' }, { ...PAIRS[3], negative: 'Max flew his kite.' }];
    const out = await env.t.callOk(validateDatasetTool, { path: write('bad-pairs.jsonl', jsonl(rows)) });
    expect(out.issues.filter((i) => i.severity === 'error').map((i) => [i.line, i.code, i.field])).toEqual([
      [2, 'field_not_string', 'positive'],
      [4, 'missing_field', 'positive'],
      [5, 'meaning_field_dropped', 'negative'],
    ]);
    expect(out.issues.find((i) => i.line === 5)!.fix).toMatch(/format "triplet"/);
  });

  it('exports pairs and scored pairs as JSONL and CSV that import back to the same rows, and splits them', async () => {
    for (const [name, rows] of [
      ['pairs', PAIRS],
      ['scored', SCORED],
    ] as const) {
      const source = await env.t.callOk(prepareDatasetTool, { path: write(`${name}-src.jsonl`, jsonl(rows)) });
      for (const format of ['jsonl', 'csv'] as const) {
        const path = join(env.scratch, `${name}-out.${format}`);
        await env.t.callOk(exportDatasetTool, { dataset_id: source.dataset_id, path, format });
        const back = await env.t.callOk(prepareDatasetTool, { path });
        expect(back.task_type).toBe(source.task_type);
        const page = await env.t.callOk(inspectDatasetTool, { dataset_id: back.dataset_id, offset: 0, limit: 10 });
        expect(page.rows.map((r) => r.row)).toEqual(rows);
      }
      if (name === 'scored') expect(readFileSync(join(env.scratch, 'scored-out.csv'), 'utf8').split('\n')[0]).toBe('sentence1,sentence2,score');
      const split = await env.t.callOk(splitDatasetTool, { dataset_id: source.dataset_id, ratios: { train: 0.5, validation: 0.25, test: 0.25 } });
      expect(split.counts.train! + split.counts.validation! + split.counts.test!).toBe(4);
    }
  });
});
