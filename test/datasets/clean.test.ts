import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentLog } from '../../src/datasets/clean.js';
import { ibanValid, luhnValid } from '../../src/datasets/pii.js';
import { cleanDatasetTool } from '../../tools/clean-dataset.js';
import { inspectDatasetTool } from '../../tools/inspect-dataset.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import type { TestClient } from '../helpers/mcp.js';
import { datasetClient, fixture } from './helpers.js';

type Chat = { messages: Array<{ role: string; content: string }> };

describe('clean_dataset', () => {
  let t: TestClient;
  let scratch: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ftm-ds-clean-'));
    t = await datasetClient([scratch], { pii_patterns: [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }] });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('drops duplicates and invalid rows into a new version, listing each with its line and reason', async () => {
    const parent = await t.callOk(prepareDatasetTool, { path: fixture('malformed_chat.jsonl'), on_invalid: 'skip' });
    const out = await t.callOk(cleanDatasetTool, { dataset_id: parent.dataset_id });
    expect(out.parent_id).toBe(parent.dataset_id);
    expect(out.dataset_id).not.toBe(parent.dataset_id);
    expect(out.rows_in).toBe(8);
    expect(out.dropped.map((d) => [d.line, d.code])).toEqual([
      [2, 'empty_content'],
      [3, 'example_missing_assistant_message'],
      [4, 'duplicate_exact'],
      [5, 'duplicate_normalized'],
      [7, 'forbidden_special_token'],
    ]);
    expect(out.counts.rows).toBe(3);
    const record = t.services.datasets.get(out.dataset_id);
    expect(record.parent_id).toBe(parent.dataset_id);
    expect(record.manifest.lineage.map((s) => s.operation)).toEqual(['prepare', 'clean']);
    // The parent is untouched: versions are immutable.
    expect(t.services.datasets.get(parent.dataset_id).manifest.counts.rows).toBe(8);
    expect(() => t.services.workspace.db.prepare('UPDATE datasets SET rows = 0 WHERE id = ?').run(parent.dataset_id)).toThrow(/IMMUTABLE_RECORD/);
  });

  it('redacts e-mails, phones, checksum-valid cards and IBANs, IPs and configured patterns, keeping look-alikes', async () => {
    const parent = await t.callOk(prepareDatasetTool, { path: fixture('pii_chat.jsonl') });
    const out = await t.callOk(cleanDatasetTool, {
      dataset_id: parent.dataset_id,
      redact_pii: true,
      legal_basis: 'GDPR Art. 6(1)(f)',
      consent_reference: 'DPA-2026-014',
      actor: 'data-steward@acme.example',
      purpose: 'support assistant fine-tune',
    });
    expect(out.pii.by_kind).toEqual({ email: 2, phone: 4, credit_card: 3, iban: 3, ip_address: 3, employee_id: 2 });
    expect(out.pii.rows_affected).toBe(6);
    expect(out.pii.findings.slice(0, 2)).toEqual([
      { line: 1, field: 'messages[0].content', kind: 'email', count: 1 },
      { line: 1, field: 'messages[1].content', kind: 'email', count: 1 },
    ]);
    const page = await t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id, limit: 10 });
    const texts = page.rows.map((r) => (r.row as Chat).messages.map((m) => m.content));
    expect(texts[0]).toEqual(['My email is [EMAIL], please update my account.', "Thanks! I've noted [EMAIL] as your contact."]);
    expect(texts[1]).toEqual(['Call me on [PHONE] or [PHONE].', 'I will call [PHONE] tomorrow; our US desk is [PHONE].']);
    expect(texts[2]).toEqual(['Charge my card [CREDIT_CARD], exp 12/27.', 'Done. Your Mastercard [CREDIT_CARD] and Amex [CREDIT_CARD] are on file.']);
    expect(texts[3]).toEqual(['Wire it to IBAN [IBAN].', 'Sent to [IBAN] and [IBAN].']);
    expect(texts[4]).toEqual(["My laptop's IP is [IP_ADDRESS] and the server is [IP_ADDRESS].", 'Blocked [IP_ADDRESS].']);
    const source = readFileSync(fixture('pii_chat.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Chat);
    expect(texts[5]).toEqual(source[5].messages.map((m) => m.content));
    expect(texts[6]).toEqual(source[6].messages.map((m) => m.content));
    expect(texts[7]).toEqual(['My employee id is [EMPLOYEE_ID].', 'Noted [EMPLOYEE_ID].']);
    // Findings never carry the values.
    const raw = JSON.stringify(out);
    for (const secret of ['jane.doe', '4111', 'GB82', '192.168', '7946', 'EMP-0042']) expect(raw).not.toContain(secret);

    const log = consentLog(t.services.datasets, out.dataset_id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      id: out.pii.consent_log_id,
      dataset_id: out.dataset_id,
      source_dataset_id: parent.dataset_id,
      actor: 'data-steward@acme.example',
      legal_basis: 'GDPR Art. 6(1)(f)',
      consent_reference: 'DPA-2026-014',
      purpose: 'support assistant fine-tune',
      findings: 17,
      rows_affected: 6,
    });
    expect(() => t.services.workspace.db.prepare('DELETE FROM dataset_consent_log').run()).toThrow(/append-only/);
    const shown = await t.callOk(inspectDatasetTool, { dataset_id: parent.dataset_id, limit: 0 });
    expect(shown.consent_log.map((e) => e.id)).toEqual([out.pii.consent_log_id]);
    // The kinds are fields an agent reads, not a JSON string inside the result.
    expect(shown.consent_log[0].redacted_kinds).toEqual(expect.arrayContaining(['email']));
    expect(shown.consent_log[0].found.email).toBeGreaterThan(0);
    expect(shown.consent_log[0]).not.toHaveProperty('kinds');
  });

  it('checks cards with Luhn and IBANs with mod 97 (published valid and altered numbers)', () => {
    for (const valid of ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117']) expect(luhnValid(valid)).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    for (const valid of ['GB82 WEST 1234 5698 7654 32', 'DE89370400440532013000', 'FR1420041010050500013M02606', 'NL91ABNA0417164300']) expect(ibanValid(valid)).toBe(true);
    expect(ibanValid('GB82 WEST 1234 5698 7654 33')).toBe(false);
  });

  it('repairs encoding and line ends (never spaces or blank lines) and says how many rows it changed', async () => {
    const path = join(scratch, 'messy.jsonl');
    const rows = [
      { text: 'Caf\u00c3\u00a9 au lait\r\nis   nice.  \n\n\n\nReally.\u200b ', label: 'food' },
      { text: 'Plain text.', label: 'food' },
    ];
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n'));
    const parent = await t.callOk(prepareDatasetTool, { path });
    const out = await t.callOk(cleanDatasetTool, { dataset_id: parent.dataset_id });
    expect(out.text_fixed_rows).toBe(1);
    const page = await t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id });
    expect(page.rows[0].row).toEqual({ text: 'Café au lait\nis   nice.  \n\n\n\nReally. ', label: 'food' });
  });
});
