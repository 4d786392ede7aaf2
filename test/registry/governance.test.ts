import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanDatasetTool } from '../../tools/clean-dataset.js';
import { inspectDatasetTool } from '../../tools/inspect-dataset.js';
import { modelCardTool } from '../../tools/model-card.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { registerModelTool } from '../../tools/register-model.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import { fixture, useDatasetClient } from '../datasets/helpers.js';
import { writeAdapter } from './records.js';

/** Issue 12 item 3: the governance record (redaction, legal basis, consent) follows the data into derived versions, lineage and the model card. */
const GOVERNANCE = { legal_basis: 'GDPR Art. 6(1)(f) legitimate interest', consent_reference: 'DPA-2026-014', actor: 'jane@acme.example (data steward)', purpose: 'fine-tune support assistant' };

describe('governance records through derived versions, lineage and model card', () => {
  const env = useDatasetClient('ftm-gov-');

  it('a split of a redacted version, a model trained on it and its card all carry the redaction, legal basis and consent reference', async () => {
    const raw = await env.t.callOk(prepareDatasetTool, { path: fixture('pii_chat.jsonl') });
    const redacted = await env.t.callOk(cleanDatasetTool, { dataset_id: raw.dataset_id, redact_pii: true, pii_kinds: ['email'], ...GOVERNANCE });
    const consentId = redacted.pii.consent_log_id!;
    expect(consentId).toMatch(/^cns_/);
    const expected = { kind: 'pii_redaction', consent_log_id: consentId, dataset_id: redacted.dataset_id, source_dataset_id: raw.dataset_id, ...GOVERNANCE, redacted_kinds: ['email'] };
    expect(redacted.pii.by_kind.email).toBeGreaterThan(0);

    // A second clean (no redaction) and a split of it: the record applies to every derived version.
    const recleaned = await env.t.callOk(cleanDatasetTool, { dataset_id: redacted.dataset_id });
    const split = await env.t.callOk(splitDatasetTool, { dataset_id: recleaned.dataset_id, train: 0.6, validation: 0.2, test: 0.2 });
    const view = await env.t.callOk(inspectDatasetTool, { dataset_id: split.dataset_id, limit: 0 });
    expect(view.consent_log.map((e) => e.id)).toEqual([consentId]); // was [] before
    expect(view.consent_log[0]).toMatchObject({ legal_basis: GOVERNANCE.legal_basis, consent_reference: GOVERNANCE.consent_reference });
    expect(view.manifest.governance).toHaveLength(1);
    expect(view.manifest.governance![0]).toMatchObject({ ...expected, found: { email: redacted.pii.by_kind.email } });
    // The raw import is not redacted: it names the run that read it, and carries no governance of its own.
    const rawView = await env.t.callOk(inspectDatasetTool, { dataset_id: raw.dataset_id, limit: 0 });
    expect(rawView.manifest.governance).toBeUndefined();
    expect(rawView.consent_log.map((e) => e.id)).toEqual([consentId]);

    const adapter = writeAdapter(join(env.scratch, 'adapter'));
    const { model_version: v } = await env.t.callOk(registerModelTool, { name: 'support-bot', version: '1.0.0', adapter_path: adapter, dataset_id: split.dataset_id });
    expect(v.lineage.data_governance).toHaveLength(1);
    expect(v.lineage.data_governance![0]).toMatchObject(expected);
    const card = await env.t.callOk(modelCardTool, { name: 'support-bot', version: '1.0.0' });
    const section = card.markdown.slice(card.markdown.indexOf('## Data governance'), card.markdown.indexOf('## Training configuration'));
    for (const text of [consentId, redacted.dataset_id, 'email redacted', GOVERNANCE.legal_basis, GOVERNANCE.consent_reference, GOVERNANCE.actor, GOVERNANCE.purpose]) expect(section).toContain(text);
  });

  it('says so when the training data has no governance record', async () => {
    const raw = await env.t.callOk(prepareDatasetTool, { path: fixture('toy_chat_fine_tuning.jsonl') });
    const { model_version: v } = await env.t.callOk(registerModelTool, { name: 'plain-bot', version: '1.0.0', adapter_path: writeAdapter(join(env.scratch, 'adapter2')), dataset_id: raw.dataset_id });
    expect(v.lineage.data_governance).toEqual([]);
    const card = await env.t.callOk(modelCardTool, { name: 'plain-bot', version: '1.0.0' });
    expect(card.markdown).toContain(`## Data governance\n\n- No PII redaction, legal basis or consent reference is recorded for \`${raw.dataset_id}\``);
  });
});
