import { z } from 'zod';

/** Config section `improvement`: how improvement policies' cycles are watched. */
export const ImprovementSettingsSchema = z.object({
  judge_failure_alert_rate: z
    .number()
    .min(0)
    .max(1)
    .default(0.2)
    .describe(
      "A cycle whose judge could not score more than this share of the rows it judged (failed / judged) sends an improvement_judge_failures alert to the base config's webhook_url, e.g. 0.2. Default 0.2.",
    ),
});
