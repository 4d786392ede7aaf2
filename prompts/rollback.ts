import { z } from 'zod';
import { markdownPrompt } from '../src/server/prompt.js';

export const rollbackPrompt = markdownPrompt({
  name: 'rollback',
  title: 'Roll back a release',
  description: 'Moves an alias back to the version it held before (rollback_model), with the reason recorded, and checks the result.',
  args: {
    model_name: z.string().describe('Registry name, e.g. "support-bot".'),
    reason: z.string().describe('Why, in a sentence; kept in the alias history.'),
    alias: z.string().optional().describe('Alias to roll back, default "production".'),
  },
  file: 'rollback.md',
  fills: ['model_name', 'reason', 'alias'],
  fill: ({ model_name, reason, alias }) => ({ model_name, reason, alias: alias ?? 'production' }),
});
