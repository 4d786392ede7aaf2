import type { DatasetIssue } from '../datasets/issues.js';
import { canonicalFormat } from '../datasets/service.js';
import { DatasetSettingsSchema } from '../datasets/settings.js';
import type { CanonicalRow, TaskType } from '../datasets/types.js';
import { validateRecords } from '../datasets/validate.js';

/** The dataset-level thresholds only shape warnings about a whole file; one row is never judged by them. */
const THRESHOLDS = DatasetSettingsSchema.parse({});

/**
 * Checks rows against the canonical schema of a task type with the dataset validator (the checks
 * prepare_dataset runs), so an edited or generated row that enters a version is one prepare would
 * accept. Returns each row as the validator normalised it, and its errors (warnings are left out).
 */
export async function checkRows(task: TaskType, values: readonly unknown[]): Promise<Array<{ row?: CanonicalRow; errors: DatasetIssue[] }>> {
  const checked: Array<{ row?: CanonicalRow; errors: DatasetIssue[] }> = [];
  async function* records() {
    yield values.map((value, i) => ({ file: 'row', line: i + 1, value }));
  }
  await validateRecords(records(), { format: canonicalFormat(task), maxIssues: 1, thresholds: THRESHOLDS }, (v) => {
    const errors = v.issues.filter((i) => i.severity === 'error');
    checked.push({ row: errors.length ? undefined : v.row, errors });
  });
  return checked;
}

/** "messages[1].content: Message content is empty." for an error list. */
export function describeErrors(errors: DatasetIssue[]): string {
  return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
}
