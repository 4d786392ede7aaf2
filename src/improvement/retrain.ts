/**
 * A threshold crossing: the previous training rows (the last promoted retraining's set, else the base
 * config's) plus the pool's rows (deduplicated, as chat rows, each pool row's lineage in lineage.jsonl)
 * become a dataset version, split like the previous data when it was split; a config copied from the base config trains on it after a go pre-flight. Each
 * step's result is kept on the cycle before the next, and the job starts with an idempotency key of
 * the cycle, so a cycle resumed after a crash starts no second job.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { SPLIT_NAMES, type DatasetRecord } from '../datasets/types.js';
import type { StoredConfig } from '../training/ledger.js';
import type { CycleRecord, PolicyRecord, PolicyStore, PoolRow } from './store.js';

export async function startRetrain(services: Services, store: PolicyStore, policy: PolicyRecord, cycle: CycleRecord, base: StoredConfig): Promise<string> {
  let { dataset_id, config_id } = cycle;
  if (!dataset_id) {
    // The previous training data: the last promoted retraining's set (it holds the base rows and earlier pools), else the base config's.
    const previous = store.retrains(policy.id).filter((r) => r.status === 'promoted').at(-1)?.dataset_id ?? base.dataset_id;
    dataset_id = await cutDataset(services, policy, cycle.id, base, previous, store.poolRows(policy.id, cycle.id));
    store.updateCycle(cycle.id, { dataset_id });
  }
  const { configureTraining } = await import('../training/configure.js');
  if (!config_id) {
    const configured = await configureTraining(services, {
      base_model: base.base_model,
      dataset_id,
      method: base.method,
      approach: base.approach,
      backend: base.backend,
      template: base.template,
      overrides: { ...base.hyperparameters },
      backend_options: base.backend_options,
      policy: base.policy,
    });
    config_id = configured.config.config_id;
    store.updateCycle(cycle.id, { config_id });
  }
  let { plan_id } = cycle;
  if (!plan_id) {
    const { planTraining, refusePlan } = await import('../training/plan.js');
    const { plan } = await planTraining(services, { config_id });
    store.updateCycle(cycle.id, { plan_id: plan.plan_id });
    if (plan.verdict !== 'go') throw refusePlan(plan);
    plan_id = plan.plan_id;
  }
  // The same plan and key as before a crash: a job that started then is returned, not started again.
  const { job } = await services.jobs.startOnce({ plan_id, idempotency_key: `improvement:${cycle.id}` });
  services.workspace.db.transaction(() => {
    store.updateCycle(cycle.id, { job_id: job.job_id });
    store.insertRetrain({ job_id: job.job_id, policy_id: policy.id, cycle_id: cycle.id, dataset_id });
  })();
  return job.job_id;
}

/** The new version's id: the split version when the base data was split, else the imported one. */
async function cutDataset(services: Services, policy: PolicyRecord, cycleId: string, base: StoredConfig, previousId: string, pool: PoolRow[]): Promise<string> {
  const record = previousData(services, policy, base, previousId);
  const seen = new Set<string>();
  const lines: string[] = [];
  const add = (row: unknown): boolean => {
    const text = JSON.stringify(row);
    if (seen.has(text)) return false;
    seen.add(text);
    lines.push(text);
    return true;
  };
  const splits = record.manifest.counts.train !== undefined ? SPLIT_NAMES.filter((s) => record.manifest.counts[s] !== undefined) : [undefined];
  for (const split of splits) for await (const { row } of services.datasets.rows(record.id, split)) add(row);
  const baseRows = lines.length;
  const lineage: string[] = [];
  for (const p of pool) {
    if (!add(chatRow(p.row))) continue;
    lineage.push(JSON.stringify({ line: lines.length, policy_id: policy.id, cycle_id: cycleId, ref: p.ref, span_id: p.span_id, trace_id: p.trace_id, judge_run_id: p.judge_run_id, score: p.score }));
  }
  const path = services.workspace.artifactPath('improvement', policy.id, 'cuts', `${cycleId}.jsonl`);
  mkdirSync(dirname(path), { recursive: true });
  services.workspace.writeFile(path, lines.map((l) => `${l}\n`).join(''));
  const report = { improvement: { policy_id: policy.id, policy: policy.name, cycle_id: cycleId, base_dataset_id: record.id, base_rows: baseRows, pool_rows: lineage.length, duplicates_dropped: baseRows + pool.length - lines.length } };
  const prepared = await services.datasets.prepare({
    path,
    name: `${policy.name}-retrain`,
    attach: () => ({ files: { 'lineage.jsonl': lineage.map((l) => `${l}\n`).join('') }, report }),
  });
  const rules = record.manifest.splits;
  if (!rules) return prepared.record.id;
  const { splitDataset } = await import('../datasets/split.js');
  const split = await splitDataset(services.datasets, { dataset_id: prepared.record.id, ...rules.ratios, seed: rules.seed, stratify_by: rules.stratify_by, group_by: rules.group_by });
  return split.record.id;
}

/** Pool rows keep a separate context (a RAG prompt's passages) as the system message a chat row carries it in. */
function chatRow(row: PoolRow['row']): { messages: Array<{ role: string; content: string }> } {
  const hasSystem = row.messages.some((m) => m.role === 'system');
  const messages = row.context !== undefined && !hasSystem ? [{ role: 'system', content: row.context }, ...row.messages] : row.messages;
  return { messages: messages.map((m) => ({ role: m.role, content: m.content })) };
}

function previousData(services: Services, policy: PolicyRecord, base: StoredConfig, id: string): DatasetRecord {
  try {
    return services.datasets.get(id);
  } catch (error) {
    if (error instanceof FinetuneError && error.code === 'NOT_FOUND') {
      const whose = id === base.dataset_id ? `of its base config ${base.config_id}` : 'of its last promoted retraining';
      throw new FinetuneError('NOT_FOUND', `Policy '${policy.name}': the dataset ${id} ${whose} is gone, so no retraining set can be cut.`, {
        recovery: 'Create a new policy whose base_config_id trains on an existing dataset (configure_training, then create_improvement_policy).',
        details: { field: 'base_config_id', policy_id: policy.id, dataset_id: id },
      });
    }
    throw error;
  }
}
