/** A problem found in a dataset, located by 1-based source line and JSON path, with a fix. */
export interface DatasetIssue {
  line: number;
  /** The file of the line, when the source is a folder of files. */
  file?: string;
  severity: 'error' | 'warning';
  code: string;
  field: string;
  message: string;
  fix: string;
}

export function issue(line: number, severity: DatasetIssue['severity'], code: string, field: string, message: string, fix: string): DatasetIssue {
  return { line, severity, code, field, message, fix };
}
