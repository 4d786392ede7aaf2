import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { PII_KINDS, piiPatterns, redact } from '../../src/datasets/pii.js';
import { DEFAULT_PII_REGIONS } from '../../src/datasets/pii-phone.js';
import { cleanDatasetTool } from '../../tools/clean-dataset.js';
import { inspectDatasetTool } from '../../tools/inspect-dataset.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { useDatasetClient } from './helpers.js';
import { LABELLED_PHONES, loadLabelled, scorePhones } from './pii-labelled.js';

type Chat = { messages: Array<{ role: string; content: string }> };

/** The five numbers of the report that passed redaction before libphonenumber. */
const ISSUE_NUMBERS = ['+49 170 1234567', '+49 (0)170 1234567', '0170 1234567', '030 12345678', '+4917012345678'];
const DECOYS = 'Order 2024-117-3345 from 2024-03-15 (15.03.2024), firmware 1.2.3.4, 10115 Berlin, part PN-4711-0815.';

describe('phone numbers in PII redaction', () => {
  const env = useDatasetClient('ftm-pii-phones-');

  it('clean_dataset redacts the German national and international formats and keeps the look-alikes', async () => {
    const path = join(env.scratch, 'support.jsonl');
    const rows = ISSUE_NUMBERS.map((n) => ({ messages: [{ role: 'user', content: `Bitte ruf mich unter ${n} an. ${DECOYS}` }, { role: 'assistant', content: `Gern, ich rufe ${n} an.` }] }));
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n'));
    const parent = await env.t.callOk(prepareDatasetTool, { path });
    const out = await env.t.callOk(cleanDatasetTool, { dataset_id: parent.dataset_id, redact_pii: true, legal_basis: 'GDPR Art. 6(1)(f)' });
    expect(out.pii.by_kind).toEqual({ phone: 10 });
    expect(out.pii.rows_affected).toBe(5);
    const page = await env.t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id, limit: 10 });
    for (const r of page.rows) {
      expect((r.row as Chat).messages.map((m) => m.content)).toEqual([`Bitte ruf mich unter [PHONE] an. ${DECOYS}`, 'Gern, ich rufe [PHONE] an.']);
    }
    expect(JSON.stringify(out)).not.toContain('1234567');
  });

  it.each([
    ['labelled.jsonl', 150, 60],
    ['heldout.jsonl', 60, 25],
  ])('finds ≥ 95 %% of the numbers in %s (12+ countries, both formats) with ≥ 95 %% precision against look-alikes', (file, numbers, decoys) => {
    const set = loadLabelled(join(dirname(LABELLED_PHONES), file));
    const score = scorePhones(set, piiPatterns(PII_KINDS, []));
    expect(Object.keys(score.by_country).length).toBeGreaterThanOrEqual(12);
    expect(score.positives).toBeGreaterThanOrEqual(numbers);
    expect(score.by_format.international[1]).toBeGreaterThanOrEqual(numbers / 3);
    expect(score.by_format.national[1]).toBeGreaterThanOrEqual(numbers / 3);
    expect(set.filter((s) => s.decoy).length).toBeGreaterThanOrEqual(decoys);
    expect(score.recall, `missed: ${score.missed.map((m) => m.value).join(', ')}`).toBeGreaterThanOrEqual(0.95);
    expect(score.precision, `false positives: ${score.false_positives.map((f) => f.value).join(', ')}`).toBeGreaterThanOrEqual(0.95);
  });

  it('tries national formats only for the configured regions; international numbers of any country always count', () => {
    const usOnly = piiPatterns(['phone'], [], ['US']);
    expect(redact('Ruf 0170 1234567 oder +49 170 1234567 an, US: (212) 736-5000.', usOnly).text).toBe('Ruf 0170 1234567 oder [PHONE] an, US: [PHONE].');
    const germany = piiPatterns(['phone'], [], ['DE']);
    expect(redact('Ruf 0170 1234567 an, Tokio: +81 3-1234-5678.', germany).text).toBe('Ruf [PHONE] an, Tokio: [PHONE].');
    // Without the trunk 0 it is not how Germans write a number: no German match for an order-like run.
    expect(redact('Vorgang 2024-117-3345, Kiste 170 1234567.', germany).findings).toEqual([]);
  });

  it('reads datasets.pii.regions from the config, defaulting to the EU/EEA plus GB, CH, US, and refuses unknown codes', () => {
    const readFile = (body: string) => () => body;
    expect(loadConfig({ env: { FINETUNE_MCP_CONFIG: 'c.json' }, readFile: readFile('{}') }).datasets.pii.regions).toEqual([...DEFAULT_PII_REGIONS]);
    expect(DEFAULT_PII_REGIONS).toHaveLength(33);
    const custom = loadConfig({ env: { FINETUNE_MCP_CONFIG: 'c.json' }, readFile: readFile('{"datasets": {"pii": {"regions": ["de", "JP"]}}}') });
    expect(custom.datasets.pii.regions).toEqual(['DE', 'JP']);
    expect(() => loadConfig({ env: { FINETUNE_MCP_CONFIG: 'c.json' }, readFile: readFile('{"datasets": {"pii": {"regions": ["DE", "XX"]}}}') })).toThrow(
      /datasets\.pii\.regions.*no phone numbering plan for XX/,
    );
  });
});
