/** Creating a policy (every reference checked first, each refusal located) and the view tools show of one. */
import { existsSync } from 'node:fs';
import { confineQuery } from '../datasets/extract.js';
import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { baseConfig, NEW_POLICY } from './cycle.js';
import { LOOP_MEASURED_METRICS } from './decide.js';
import { PolicySpecSchema, PolicyStore, type PolicyRecord, type PolicySpec } from './store.js';

export function createPolicy(services: Services, input: unknown): PolicyRecord {
  const parsed = PolicySpecSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.');
    throw new FinetuneError('INVALID_INPUT', `${field || 'policy'}: ${issue.message}.`, { details: { field } });
  }
  const spec = parsed.data;
  if (spec.promote_to === 'production' && spec.require_approval) {
    throw new FinetuneError('INVALID_INPUT', 'promote_to "production" moves the production alias without a person: it needs require_approval: false, said explicitly.', {
      recovery: 'Promote to "staging" (the default) and let a person promote_model to production, or pass require_approval: false.',
      details: { field: 'promote_to' },
    });
  }
  const store = new PolicyStore(services.workspace);
  const base = baseConfig(services, { id: NEW_POLICY, name: spec.name, spec } as PolicyRecord);
  const data = services.datasets.get(base.dataset_id);
  if (data.task_type !== 'chat') {
    throw new FinetuneError('INVALID_INPUT', `base_config_id ${base.config_id} trains on ${data.task_type} rows (${data.id}); a policy adds judged chat rows, so its base config must train on chat rows.`, {
      details: { field: 'base_config_id' },
    });
  }
  services.datasets.get(spec.eval_dataset_id);
  const known = LOOP_MEASURED_METRICS;
  const gates = spec.gates ?? services.config.evaluation.gates;
  const bad = gates.findIndex((g) => !known.has(g.metric));
  if (bad !== -1) {
    throw new FinetuneError('INVALID_INPUT', `gates[${bad}].metric '${gates[bad].metric}' is measured neither by evaluate_model nor by the loop (win_rate), so the gate could never pass${spec.gates ? '' : ' (the gates come from the config evaluation.gates)'}.`, {
      recovery: `Pass gates on metrics the loop measures: ${[...known].join(', ')}; e.g. [{"metric": "rouge_l", "comparator": ">=", "threshold": 0.4}].`,
      details: { field: spec.gates ? `gates[${bad}].metric` : 'gates' },
    });
  }
  if ('path' in spec.source) {
    const path = services.workspace.resolveUserPath(spec.source.path, 'source.path');
    if (!existsSync(path)) throw new FinetuneError('NOT_FOUND', `source.path ${path} does not exist.`, { details: { field: 'source.path' } });
  } else if (spec.source.source === 'otel-files') {
    const path = confineQuery(services, spec.source.query).path;
    if (typeof path !== 'string') throw new FinetuneError('INVALID_INPUT', 'source.query.path: an otel-files source needs the span file, e.g. {"path": "exports/spans.jsonl"}.', { details: { field: 'source.query.path' } });
    if (!existsSync(path)) throw new FinetuneError('NOT_FOUND', `source.query.path ${path} does not exist.`, { details: { field: 'source.query.path' } });
  }
  return store.insert(spec);
}

/** A policy with its status, cursor, pool and cycles (newest `limit`), as the get and list tools return it. */
export function policyView(services: Services, policy: PolicyRecord, limit: number) {
  const store = new PolicyStore(services.workspace);
  const retrains = store.retrains(policy.id);
  const training = retrains.find((r) => r.status === 'training');
  return {
    policy_id: policy.id,
    name: policy.name,
    spec: policy.spec as PolicySpec & Record<string, unknown>,
    status: training ? `retraining (${training.job_id})` : policy.spec.interval_s ? 'scheduled' : 'idle',
    cursor: { ...policy.cursor } as Record<string, unknown>,
    next_run_at: policy.next_run_at,
    pool: store.poolSize(policy.id),
    retrains: retrains.map((r) => ({ job_id: r.job_id, cycle_id: r.cycle_id, dataset_id: r.dataset_id, status: r.status, version_id: r.version_id, reason: r.reason })),
    cycles: store.cycles(policy.id, limit).map((c) => ({
      cycle_id: c.id,
      started_at: c.started_at,
      ended_at: c.ended_at,
      judge_run_id: c.judge_run_id,
      judged: c.judged,
      added: c.added,
      dataset_id: c.dataset_id,
      job_id: c.job_id,
      evaluation_ids: c.evaluation_ids,
      decision: c.decision,
      reason: c.reason,
      writeback: c.writeback,
    })),
  };
}
