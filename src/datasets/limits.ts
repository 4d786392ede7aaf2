/** Defaults of the dataset readers' per-example limits (`datasets.*` in the config); a leaf module, so config loading imports nothing else. */

/** `datasets.max_json_values`: JSON values in one example (a JSONL line, an array element); parsed, each is ~100 bytes. */
export const DEFAULT_MAX_JSON_VALUES = 1_000_000;

/** `datasets.max_csv_columns`: columns in a CSV or TSV header. */
export const DEFAULT_MAX_CSV_COLUMNS = 10_000;
