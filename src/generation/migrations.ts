import { immutableTable, type Migration } from '../workspace/migrations.js';

/**
 * Review queues hold generated rows until a person decides on each (docs/data-generation.md). Rows
 * change status and may be edited; every decision is also appended to review_decisions, the
 * queue's governance log, which is never changed or deleted.
 */
export const GENERATION_MIGRATIONS: Migration[] = [
  {
    id: 'generation_0001_review_queues',
    sql: `
CREATE TABLE review_queues (
  id TEXT PRIMARY KEY,
  name TEXT,
  kind TEXT NOT NULL,
  task_type TEXT NOT NULL,
  source TEXT NOT NULL,
  generator TEXT NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open',
  report TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);
CREATE TABLE review_rows (
  id TEXT PRIMARY KEY,
  queue_id TEXT NOT NULL REFERENCES review_queues (id),
  position INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  row TEXT NOT NULL,
  edited_row TEXT,
  row_sha256 TEXT NOT NULL,
  provenance TEXT NOT NULL,
  flags TEXT NOT NULL DEFAULT '[]',
  reviewer TEXT,
  decided_at TEXT,
  UNIQUE (queue_id, position)
);
CREATE INDEX review_rows_status ON review_rows (queue_id, status, position);
CREATE INDEX review_rows_sha ON review_rows (row_sha256);
CREATE TABLE review_decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue_id TEXT NOT NULL REFERENCES review_queues (id),
  row_id TEXT NOT NULL REFERENCES review_rows (id),
  decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'edit', 'commit')),
  reviewer TEXT NOT NULL,
  via TEXT NOT NULL,
  before TEXT,
  after TEXT,
  dataset_id TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX review_decisions_queue ON review_decisions (queue_id, id);
${immutableTable('review_decisions')}
CREATE TRIGGER review_decisions_append_only BEFORE DELETE ON review_decisions
  BEGIN SELECT RAISE(ABORT, 'IMMUTABLE_RECORD: the review log is append-only'); END;
`,
  },
];
