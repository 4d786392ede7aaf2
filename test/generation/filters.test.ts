import { describe, expect, it } from 'vitest';
import { openAiCounter, type TokenCounter } from '../../src/datasets/tokenizers.js';
import type { CanonicalRow } from '../../src/datasets/types.js';
import { FinetuneError } from '../../src/errors.js';
import { DEFAULT_FILTER_SETTINGS, flagRows, lexicalSupport, taskOfRow } from '../../src/generation/filters.js';
import type { CandidateRow, RowFlag, RowProvenance } from '../../src/generation/types.js';

const PROVENANCE: RowProvenance = {
  source: { type: 'document', file: '/h/billing.md', chunk: 0, heading_path: ['Refunds'], span: [0, 10], sha256: 'x' },
  generator: { provider: 'test', model: 'fake' },
  prompt_template: { id: 'qa', version: 1 },
  generated_at: '2026-01-01T00:00:00Z',
};

const CHUNK =
  'A customer who cancels a yearly plan within 30 days of the purchase or renewal date gets a full refund. After 30 days, cancelling stops the next renewal, and the plan stays active until the end of the paid year; there is no partial refund.';

function qa(question: string, answer: string, context = CHUNK): CandidateRow {
  return { row: { messages: [{ role: 'user', content: question }, { role: 'assistant', content: answer }] }, provenance: PROVENANCE, context };
}

const GOOD = qa('Can I get my money back for a yearly plan?', 'Yes: a yearly plan cancelled within 30 days of purchase or renewal gets a full refund; after that there is no partial refund.');

function codes(flags: RowFlag[][]): string[][] {
  return flags.map((f) => f.map((x) => x.code));
}

function only(flags: RowFlag[], code: string): RowFlag {
  const found = flags.filter((f) => f.code === code);
  expect(found).toHaveLength(1);
  return found[0];
}

describe('flagRows', () => {
  it('flags nothing on a supported, long enough, clean row, and returns one list a row in order', async () => {
    const flags = await flagRows([GOOD, GOOD], {});
    expect(flags).toHaveLength(2);
    expect(flags[0]).toEqual([]);
    expect(codes(flags)[1]).toEqual(['duplicate']);
  });

  it('unsupported: an answer whose content words are not in its chunk', async () => {
    const invented = qa('Can I get my money back?', 'Contact the sales department by fax and they will issue store credit vouchers instead.');
    const [flags] = await flagRows([invented]);
    const flag = only(flags, 'unsupported');
    expect(flag.score).toBeLessThan(0.3);
    expect(flag.message).toMatch(/^messages\[1\]\.content shares \d+% of its content words with its context \(min 30%\)\.$/);
    expect(lexicalSupport(GOOD.row.messages[1].content as string, CHUNK)).toBeGreaterThan(0.6);
    // No context (nothing to support it by): not judged.
    expect(codes(await flagRows([qa('Q?', 'Contact the sales department by fax for store credit.', '')]))).toEqual([[]]);
  });

  it('too_short: an answer under min_answer_chars, the last assistant message of a chat', async () => {
    const [flags] = await flagRows([qa('Refund window for yearly plans?', '30 days.')]);
    expect(only(flags, 'too_short')).toMatchObject({ score: 8, message: 'messages[1].content has 8 characters (min 20).' });
    const [ok] = await flagRows([qa('Refund window for yearly plans?', '30 days.')], { settings: { min_answer_chars: 5 } });
    expect(ok.map((f) => f.code)).not.toContain('too_short');
  });

  it('too_long: over max_row_tokens, or over the counter context limit by default', async () => {
    const counter = await openAiCounter('gpt-4o-mini');
    const [flags] = await flagRows([GOOD], { counter, settings: { max_row_tokens: 20 } });
    const flag = only(flags, 'too_long');
    expect(flag.score).toBe(counter.countChat(GOOD.row.messages as never));
    expect(flag.message).toContain(`by ${counter.name} (max 20)`);
    const small: TokenCounter = { ...counter, context_limit: 10 };
    expect(codes(await flagRows([GOOD], { counter: small }))[0]).toContain('too_long');
    expect(codes(await flagRows([GOOD], { counter }))[0]).not.toContain('too_long');
  });

  it('pii: lists the kinds found and where, never the values', async () => {
    const row = qa('My email is jane.doe@example.com, call +44 20 7946 0958.', 'Thanks; a yearly plan cancelled within 30 days gets a full refund, reach us at help@quill.example.');
    const [flags] = await flagRows([row]);
    const flag = only(flags, 'pii');
    expect(flag.message).toBe('Personal data found: email, phone in messages[0].content; email in messages[1].content.');
    expect(flag.message).not.toContain('jane');
    expect(flag.score).toBe(3);
  });

  it('duplicate: the same row up to case and punctuation, in the batch (later one, other #index) and in existing rows (their ref)', async () => {
    const shouting = qa('CAN I GET MY MONEY BACK FOR A YEARLY PLAN', GOOD.row.messages[1].content.toUpperCase().replace(/[:;.]/g, ''));
    const other = qa('What happens after 30 days?', 'After 30 days, cancelling stops the next renewal and the plan stays active until the end of the paid year.');
    const flags = await flagRows([other, GOOD, shouting]);
    expect(flags[0]).toEqual([]);
    expect(flags[1]).toEqual([]);
    expect(only(flags[2], 'duplicate')).toMatchObject({ other: '#1', score: 1 });
    expect(codes(flags)[2]).not.toContain('near_duplicate');
    const existing = [{ ref: 'ds_1:7', row: other.row }];
    const against = await flagRows([GOOD, other], { existing });
    expect(against[0]).toEqual([]);
    expect(only(against[1], 'duplicate')).toMatchObject({ other: 'ds_1:7' });
  });

  it('near_duplicate: shingle Jaccard at or over 0.8, with the score and the other row; a different row is not near', async () => {
    const long =
      'Yes. A customer who cancels a yearly plan within 30 days of the purchase or renewal date gets a full refund, and after 30 days cancelling only stops the next renewal while the plan stays active until the end of the paid year, with no partial refund at all for the remaining months of that year.';
    const a = qa('Can I get my money back for a yearly plan?', long);
    const b = qa('Can I get my money back for a yearly plan?', long.replace('at all ', ''));
    const c = qa('Can I get my money back for a monthly plan?', 'No. Monthly plans are not refunded; cancelling stops the next charge and the plan stays active until the end of the month.');
    const flags = await flagRows([a, c, b]);
    expect(flags[0]).toEqual([]);
    expect(flags[1].map((f) => f.code)).toEqual([]);
    const near = only(flags[2], 'near_duplicate');
    expect(near.other).toBe('#0');
    expect(near.score).toBeGreaterThanOrEqual(0.8);
    expect(near.score).toBeLessThan(1);
    expect(near.message).toMatch(/^\d+% of its 5-word shingles are shared with #0 \(Jaccard; flagged from 80%\)\.$/);
    // Against existing rows, streamed: the best match is named.
    async function* existing() {
      yield { ref: 'rq_1:3', row: c.row };
      yield { ref: 'rq_1:4', row: a.row };
    }
    const [againstExisting] = await flagRows([b], { existing: existing() });
    expect(only(againstExisting, 'near_duplicate').other).toBe('rq_1:4');
    expect(codes(await flagRows([b], { existing: [{ ref: 'x', row: a.row }], settings: { near_duplicate_jaccard: 0.99 } }))).toEqual([[]]);
  });

  it('eval_leakage: a text sharing 20% or more of its 8-grams with the evaluation set; system prompts do not count', async () => {
    const system = 'You are the friendly support assistant of Quillmate, the note taking app for small teams.';
    const leaked: CandidateRow = {
      row: {
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: 'Is there any refund if I cancel my yearly plan after the first 30 days have passed?' },
          { role: 'assistant', content: GOOD.row.messages[1].content },
        ],
      },
      provenance: PROVENANCE,
      context: CHUNK,
    };
    const clean: CandidateRow = { ...leaked, row: { messages: [{ role: 'system', content: system }, ...(GOOD.row.messages as never[])] } };
    const evaluation = [
      { ref: 'ds_eval:1', row: { messages: [{ role: 'system', content: system }, { role: 'user', content: 'How do I turn on two-step verification for my account?' }, { role: 'assistant', content: 'Under Profile, Security.' }] } },
      { ref: 'ds_eval:2', row: { prompt: 'Is there any refund if I cancel my yearly plan after the first 30 days have passed? Answer briefly.', completion: 'No.' } },
    ];
    const flags = await flagRows([leaked, clean], { evaluation });
    const flag = only(flags[0], 'eval_leakage');
    expect(flag).toMatchObject({ other: 'ds_eval:2', score: 1 });
    expect(flag.message).toBe('messages[1].content shares 10 of its 10 8-word n-grams (100%) with the evaluation set, most with ds_eval:2 (flagged from 20%).');
    expect(codes(flags)[1]).not.toContain('eval_leakage');
    expect(codes(await flagRows([leaked], { evaluation, settings: { eval_leakage_fraction: 1 } }))[0]).toContain('eval_leakage');
  });

  it('unfaithful: the judge says no; it sees each row with its context, and its errors reach the caller', async () => {
    const seen: string[] = [];
    const judge = async ({ context, row }: { context: string; row: CanonicalRow }) => {
      seen.push(context.slice(0, 10));
      const answer = (row as { messages: Array<{ content: string }> }).messages[1].content;
      return answer.includes('partial refund') ? { supported: true, reason: 'ok' } : { supported: false, reason: 'the chunk does not mention vouchers' };
    };
    const wrong = qa('Money back?', 'You get store vouchers for the remaining months of the year.');
    const flags = await flagRows([GOOD, wrong, qa('Q?', 'An answer with no context to check.', '')], { judge });
    expect(flags[0]).toEqual([]);
    expect(only(flags[1], 'unfaithful').message).toBe('The judge finds the row not supported by its context: the chunk does not mention vouchers');
    expect(seen).toEqual([CHUNK.slice(0, 10), CHUNK.slice(0, 10)]);
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new FinetuneError('UPSTREAM_ERROR', 'judge down');
    };
    await expect(flagRows(Array.from({ length: 20 }, () => GOOD), { judge: failing, settings: { judge_concurrency: 2 } })).rejects.toThrow('judge down');
    expect(calls).toBeLessThanOrEqual(2);
  });

  it('works on triplet, preference and completion rows', async () => {
    const triplet: CandidateRow = { row: { anchor: 'refund after 30 days', positive: CHUNK, negative: 'ok' }, provenance: PROVENANCE, context: CHUNK };
    const preference: CandidateRow = {
      row: {
        prompt: [{ role: 'user', content: 'Can I get a refund on my yearly plan?' }],
        chosen: [{ role: 'assistant', content: 'Within 30 days of purchase or renewal, yes: a full refund.' }],
        rejected: [{ role: 'assistant', content: 'No.' }],
      },
      provenance: PROVENANCE,
      context: CHUNK,
    };
    const completion: CandidateRow = { row: { prompt: 'Refund window for yearly plans:', completion: ' sales can offer store credit by fax' }, provenance: PROVENANCE, context: CHUNK };
    expect([taskOfRow(triplet.row), taskOfRow(preference.row), taskOfRow(completion.row)]).toEqual(['triplet', 'preference', 'completion']);
    const flags = await flagRows([triplet, preference, completion]);
    expect(only(flags[0], 'too_short').message).toBe('negative has 2 characters (min 20).');
    expect(flags[0].map((f) => f.code)).toEqual(['too_short']);
    expect(only(flags[1], 'too_short').message).toBe('rejected[0].content has 3 characters (min 20).');
    expect(flags[1].map((f) => f.code)).toEqual(['too_short']);
    expect(flags[2].map((f) => f.code)).toEqual(['unsupported']);
    expect(only(flags[2], 'unsupported').message).toMatch(/^completion shares/);
  });

  it('finds every near duplicate that an all-pairs comparison finds (prefix filtering misses none)', async () => {
    // Rows made of a few shared sentences, so that many pairs land near the threshold.
    const sentences = Array.from({ length: 12 }, (_, i) => `sentence number ${i} talks about plan ${i % 3} and refund window ${i * 7} days for teams`);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const rows = Array.from({ length: 120 }, () => {
      const picked = sentences.filter(() => random() < 0.5);
      return qa('Question about refunds and plans please?', picked.join('. ') || 'empty answer text here');
    });
    const settings = { near_duplicate_jaccard: 0.7 };
    const flags = await flagRows(rows, { settings });
    // Reference: every earlier row compared with the same shingles, by sets of 5-word strings.
    const shingleSet = (r: CandidateRow) => {
      const w = (r.row as { messages: Array<{ content: string }> }).messages.flatMap((m) => m.content.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean));
      return new Set(w.length < 5 ? [w.join(' ')] : w.slice(0, w.length - 4).map((_, i) => w.slice(i, i + 5).join(' ')));
    };
    const sets = rows.map(shingleSet);
    const keys = rows.map((r) => (r.row as { messages: Array<{ content: string }> }).messages.map((m) => m.content.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim()).join('\n'));
    const firstSame = keys.map((k) => keys.indexOf(k));
    let expectedNear = 0;
    rows.forEach((_, i) => {
      if (firstSame[i] < i) return expect(only(flags[i], 'duplicate').other).toBe(`#${firstSame[i]}`);
      let best = 0;
      for (let j = 0; j < i; j++) {
        if (firstSame[j] < j) continue;
        const both = [...sets[i]].filter((s) => sets[j].has(s)).length;
        best = Math.max(best, both / (sets[i].size + sets[j].size - both));
      }
      const near = flags[i].find((f) => f.code === 'near_duplicate');
      if (best >= settings.near_duplicate_jaccard) {
        expectedNear++;
        expect(near?.score).toBeCloseTo(best, 6);
      } else expect(near).toBeUndefined();
    });
    expect(expectedNear).toBeGreaterThan(5);
  });

  it('refuses settings out of range', async () => {
    await expect(flagRows([GOOD], { settings: { min_support: 2 } })).rejects.toThrow(/min_support must be between 0 and 1/);
    await expect(flagRows([GOOD], { settings: { eval_ngram: 0 } })).rejects.toThrow(/eval_ngram must be a whole number/);
    expect(DEFAULT_FILTER_SETTINGS).toMatchObject({ min_support: 0.3, near_duplicate_jaccard: 0.8, min_answer_chars: 20, eval_ngram: 8, eval_leakage_fraction: 0.2 });
  });
});
