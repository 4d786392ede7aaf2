import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eraseSubjectTool } from '../../tools/erase-subject.js';
import { exportDatasetTool } from '../../tools/export-dataset.js';
import { inspectDatasetTool } from '../../tools/inspect-dataset.js';
import { listModelVersionsTool } from '../../tools/list-model-versions.js';
import { modelCardTool } from '../../tools/model-card.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { promoteModelTool } from '../../tools/promote-model.js';
import { registerModelTool } from '../../tools/register-model.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import { verifyErasureLog } from '../../src/erasure/log.js';
import { useDatasetClient } from '../datasets/helpers.js';
import { errorCode, resultText } from '../helpers/mcp.js';
import { makeSucceededJob, writeAdapter } from '../registry/records.js';

/** Issue 19 item 4 (erase_subject) and its acceptance: the address is gone from every file of the workspace, the database included. */
const EMAIL = 'Anna.Schmidt@example.com';

function chat(user: string, assistant: string) {
  return JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: assistant }] });
}

/** Every file under `dir` whose bytes contain `needle` (case-insensitively), the database and its WAL included. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const lower = needle.toLowerCase();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) hits.push(...filesContaining(path, needle));
    else if (entry.isFile() && readFileSync(path).toString('latin1').toLowerCase().includes(lower)) hits.push(path);
  }
  return hits;
}

describe('erase_subject', () => {
  const env = useDatasetClient('ftm-erase-');

  it("removes a person's rows from every version, scrubs the rest of the workspace, taints the models trained on them, and logs it verifiably", async () => {
    const rows = [
      chat(`Hi, I am Anna, write to ${EMAIL} please.`, 'Sure, I will write to you.'),
      chat('How do I reset my password?', 'Open settings, then security, then reset.'),
      chat('My address is anna.schmidt@EXAMPLE.com, can you confirm?', 'Confirmed.'),
      chat('What are your opening hours?', 'Nine to five on weekdays.'),
      chat('Call me on +49 30 12345678.', 'We will call you.'),
      chat('Cancel my order.', `Done; the confirmation went to ${EMAIL}.`),
      chat('Is shipping free?', 'Above 50 euros, yes.'),
      chat('Do you ship to Austria?', 'Yes, within three days.'),
      chat('Can I pay by invoice?', 'Yes, for registered customers.'),
      chat('Where is my parcel?', 'Tracking is in your account.'),
    ];
    const source = join(env.scratch, 'support.jsonl');
    writeFileSync(source, `${rows.join('\n')}\n`);
    const raw = await env.t.callOk(prepareDatasetTool, { path: source });
    const split = await env.t.callOk(splitDatasetTool, { dataset_id: raw.dataset_id, train: 0.6, validation: 0.2, test: 0.2 });
    writeFileSync(join(env.scratch, 'other.jsonl'), `${[chat('Hello', 'Hi there.'), chat('Thanks', 'You are welcome.')].join('\n')}\n`);
    const other = await env.t.callOk(prepareDatasetTool, { path: join(env.scratch, 'other.jsonl') });
    await env.t.callOk(exportDatasetTool, { dataset_id: raw.dataset_id, path: join(env.t.home, 'exports', 'raw.openai.jsonl'), format: 'openai_chat' });

    const services = env.t.services;
    const job = makeSucceededJob(services, { dataset_id: split.dataset_id });
    await env.t.callOk(registerModelTool, { name: 'support-bot', version: '1.0.0', job_id: job, description: `Asked for by ${EMAIL.toUpperCase()}` });
    await env.t.callOk(registerModelTool, { name: 'other-bot', version: '1.0.0', adapter_path: writeAdapter(join(env.scratch, 'adapter')), dataset_id: other.dataset_id });
    expect(filesContaining(env.t.home, EMAIL).length).toBeGreaterThan(3);

    // The log must not hold the person.
    const named = await env.t.call('erase_subject', { identifiers: [{ kind: 'email', value: EMAIL }], reason: `request of ${EMAIL}`, request_reference: 'DSR-7' });
    expect(named.isError).toBe(true);
    expect(errorCode(named)).toBe('INVALID_INPUT');
    expect(resultText(named)).toContain('reason names the data subject');

    const identifiers = [{ kind: 'email', value: EMAIL.toLowerCase() }, { kind: 'phone', value: '030 12345678' }];
    const dry = await env.t.callOk(eraseSubjectTool, { identifiers, reason: 'art. 17 request', request_reference: 'DSR-2026-114', dry_run: true });
    expect(dry.erasure_id).toBeNull();
    expect(dry.dataset_versions.map((v) => v.dataset_id).sort()).toEqual([raw.dataset_id, split.dataset_id].sort());
    expect(filesContaining(env.t.home, EMAIL).length).toBeGreaterThan(3); // nothing changed

    const done = await env.t.callOk(eraseSubjectTool, { identifiers, reason: 'art. 17 request', request_reference: 'DSR-2026-114' });
    expect(done.erasure_id).toMatch(/^ers_/);
    const byVersion = Object.fromEntries(done.dataset_versions.map((v) => [v.dataset_id, v.rows_removed]));
    // Three rows name the address (two spellings) and one the number (written internationally, erased by its national form).
    expect(byVersion[raw.dataset_id]).toEqual({ rows: 4 });
    expect(byVersion[split.dataset_id].rows).toBe(4);
    expect((byVersion[split.dataset_id].train ?? 0) + (byVersion[split.dataset_id].validation ?? 0) + (byVersion[split.dataset_id].test ?? 0)).toBe(4);
    expect(done.files_scrubbed).toContain(join('exports', 'raw.openai.jsonl'));
    expect(done.database_cells.model_versions).toBe(1);
    expect(done.jobs).toEqual([job]);
    expect(done.tainted_versions.map((v) => `${v.name}@${v.version}`)).toEqual(['support-bot@1.0.0']);
    expect(done.database_compacted).toBe(true);
    expect(done.outside_workspace).toEqual([source]);
    expect(done.log).toEqual({ entries: 1, verified: true });

    // Acceptance: no file of the workspace holds the address or the number any more.
    expect(filesContaining(env.t.home, EMAIL)).toEqual([]);
    expect(filesContaining(env.t.home, '12345678')).toEqual([]);

    // The versions stay usable: counts and content hash match their files; the manifest records the erasure.
    const view = await env.t.callOk(inspectDatasetTool, { dataset_id: split.dataset_id, limit: 0 });
    expect(view.manifest.counts).toMatchObject({ rows: 6 });
    const record = services.datasets.get(split.dataset_id);
    const sha = (f: string) => createHash('sha256').update(readFileSync(join(record.dir, f))).digest('hex');
    const expected = createHash('sha256').update(['rows', 'train', 'validation', 'test'].map((f) => sha(`${f}.jsonl`)).join('\n')).digest('hex');
    expect(record.manifest.content_hash).toBe(expected);
    expect(record.manifest.erasures).toEqual([expect.objectContaining({ erasure_id: done.erasure_id, request_reference: 'DSR-2026-114' })]);
    expect(readFileSync(join(record.dir, 'rows.jsonl'), 'utf8').trim().split('\n')).toHaveLength(6);

    // The model trained on it is tainted: listed so, on its card, and promoted only with force and a reason.
    const listed = await env.t.callOk(listModelVersionsTool, { name: 'support-bot' });
    expect(listed.versions[0].tainted).toEqual([expect.objectContaining({ erasure_id: done.erasure_id, request_reference: 'DSR-2026-114' })]);
    const untouched = await env.t.callOk(listModelVersionsTool, { name: 'other-bot' });
    expect(untouched.versions[0].tainted).toEqual([]);
    const card = await env.t.callOk(modelCardTool, { name: 'support-bot', version: '1.0.0' });
    expect(card.markdown).toContain(`**Tainted:** data this version was trained on was erased under request DSR-2026-114`);
    const refused = await env.t.call('promote_model', { name: 'support-bot', version: '1.0.0', alias: 'production' });
    expect(errorCode(refused)).toBe('GATE_FAILED');
    expect(resultText(refused)).toContain('erased under request DSR-2026-114');
    const forced = await env.t.callOk(promoteModelTool, { name: 'support-bot', version: '1.0.0', alias: 'production', force: true, reason: 'legal cleared the residual risk' });
    expect(forced.forced).toBe(true);

    // A second run finds nothing left; the log grows by one and still verifies.
    const again = await env.t.callOk(eraseSubjectTool, { identifiers, reason: 'art. 17 request, re-run', request_reference: 'DSR-2026-114' });
    expect(again.dataset_versions).toEqual([]);
    expect(again.log).toEqual({ entries: 2, verified: true });

    // Tampering (a trigger dropped and an entry edited, as someone with the file could) is caught.
    const db = services.workspace.db;
    db.exec('DROP TRIGGER erasure_log_no_update');
    db.prepare("UPDATE erasure_log SET reason = 'nothing happened' WHERE seq = 1").run();
    expect(verifyErasureLog(db)).toMatchObject({ ok: false, problem: expect.stringContaining('entry 1') });
  });

  it('refuses identifiers that cannot name anyone, with the field', async () => {
    for (const [identifier, field] of [
      [{ kind: 'phone', value: 'not a number' }, 'identifiers[0].value'],
      [{ kind: 'email', value: 'anna at example' }, 'identifiers[0].value'],
      [{ kind: 'name', value: 'Al' }, 'identifiers[0].value'],
    ] as const) {
      const result = await env.t.call('erase_subject', { identifiers: [identifier], reason: 'art. 17', request_reference: 'DSR-1' });
      expect(result.isError).toBe(true);
      expect(errorCode(result)).toBe('INVALID_INPUT');
      expect(resultText(result)).toContain(field);
    }
  });
});

