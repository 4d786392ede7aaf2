import { z } from 'zod';
import { markdownPrompt } from '../src/server/prompt.js';

const STEPS: Record<string, string> = {
  access: `Answer an access request
4. Give the user the rows found (from the exported files) and the ids of the versions, jobs and registered
   versions that used them, so they can answer the subject.`,
  rectification: `Rectify
4. Correct the rows in an exported file, \`validate_dataset\` and \`prepare_dataset\` it as a new version, and
   \`split_dataset\`; train and release from the corrected version (the runbook prompt). Old versions stay until deleted.`,
  erasure: `Erase
4. \`erase_subject {identifiers: [{kind: "email" | "phone" | "name" | "custom", value}], reason, request_reference, dry_run: true}\`
   first: it lists the dataset versions and rows that hold the subject, the other files and database cells that name
   them, the jobs and the model versions that would be tainted. Show that list to the user.
5. With the user's go-ahead, the same call without dry_run: rows removed from every version (ids kept, manifests record
   the erasure), the rest of the workspace scrubbed, model versions trained on the data marked tainted
   (\`promote_model\` refuses them without force and a reason), and an entry in the hash-chained erasure log
   (log.verified must be true). Keep the reason and the reference free of the subject's identifiers.
6. Not reached by the tool, for a person to handle: the files listed as outside_workspace (the sources the data was
   imported from), exports copied elsewhere, pushed or served models. Retrain the tainted versions from the erased
   dataset versions and release the new one through the release_checklist prompt; \`rollback_model\` away from a
   tainted version that serves production.`,
};

export const dataSubjectRequestPrompt = markdownPrompt({
  name: 'data_subject_request',
  title: 'Data subject request (access, rectification, erasure)',
  description: 'Finds a person\'s data across dataset versions, jobs and model versions, and answers an access, rectification or erasure request (erase_subject for erasure; says what needs a person).',
  args: {
    subject: z.string().describe('How the person appears in the data: an email address, a customer id, a name.'),
    request: z.string().optional().describe('"access", "rectification" or "erasure" (default erasure).'),
  },
  file: 'data-subject-request.md',
  fills: ['subject', 'request', 'request_steps'],
  fill: ({ subject, request }) => {
    const kind = request && request.toLowerCase() in STEPS ? request.toLowerCase() : 'erasure';
    return { subject, request: kind, request_steps: STEPS[kind] };
  },
});
