import { z } from 'zod';
import { eraseSubject } from '../src/erasure/erase.js';
import { IDENTIFIER_KINDS } from '../src/erasure/subject.js';
import { defineTool } from '../src/server/tool.js';

export const eraseSubjectTool = defineTool({
  name: 'erase_subject',
  title: "Erase a data subject's data (GDPR art. 17)",
  description:
    'Removes every row of every dataset version that names a person (e-mail case-insensitively, phone numbers in any written format, ' +
    'names with any spacing, custom values literally), rewrites those versions in place (files, counts and content hash; the manifest ' +
    'records the erasure), scrubs the person from every other text file and database cell of the workspace (evaluations, judge runs, ' +
    'review queues, logs, model cards: replaced by [ERASED]), and marks each model version trained on an affected version as tainted ' +
    '(promote_model then refuses it without force and a reason). An append-only, hash-chained erasure log records what was done ' +
    'without the identifiers. Irreversible: call with dry_run true first to see what it would touch. Files outside the workspace ' +
    '(exports a user copied elsewhere, pushed models) are not reached.',
  input: {
    identifiers: z
      .array(z.object({ kind: z.enum(IDENTIFIER_KINDS).describe('email, phone, name or custom (matched literally).'), value: z.string().min(1).describe('e.g. "anna.schmidt@example.com", "+49 30 1234567", "Anna Schmidt".') }))
      .min(1)
      .max(50)
      .describe('What identifies the person.'),
    reason: z.string().min(3).describe('Why, for the log, without the identifiers, e.g. "art. 17 request by the data subject".'),
    request_reference: z.string().min(1).max(200).describe('Your reference of the request, e.g. "DSR-2026-114"; kept in the log, the manifests and the taints.'),
    dry_run: z.boolean().default(false).describe('Report what would be erased and tainted, change nothing.'),
  },
  output: {
    erasure_id: z.string().nullable().describe('The erasure log entry (ers_…); null on a dry run.'),
    dry_run: z.boolean().describe('Nothing was changed.'),
    dataset_versions: z.array(z.object({ dataset_id: z.string(), rows_removed: z.record(z.string(), z.number()) })).describe('Versions that held the person, with rows removed per file (rows, train, validation, test).'),
    files_scrubbed: z.array(z.string()).describe('Other workspace files (relative paths) in which the person was replaced by [ERASED].'),
    database_cells: z.record(z.string(), z.number()).describe('Scrubbed database cells by table.'),
    jobs: z.array(z.string()).describe('Training jobs that read an affected version.'),
    tainted_versions: z.array(z.object({ version_id: z.string(), name: z.string(), version: z.string() })).describe('Model versions now marked tainted.'),
    skipped_files: z.array(z.object({ file: z.string(), why: z.string() })).describe('Files not checked, and why: check them by hand.'),
    outside_workspace: z.array(z.string()).describe('Files outside the workspace the affected versions were imported from: they still hold the person; erase_subject does not touch them.'),
    database_compacted: z.boolean().nullable().describe('The database was rebuilt and its write-ahead log emptied, so no old page keeps a value; false: another process held it, run again later.'),
    log: z.object({ entries: z.number(), verified: z.boolean(), problem: z.string().optional() }).describe('The erasure log: entries, and whether its hash chain verifies.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: (input, { services }) => eraseSubject(services, input),
  summarize: (o) =>
    o.dry_run
      ? `Dry run: would remove rows from ${o.dataset_versions.length} dataset version(s), scrub ${o.files_scrubbed.length} file(s) and ${Object.values(o.database_cells).reduce((a, b) => a + b, 0)} database cell(s), taint ${o.tainted_versions.length} model version(s).`
      : `Erased (${o.erasure_id}): ${o.dataset_versions.reduce((n, v) => n + (v.rows_removed.rows ?? 0), 0)} row(s) from ${o.dataset_versions.length} dataset version(s), ${o.files_scrubbed.length} file(s) and ` +
        `${Object.values(o.database_cells).reduce((a, b) => a + b, 0)} database cell(s) scrubbed, ${o.tainted_versions.length} model version(s) tainted; erasure log ${o.log.verified ? 'verifies' : `does NOT verify: ${o.log.problem}`}.` +
        (o.outside_workspace.length ? ` Not reached: ${o.outside_workspace.join(', ')} (the source files, outside the workspace) still hold the person.` : ''),
});
