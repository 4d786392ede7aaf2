import { z } from 'zod';
import { markdownPrompt } from '../src/server/prompt.js';
import { gatesList } from './fills.js';

export const releaseChecklistPrompt = markdownPrompt({
  name: 'release_checklist',
  title: 'Release checklist',
  description: 'Checks a registered version before promotion (lineage, configured gates, comparison with what is live, data governance, licence, model card, rollback plan), then promotes.',
  args: {
    model_name: z.string().describe('Registry name, e.g. "support-bot".'),
    version: z.string().describe('Semantic version to release, e.g. "1.2.0".'),
    alias: z.string().optional().describe('Alias to promote to, default "production".'),
  },
  file: 'release-checklist.md',
  fills: ['model_name', 'version', 'alias', 'gates'],
  fill: ({ model_name, version, alias }, { config }) => ({ model_name, version, alias: alias ?? 'production', gates: gatesList(config) }),
});
