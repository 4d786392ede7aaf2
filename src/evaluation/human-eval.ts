import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Prng } from '../random.js';
import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import type { ComparisonResult } from './compare.js';
import { signTestPValue } from './sign-test.js';

/**
 * Human review of a comparison. setup writes a blind review sheet (CSV: each item shows a question,
 * the reference and two answers as A and B in a seeded random order, one verdict column per
 * criterion); the A/B-to-model key stays in the workspace. record reads the filled sheet back.
 */

const DEFAULT_CRITERIA = ['accuracy', 'helpfulness', 'safety'];
const VERDICTS = new Map([['a', 'a'], ['b', 'b'], ['tie', 'tie'], ['t', 'tie'], ['=', 'tie']]);

interface KeyItem {
  item_id: string;
  line: number;
  /** Which model each side shows. */
  a: string;
  b: string;
  baseline: string;
  candidate: string;
  judge_outcome: 'win' | 'loss' | 'tie' | null;
}

interface StoredCase {
  line: number;
  prompt: string;
  reference: string;
  outputs: Record<string, string>;
}

export async function setupHumanEval(services: Services, args: { comparison_id: string; criteria?: string[]; output_path?: string; max_items?: number; seed: number }) {
  const { workspace } = services;
  const row = workspace.db.prepare('SELECT result, dir FROM comparisons WHERE id = ?').get(args.comparison_id) as { result: string; dir: string } | undefined;
  if (!row) {
    throw new FinetuneError('NOT_FOUND', `No comparison '${args.comparison_id}'.`, { recovery: 'Run compare_models first and pass its comparison_id.', details: { field: 'comparison_id' } });
  }
  const criteria = (args.criteria ?? DEFAULT_CRITERIA).map((c) => c.trim().toLowerCase());
  const bad = criteria.find((c) => !/^[a-z][a-z0-9_]{0,39}$/.test(c));
  if (bad !== undefined || !criteria.length || new Set(criteria).size !== criteria.length) {
    throw new FinetuneError('INVALID_INPUT', `criteria must be distinct lower-case words (e.g. accuracy, helpfulness, safety); '${bad ?? criteria.join(',')}' is not.`, { details: { field: 'criteria' } });
  }
  const result = JSON.parse(row.result) as ComparisonResult;
  const cases = readFileSync(`${row.dir}/cases.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StoredCase);
  const rng = Prng.fromSeed(args.seed);
  const candidates = result.models.map((m) => m.model).filter((m) => m !== result.baseline);
  const key: KeyItem[] = [];
  const sheet: string[][] = [['item_id', 'question', 'reference', 'answer_a', 'answer_b', ...criteria.map((c) => `${c}_winner`), 'comment']];
  const limit = args.max_items ?? Number.POSITIVE_INFINITY;
  outer: for (const candidate of candidates) {
    const outcomes = result.judge_outcomes?.[candidate];
    for (const [i, c] of cases.entries()) {
      if (key.length >= limit) break outer;
      const swap = rng.nextFloat() < 0.5;
      const item: KeyItem = {
        item_id: `item-${key.length + 1}`,
        line: c.line,
        a: swap ? candidate : result.baseline,
        b: swap ? result.baseline : candidate,
        baseline: result.baseline,
        candidate,
        judge_outcome: outcomes?.[i]?.outcome ?? null,
      };
      key.push(item);
      sheet.push([item.item_id, c.prompt, c.reference, c.outputs[item.a], c.outputs[item.b], ...criteria.map(() => ''), '']);
    }
  }
  const id = workspace.newId('human_eval');
  const dir = workspace.artifactPath('evaluations', id);
  const csv = sheet.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
  await workspace.writeDir(dir, (tmp) => {
    workspace.writeFile(`${tmp}/key.json`, JSON.stringify({ comparison_id: args.comparison_id, criteria, items: key }, null, 2));
    workspace.writeFile(`${tmp}/review.csv`, csv);
  });
  const file = args.output_path ? workspace.resolveUserPath(args.output_path, 'output_path') : `${dir}/review.csv`;
  if (args.output_path) workspace.writeFile(file, csv);
  workspace.db
    .prepare('INSERT INTO human_evals (id, comparison_id, models, criteria, items, file, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(id, args.comparison_id, JSON.stringify([result.baseline, ...candidates]), JSON.stringify(criteria), key.length, file, new Date().toISOString());
  return {
    human_eval_id: id,
    file,
    items: key.length,
    criteria,
    instructions:
      `Open ${file} in a spreadsheet. For each row read the question, the reference and answers A and B, and write A, B or tie in each ` +
      `${criteria.map((c) => `${c}_winner`).join(', ')} column (leave blank to skip). The sides are shuffled; do not guess which model is which. ` +
      'Then call record_human_eval with the filled file and the reviewer name.',
  };
}

export async function recordHumanEval(services: Services, args: { human_eval_id: string; path: string; reviewer: string }) {
  const { workspace } = services;
  const record = workspace.db.prepare('SELECT id, criteria FROM human_evals WHERE id = ?').get(args.human_eval_id) as { id: string; criteria: string } | undefined;
  if (!record) throw new FinetuneError('NOT_FOUND', `No human evaluation '${args.human_eval_id}'.`, { recovery: 'Call setup_human_eval first.', details: { field: 'human_eval_id' } });
  const reviewer = args.reviewer.trim();
  if (!reviewer) throw new FinetuneError('INVALID_INPUT', 'reviewer must name who filled the sheet.', { details: { field: 'reviewer' } });
  const keyFile = `${workspace.artifactPath('evaluations', args.human_eval_id)}/key.json`;
  const key = JSON.parse(readFileSync(keyFile, 'utf8')) as { criteria: string[]; items: KeyItem[] };
  const path = workspace.resolveUserPath(args.path, 'path');
  if (!existsSync(path)) throw new FinetuneError('FILE_ERROR', `path '${args.path}' does not exist.`, { details: { field: 'path', file: path } });
  let table: string[][];
  try {
    // Spreadsheets drop trailing empty cells: rows may be shorter than the header.
    // csv-parse loads with the first CSV read, not at start-up.
    const { parse: parseCsv } = createRequire(import.meta.url)('csv-parse/sync') as typeof import('csv-parse/sync');
    table = parseCsv(readFileSync(path, 'utf8'), { skip_empty_lines: true, bom: true, relax_column_count: true }) as string[][];
  } catch (error) {
    throw new FinetuneError('FILE_ERROR', `${path} is not a readable CSV: ${(error as Error).message}`, { details: { field: 'path', file: path } });
  }
  const header = (table[0] ?? []).map((h) => h.trim());
  for (const column of ['item_id', ...key.criteria.map((c) => `${c}_winner`)]) {
    if (!header.includes(column)) throw sheetError(path, 1, column, `the column ${column} is missing`);
  }
  const rows = table.slice(1).map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])) as Record<string, string>);
  const items = new Map(key.items.map((k) => [k.item_id, k]));
  const verdicts: Array<{ item: KeyItem; criterion: string; winner: 'a' | 'b' | 'tie'; comment: string }> = [];
  rows.forEach((r, index) => {
    const line = index + 2; // header is line 1
    const item = items.get((r.item_id ?? '').trim());
    if (!item) throw sheetError(path, line, 'item_id', `item_id '${r.item_id ?? ''}' is not in this review`);
    for (const criterion of key.criteria) {
      const column = `${criterion}_winner`;
      const raw = (r[column] ?? '').trim().toLowerCase();
      if (!raw) continue;
      const winner = VERDICTS.get(raw) as 'a' | 'b' | 'tie' | undefined;
      if (!winner) throw sheetError(path, line, column, `'${r[column]}' is not A, B or tie`);
      verdicts.push({ item, criterion, winner, comment: (r.comment ?? '').trim() });
    }
  });
  if (!verdicts.length) throw new FinetuneError('DATASET_INVALID', `${path} holds no verdicts: every *_winner cell is blank.`, { details: { file: path } });
  const insert = workspace.db.prepare('INSERT INTO human_eval_verdicts (human_eval_id, item_id, reviewer, criterion, winner, comment, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const now = new Date().toISOString();
  try {
    workspace.db.transaction(() => {
      for (const v of verdicts) insert.run(args.human_eval_id, v.item.item_id, reviewer, v.criterion, candidateSide(v.item, v.winner), v.comment, now);
    }).immediate();
  } catch (error) {
    if (String((error as Error).message).includes('UNIQUE')) {
      throw new FinetuneError('STATE_CONFLICT', `Reviewer '${reviewer}' already recorded verdicts for this review; verdicts never change.`, {
        recovery: 'Record another reviewer’s sheet, or set up a new review.',
        details: { field: 'reviewer' },
      });
    }
    throw error;
  }
  return { human_eval_id: args.human_eval_id, reviewer, recorded: verdicts.length, ...summarize(services, args.human_eval_id, key.items) };
}

/** Stores verdicts from the candidate's side: 'win', 'loss' or 'tie', so blinding never leaks into results. */
function candidateSide(item: KeyItem, winner: 'a' | 'b' | 'tie'): string {
  if (winner === 'tie') return 'tie';
  return (winner === 'a' ? item.a : item.b) === item.candidate ? 'win' : 'loss';
}

function summarize(services: Services, id: string, items: KeyItem[]) {
  const rows = services.workspace.db.prepare('SELECT item_id, reviewer, criterion, winner FROM human_eval_verdicts WHERE human_eval_id = ?').all(id) as Array<{ item_id: string; reviewer: string; criterion: string; winner: string }>;
  const byItem = new Map(items.map((k) => [k.item_id, k]));
  const groups = new Map<string, { model: string; criterion: string; wins: number; losses: number; ties: number }>();
  let agree = 0;
  let compared = 0;
  for (const r of rows) {
    const item = byItem.get(r.item_id)!;
    const keyName = `${item.candidate}\0${r.criterion}`;
    const g = groups.get(keyName) ?? { model: item.candidate, criterion: r.criterion, wins: 0, losses: 0, ties: 0 };
    if (r.winner === 'win') g.wins++;
    else if (r.winner === 'loss') g.losses++;
    else g.ties++;
    groups.set(keyName, g);
    if (item.judge_outcome) {
      compared++;
      if (item.judge_outcome === r.winner) agree++;
    }
  }
  const results = [...groups.values()].map((g) => {
    const n = g.wins + g.losses + g.ties;
    return { ...g, win_rate: (g.wins + g.ties / 2) / n, p_value: signTestPValue(g.wins, g.losses) };
  });
  const reviewers = new Set(rows.map((r) => r.reviewer)).size;
  return { reviewers, results, judge_agreement: compared ? agree / compared : null };
}

function sheetError(file: string, line: number, field: string, what: string): FinetuneError {
  return new FinetuneError('DATASET_INVALID', `${file}:${line}: ${what}.`, {
    recovery: 'Fill the sheet setup_human_eval wrote without renaming columns or item ids; verdicts are A, B or tie.',
    details: { file, line, field },
  });
}

/** RFC 4180 quoting; a leading = + - @ gets a ' so a spreadsheet shows model text instead of running it as a formula. */
function csvCell(raw: string): string {
  const value = /^[=+\-@]/.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
