/**
 * The durable state of improvement policies: the policy, its cursor, its pool of rows that scored at
 * least min_score, its cycles and the retraining jobs it started (tables in ./migrations.ts).
 */
import { z } from 'zod';
import { FinetuneError } from '../errors.js';
import type { Workspace } from '../workspace/workspace.js';

const GateSpecSchema = z.object({
  metric: z.string().min(1),
  comparator: z.enum(['>=', '<=']).default('>='),
  threshold: z.number(),
});

/** A policy as stored (the create tool's input after defaults). */
export const PolicySpecSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/),
  source: z.union([
    z.object({ path: z.string().min(1) }).strict(),
    z.object({ source: z.enum(['phoenix', 'otel-files']), query: z.record(z.string(), z.unknown()) }).strict(),
  ]),
  rubric: z.string().min(1),
  rubric_name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  judge: z.string().default('auto'),
  min_score: z.number().min(0).max(1).default(0.8),
  retrain_threshold: z.number().int().min(1).max(1_000_000).default(100),
  base_config_id: z.string().min(1),
  eval_dataset_id: z.string().min(1),
  model_name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/),
  gates: z.array(GateSpecSchema).optional(),
  promote_to: z.enum(['staging', 'production']).default('staging'),
  require_approval: z.boolean().default(true),
  interval_s: z.number().int().min(10).max(30 * 86_400).optional(),
  max_rows_per_cycle: z.number().int().min(1).max(100_000).default(1000),
  eval_max_examples: z.number().int().min(1).max(100_000).optional(),
});
export type PolicySpec = z.infer<typeof PolicySpecSchema>;

/** Where the policy has read up to: lines consumed (file), or the last span start time and the spans seen at it (Phoenix, span files). */
export interface PolicyCursor {
  lines?: number;
  start_time?: string;
  seen_at_start_time?: string[];
}

export interface PolicyRecord {
  id: string;
  name: string;
  spec: PolicySpec;
  cursor: PolicyCursor;
  next_run_at: string | null;
  created_at: string;
}

export type Decision = 'promoted' | 'regression' | 'held' | 'waiting' | 'nothing_new' | 'pooled' | 'retraining' | 'failed';

export interface CycleRecord {
  id: string;
  policy_id: string;
  started_at: string;
  ended_at: string | null;
  batch_path: string | null;
  batch_origins: Array<{ ref: string; span_id: string | null; trace_id: string | null }> | null;
  cursor_after: PolicyCursor | null;
  judge_run_id: string | null;
  judged: number;
  added: number;
  dataset_id: string | null;
  config_id: string | null;
  plan_id: string | null;
  job_id: string | null;
  evaluation_ids: string[];
  decision: Decision | null;
  reason: string | null;
  /** What writing the cycle's scores back to the source did (Phoenix span annotations); null when it was not asked. */
  writeback: CycleWriteback | null;
}

export interface CycleWriteback {
  target: string;
  written: number;
  failed: number;
  /** The first failure, or the error that stopped the whole write-back. */
  error: string | null;
}

export interface RetrainRecord {
  job_id: string;
  policy_id: string;
  cycle_id: string;
  dataset_id: string;
  status: 'training' | 'promoted' | 'regression' | 'held' | 'failed';
  decided_cycle_id: string | null;
  version_id: string | null;
  reason: string | null;
}

export interface PoolRow {
  row_sha256: string;
  row: { messages: Array<{ role: string; content: string }>; context?: string };
  score: number;
  judge_run_id: string;
  ref: string;
  span_id: string | null;
  trace_id: string | null;
  added_cycle_id: string;
  used_cycle_id: string | null;
}

type Row = Record<string, unknown>;
const parse = <T>(text: unknown): T => JSON.parse(text as string) as T;

export class PolicyStore {
  constructor(readonly workspace: Workspace) {}

  private get db() {
    return this.workspace.db;
  }

  insert(spec: PolicySpec): PolicyRecord {
    const id = this.workspace.newId('improvement_policy');
    const now = new Date().toISOString();
    try {
      this.db.prepare('INSERT INTO improvement_policies (id, name, spec, created_at, next_run_at) VALUES (?, ?, ?, ?, ?)').run(id, spec.name, JSON.stringify(spec), now, spec.interval_s ? now : null);
    } catch (error) {
      if (String((error as Error).message).includes('UNIQUE')) {
        throw new FinetuneError('STATE_CONFLICT', `An improvement policy is already named '${spec.name}'.`, {
          recovery: 'Pick another name, or run the existing one with run_improvement_policy {policy_id}.',
          details: { field: 'name' },
        });
      }
      throw error;
    }
    return this.get(id);
  }

  /** By id (`pol_…`) or name. */
  get(ref: string): PolicyRecord {
    const row = this.db.prepare('SELECT * FROM improvement_policies WHERE id = ? OR name = ?').get(ref, ref) as Row | undefined;
    if (!row) {
      throw new FinetuneError('NOT_FOUND', `No improvement policy '${ref}'.`, { recovery: 'Call list_improvement_policies for the ids and names there are.', details: { field: 'policy_id' } });
    }
    return toPolicy(row);
  }

  list(): PolicyRecord[] {
    return (this.db.prepare('SELECT * FROM improvement_policies ORDER BY created_at, id').all() as Row[]).map(toPolicy);
  }

  /** Policies with an interval whose next run is due. */
  due(now: Date): PolicyRecord[] {
    return (this.db.prepare('SELECT * FROM improvement_policies WHERE next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at').all(now.toISOString()) as Row[]).map(toPolicy);
  }

  /**
   * Takes the policy's lease (one cycle at a time per policy, across processes); false when another
   * holder's lease has not ended. A holder that died leaves a lease that ends on its own.
   */
  lease(policyId: string, owner: string, until: Date, now: Date): boolean {
    const result = this.db
      .prepare('UPDATE improvement_policies SET lease_owner = ?, lease_until = ? WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)')
      .run(owner, until.toISOString(), policyId, owner, now.toISOString());
    return result.changes === 1;
  }

  release(policyId: string, owner: string, nextRunAt: string | null): void {
    this.db.prepare('UPDATE improvement_policies SET lease_owner = NULL, lease_until = NULL, next_run_at = ? WHERE id = ? AND lease_owner = ?').run(nextRunAt, policyId, owner);
  }

  newCycle(policyId: string): CycleRecord {
    const id = this.workspace.newId('improvement_cycle');
    this.db.prepare('INSERT INTO improvement_cycles (id, policy_id, started_at) VALUES (?, ?, ?)').run(id, policyId, new Date().toISOString());
    return this.cycle(id);
  }

  cycle(id: string): CycleRecord {
    return toCycle(this.db.prepare('SELECT * FROM improvement_cycles WHERE id = ?').get(id) as Row);
  }

  cycles(policyId: string, limit = 1000): CycleRecord[] {
    return (this.db.prepare('SELECT * FROM improvement_cycles WHERE policy_id = ? ORDER BY started_at DESC, id DESC LIMIT ?').all(policyId, limit) as Row[]).map(toCycle).reverse();
  }

  /** A batch fetched but not pooled (a crash cut its cycle short): it is judged (or its stored judge run reused) before anything new is read. */
  unpooledBatch(policyId: string): CycleRecord | undefined {
    const row = this.db.prepare('SELECT * FROM improvement_cycles WHERE policy_id = ? AND batch_path IS NOT NULL AND cursor_after IS NOT NULL AND judged = 0 AND judge_run_id IS NULL ORDER BY started_at LIMIT 1').get(policyId) as Row | undefined;
    return row ? toCycle(row) : undefined;
  }

  /** A threshold crossing whose job did not start yet (a crash after the pool rows were taken). */
  pendingRetrain(policyId: string): CycleRecord | undefined {
    const row = this.db
      .prepare('SELECT c.* FROM improvement_cycles c WHERE c.policy_id = ? AND c.job_id IS NULL AND EXISTS (SELECT 1 FROM improvement_pool p WHERE p.policy_id = c.policy_id AND p.used_cycle_id = c.id) ORDER BY c.started_at LIMIT 1')
      .get(policyId) as Row | undefined;
    return row ? toCycle(row) : undefined;
  }

  updateCycle(id: string, fields: Partial<Omit<CycleRecord, 'id' | 'policy_id' | 'started_at'>>): void {
    const entries = Object.entries(fields).map(([k, v]) => [k, v !== null && typeof v === 'object' ? JSON.stringify(v) : v] as const);
    if (!entries.length) return;
    this.db.prepare(`UPDATE improvement_cycles SET ${entries.map(([k]) => `${k} = ?`).join(', ')} WHERE id = ?`).run(...entries.map(([, v]) => v), id);
  }

  /**
   * The judged rows that scored at least min_score join the pool and the cursor moves past the batch,
   * in one transaction: the batch counts as read exactly when its rows are pooled. A row already in the
   * pool (same content) is not added again.
   */
  pool(policyId: string, cycleId: string, cursor: PolicyCursor, judgeRunId: string | null, judged: number, rows: Array<Omit<PoolRow, 'added_cycle_id' | 'used_cycle_id' | 'judge_run_id'>>): number {
    const insert = this.db.prepare(
      'INSERT OR IGNORE INTO improvement_pool (policy_id, row_sha256, row, score, judge_run_id, ref, span_id, trace_id, added_cycle_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    return this.db.transaction(() => {
      let added = 0;
      for (const r of rows) added += insert.run(policyId, r.row_sha256, JSON.stringify(r.row), r.score, judgeRunId, r.ref, r.span_id, r.trace_id, cycleId).changes;
      this.db.prepare('UPDATE improvement_policies SET cursor = ? WHERE id = ?').run(JSON.stringify(cursor), policyId);
      this.updateCycle(cycleId, { judge_run_id: judgeRunId, judged, added });
      return added;
    })();
  }

  unusedCount(policyId: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM improvement_pool WHERE policy_id = ? AND used_cycle_id IS NULL').get(policyId) as { n: number }).n;
  }

  poolSize(policyId: string): { unused: number; used: number } {
    const used = (this.db.prepare('SELECT COUNT(*) AS n FROM improvement_pool WHERE policy_id = ? AND used_cycle_id IS NOT NULL').get(policyId) as { n: number }).n;
    return { unused: this.unusedCount(policyId), used };
  }

  /** Takes every unused pool row for this cycle's retrain (one job per threshold crossing). */
  takePool(policyId: string, cycleId: string): number {
    return this.db.prepare('UPDATE improvement_pool SET used_cycle_id = ? WHERE policy_id = ? AND used_cycle_id IS NULL').run(cycleId, policyId).changes;
  }

  /** Gives a cycle's rows back to the pool (its retraining never started). */
  releasePool(policyId: string, cycleId: string): void {
    this.db.prepare('UPDATE improvement_pool SET used_cycle_id = NULL WHERE policy_id = ? AND used_cycle_id = ?').run(policyId, cycleId);
  }

  poolRows(policyId: string, usedBy: string): PoolRow[] {
    return (this.db.prepare('SELECT * FROM improvement_pool WHERE policy_id = ? AND used_cycle_id = ? ORDER BY rowid').all(policyId, usedBy) as Row[]).map((r) => ({
      ...(r as unknown as PoolRow),
      row: parse<PoolRow['row']>(r.row),
    }));
  }

  insertRetrain(r: Omit<RetrainRecord, 'status' | 'decided_cycle_id' | 'version_id' | 'reason'>): void {
    this.db.prepare('INSERT OR IGNORE INTO improvement_retrains (job_id, policy_id, cycle_id, dataset_id) VALUES (?, ?, ?, ?)').run(r.job_id, r.policy_id, r.cycle_id, r.dataset_id);
  }

  training(policyId: string): RetrainRecord | undefined {
    return this.db.prepare("SELECT * FROM improvement_retrains WHERE policy_id = ? AND status = 'training' ORDER BY rowid LIMIT 1").get(policyId) as RetrainRecord | undefined;
  }

  retrains(policyId: string): RetrainRecord[] {
    return this.db.prepare('SELECT * FROM improvement_retrains WHERE policy_id = ? ORDER BY rowid').all(policyId) as RetrainRecord[];
  }

  decideRetrain(jobId: string, fields: { status: RetrainRecord['status']; decided_cycle_id: string; version_id: string | null; reason: string }): void {
    this.db.prepare('UPDATE improvement_retrains SET status = ?, decided_cycle_id = ?, version_id = ?, reason = ? WHERE job_id = ?').run(fields.status, fields.decided_cycle_id, fields.version_id, fields.reason, jobId);
  }
}

function toPolicy(row: Row): PolicyRecord {
  return { id: row.id as string, name: row.name as string, spec: parse<PolicySpec>(row.spec), cursor: parse<PolicyCursor>(row.cursor), next_run_at: (row.next_run_at as string | null) ?? null, created_at: row.created_at as string };
}

function toCycle(row: Row): CycleRecord {
  return {
    ...(row as unknown as CycleRecord),
    batch_origins: row.batch_origins ? parse(row.batch_origins) : null,
    cursor_after: row.cursor_after ? parse(row.cursor_after) : null,
    evaluation_ids: parse<string[]>(row.evaluation_ids),
    writeback: row.writeback ? parse<CycleWriteback>(row.writeback) : null,
  };
}
