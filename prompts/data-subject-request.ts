import { z } from 'zod';
import { markdownPrompt } from '../src/server/prompt.js';

const STEPS: Record<string, string> = {
  access: `Answer an access request
4. Give the user the rows found (from the exported files) and the ids of the versions, jobs and registered
   versions that used them, so they can answer the subject.`,
  rectification: `Rectify
4. Correct the rows in an exported file, \`validate_dataset\` and \`prepare_dataset\` it as a new version, and
   \`split_dataset\`; train and release from the corrected version (the runbook prompt). Old versions stay until deleted.`,
  erasure: `Erase (by hand: no erasure tool exists yet)
4. Remove the subject's rows from an exported file of each affected version; \`validate_dataset\` and
   \`prepare_dataset\` it as a new version, \`clean_dataset\` and \`split_dataset\`.
5. Delete what still holds the rows, newest first: \`delete_job\` for jobs trained on them (not possible for a job a
   registered version was made from), then \`delete_dataset\` for each affected version (refused while anything names it).
6. Registered model versions are permanent and a model trained on the rows may still reflect them: retrain from the
   cleaned version, release it (the release_checklist prompt), and \`rollback_model\` cannot remove the old version.
   Tell the user which versions remain and that removing them needs a person with access to the registry folder.`,
};

export const dataSubjectRequestPrompt = markdownPrompt({
  name: 'data_subject_request',
  title: 'Data subject request (access, rectification, erasure)',
  description: 'Finds a person\'s data across dataset versions, jobs and model versions, and answers an access, rectification or erasure request with the tools that exist (says what needs a person).',
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
