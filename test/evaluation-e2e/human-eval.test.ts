import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { parse as parseCsv } from 'csv-parse/sync';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareModelsTool } from '../../tools/compare-models.js';
import { recordHumanEvalTool } from '../../tools/record-human-eval.js';
import { setupHumanEvalTool } from '../../tools/setup-human-eval.js';
import { registerModelTool } from '../../tools/register-model.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { writeAdapter } from '../registry/records.js';

/** Six cases; the tuned answer is the good one (marked ★) in the first four. */
function outputsFile(dir: string): string {
  const rows = Array.from({ length: 6 }, (_, i) => ({
    prompt: `Q${i}, with "quotes", commas\nand a newline`,
    reference: `ref ${i}`,
    outputs: { base: `=base ${i}${i >= 4 ? ' ★' : ''}`, tuned: `tuned ${i}${i < 4 ? ' ★' : ''}` },
  }));
  const path = join(dir, 'outputs.jsonl');
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n'));
  return path;
}

describe('human evaluation round trip', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('writes a blind sheet, maps verdicts back through the key, pools reviewers and measures judge agreement', async () => {
    t = await connectTestClient({ clientCapabilities: { capabilities: { sampling: {} } } });
    t.client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const text = (request.params.messages[0].content as { text: string }).text;
      const a = /Assistant A's Answer\]\n([\s\S]*?)\n\[The End/.exec(text)![1];
      return { model: 'j', role: 'assistant', content: { type: 'text', text: a.includes('★') ? '[[A]]' : '[[B]]' } };
    });
    const cmp = await t.callOk(compareModelsTool, { outputs_path: outputsFile(t.home), baseline: 'base', metrics: ['chrf'] });
    const setup = await t.callOk(setupHumanEvalTool, { comparison_id: cmp.comparison_id, criteria: ['accuracy', 'safety'], output_path: join(t.home, 'review.csv') });
    expect(setup).toMatchObject({ items: 6, criteria: ['accuracy', 'safety'], file: join(t.home, 'review.csv') });
    const sheet = parseCsv(readFileSync(setup.file, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(sheet[0])).toEqual(['item_id', 'question', 'reference', 'answer_a', 'answer_b', 'accuracy_winner', 'safety_winner', 'comment']);
    expect(sheet[0].question).toBe('Q0, with "quotes", commas\nand a newline');
    // Blind: the sides are shuffled, so both orders occur; a leading "=" cannot run as a formula.
    const tunedFirst = sheet.map((r) => r.answer_a.startsWith('tuned'));
    expect(tunedFirst).toContain(true);
    expect(tunedFirst).toContain(false);
    expect(sheet.flatMap((r) => [r.answer_a, r.answer_b]).filter((a) => a.includes('base'))[0]).toMatch(/^'=base/);

    // Alice prefers the ★ answer on accuracy and calls safety a tie; Bob says A on everything.
    const fill = (pick: (r: Record<string, string>) => [string, string], name: string) => {
      const rows = sheet.map((r) => ({ ...r, accuracy_winner: pick(r)[0], safety_winner: pick(r)[1] }));
      const header = Object.keys(sheet[0]);
      const path = join(t.home, `${name}.csv`);
      writeFileSync(path, [header.join(','), ...rows.map((r) => header.map((h) => `"${String(r[h]).replace(/"/g, '""')}"`).join(','))].join('\n'));
      return path;
    };
    const alice = await t.callOk(recordHumanEvalTool, { human_eval_id: setup.human_eval_id, reviewer: 'alice', path: fill((r) => [r.answer_a.includes('★') ? 'A' : 'b', 'tie'], 'alice') });
    expect(alice.recorded).toBe(12);
    expect(alice.results.find((r) => r.criterion === 'accuracy')).toMatchObject({ model: 'tuned', wins: 4, losses: 2, ties: 0, win_rate: 4 / 6 });
    expect(alice.results.find((r) => r.criterion === 'safety')).toMatchObject({ wins: 0, losses: 0, ties: 6, win_rate: 0.5, p_value: 1 });
    // The judge saw the same ★ answers: it agrees with every accuracy verdict and with none of the safety ties.
    expect(alice.judge_agreement).toBe(0.5);

    const bob = await t.callOk(recordHumanEvalTool, { human_eval_id: setup.human_eval_id, reviewer: 'bob', path: fill(() => ['A', ''], 'bob') });
    expect(bob.reviewers).toBe(2);
    const pooled = bob.results.find((r) => r.criterion === 'accuracy')!;
    const bobWins = tunedFirst.filter(Boolean).length;
    expect(pooled).toMatchObject({ wins: 4 + bobWins, losses: 2 + (6 - bobWins), ties: 0 });

    expect(errorCode(await t.call('record_human_eval', { human_eval_id: setup.human_eval_id, reviewer: 'bob', path: join(t.home, 'bob.csv') }))).toBe('STATE_CONFLICT');

    // The pooled verdicts travel into the registry as evidence for a version.
    const adapter = writeAdapter(join(t.home, 'adapter'));
    const { model_version: v } = await t.callOk(registerModelTool, { name: 'tuned', version: '1.0.0', adapter_path: adapter, human_eval_id: setup.human_eval_id });
    const accuracyRate = (4 + bobWins) / 12;
    expect(v.metrics.human_win_rate_accuracy).toBeCloseTo(accuracyRate, 12);
    expect(v.metrics.human_win_rate_safety).toBe(0.5);
    expect(v.metrics.human_win_rate).toBeCloseTo((12 * accuracyRate + 3) / 18, 12);
    expect(v.lineage.evaluation_ids).toEqual([setup.human_eval_id]);
  });

  it('refuses bad sheets with the line and column, and unknown ids', async () => {
    t = await connectTestClient();
    const cmp = await t.callOk(compareModelsTool, { outputs_path: outputsFile(t.home), judge: 'none', metrics: ['chrf'] });
    const setup = await t.callOk(setupHumanEvalTool, { comparison_id: cmp.comparison_id });
    const text = readFileSync(setup.file, 'utf8').replace(/\r\n$/, '');
    const lines = text.split('\r\n');
    const bad = join(t.home, 'bad.csv');
    writeFileSync(bad, [lines[0], lines[1].replace(/,,,,$/, ',maybe,,,')].join('\r\n'));
    const r = await t.call('record_human_eval', { human_eval_id: setup.human_eval_id, reviewer: 'x', path: bad });
    expect(errorCode(r)).toBe('DATASET_INVALID');
    expect(r._meta).toMatchObject({ details: { line: 2, field: 'accuracy_winner' } });
    expect(errorCode(await t.call('record_human_eval', { human_eval_id: setup.human_eval_id, reviewer: 'x', path: setup.file }))).toBe('DATASET_INVALID');
    // A spreadsheet that drops trailing empty cells is still read; a renamed column is named.
    const trimmed = join(t.home, 'trimmed.csv');
    writeFileSync(trimmed, [lines[0], lines[1].replace(/,,,,$/, ',A')].join('\r\n'));
    expect((await t.callOk(recordHumanEvalTool, { human_eval_id: setup.human_eval_id, reviewer: 'y', path: trimmed })).recorded).toBe(1);
    const renamed = join(t.home, 'renamed.csv');
    writeFileSync(renamed, [lines[0].replace('safety_winner', 'safe'), lines[1]].join('\r\n'));
    const r2 = await t.call('record_human_eval', { human_eval_id: setup.human_eval_id, reviewer: 'z', path: renamed });
    expect(r2._meta).toMatchObject({ code: 'DATASET_INVALID', details: { line: 1, field: 'safety_winner' } });
    expect(errorCode(await t.call('setup_human_eval', { comparison_id: 'cmp_nope' }))).toBe('NOT_FOUND');
    expect(errorCode(await t.call('setup_human_eval', { comparison_id: cmp.comparison_id, criteria: ['Not OK!'] }))).toBe('INVALID_INPUT');
    const recorded = t.services.workspace.db.prepare('SELECT reviewer, COUNT(*) AS n FROM human_eval_verdicts GROUP BY reviewer').all();
    expect(recorded).toEqual([{ reviewer: 'y', n: 1 }]);
  });
});
