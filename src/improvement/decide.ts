/**
 * After a retraining job ends: the new model and the model the policy's alias points to are evaluated
 * on the policy's fixed evaluation set; the new one is registered and promoted only when it passes
 * every gate and is no worse than the incumbent on any gated metric. Otherwise the regression and why
 * are recorded; a worse model is never promoted.
 */
import { checkGates, type Gate } from '../evaluation/gates.js';
import { FinetuneError } from '../errors.js';
import { registryOf } from '../registry/index.js';
import type { Services } from '../services.js';
import type { CycleRecord, PolicyRecord, RetrainRecord } from './store.js';

interface RetrainDecision {
  status: 'promoted' | 'regression' | 'failed';
  reason: string;
  evaluation_ids: string[];
  version_id: string | null;
}

export async function decideRetrain(services: Services, policy: PolicyRecord, cycle: CycleRecord, retrain: RetrainRecord, signal?: AbortSignal): Promise<RetrainDecision> {
  const job = services.jobs.get(retrain.job_id);
  if (job.status !== 'succeeded') {
    return { status: 'failed', reason: `retraining job ${job.job_id} ended ${job.status}: no model to evaluate`, evaluation_ids: [], version_id: null };
  }
  const { spec } = policy;
  const gates: Gate[] = spec.gates ?? services.config.evaluation.gates;
  const metrics = [...new Set(gates.map((g) => g.metric))];
  const registry = registryOf(services);
  const incumbent = registry.list({ name: spec.model_name, alias: spec.promote_to })[0];
  const { evaluateModel } = await import('../evaluation/evaluate.js');
  const ctx = { services, logger: services.logger, signal: signal ?? new AbortController().signal, progress: async () => {}, attachImage: () => {} };
  const args = { dataset_id: spec.eval_dataset_id, metrics, max_new_tokens: 64, batch_size: 8, ...(spec.eval_max_examples ? { max_examples: spec.eval_max_examples } : {}) };
  // The evaluation set is read first: one deleted since the policy was made is this policy's problem, said so.
  try {
    services.datasets.get(spec.eval_dataset_id);
  } catch (error) {
    throw new FinetuneError('NOT_FOUND', `Policy '${policy.name}': its evaluation set ${spec.eval_dataset_id} is gone, so job ${job.job_id} cannot be judged against ${spec.promote_to}. ${(error as Error).message}`, {
      recovery: 'Create a new policy with an existing eval_dataset_id; evaluate_model and promote_model can still judge and ship this job by hand.',
      details: { field: 'eval_dataset_id', policy_id: policy.id },
    });
  }
  const candidate = await evaluateModel(ctx, { ...args, job_id: job.job_id, label: 'candidate' });
  const evaluation_ids = [candidate.evaluation_id];
  const against = incumbent ? await evaluateModel(ctx, { ...args, version: `${incumbent.name}@${incumbent.version}`, label: 'incumbent' }) : undefined;
  if (against) evaluation_ids.push(against.evaluation_id);

  const problems = checkGates(candidate.metrics, gates).filter((g) => !g.passed).map((g) => `gate ${g.message}`);
  for (const gate of gates) {
    const now = against?.metrics[gate.metric];
    const next = candidate.metrics[gate.metric];
    if (now === undefined || next === undefined) continue;
    const worse = gate.comparator === '>=' ? next < now : next > now;
    if (worse) problems.push(`${gate.metric} ${fmt(next)} is worse than ${incumbent!.name}@${incumbent!.version} (${spec.promote_to}) ${fmt(now)}`);
  }
  const vs = incumbent ? ` vs ${incumbent.name}@${incumbent.version}` : ' (no version held the alias)';
  if (problems.length) return { status: 'regression', reason: `${problems.join('; ')}${vs}`, evaluation_ids, version_id: null };

  const version = nextVersion(registry.list({ name: spec.model_name })[0]?.version);
  const registered = await registry.register({
    name: spec.model_name,
    version,
    job_id: job.job_id,
    evaluation_ids: [candidate.evaluation_id],
    description: `Retrained by improvement policy ${policy.name} (cycle ${cycle.id}) on ${retrain.dataset_id}.`,
  });
  const gated = gates.map((g) => `${g.metric} ${fmt(candidate.metrics[g.metric])}${against?.metrics[g.metric] !== undefined ? ` (was ${fmt(against.metrics[g.metric])})` : ''}`).join(', ');
  // The registry's own gates (config evaluation.gates) apply too. One this loop does not measure (a
  // judge win-rate, say) cannot pass; the promotion then goes through forced, naming them, and shows
  // as forced in the alias history. A measured registry gate that fails stops it.
  const registryFailed = registry.gates(registered).filter((g) => !g.passed);
  const measuredFailed = registryFailed.filter((g) => g.value !== null);
  if (measuredFailed.length) {
    return { status: 'regression', reason: `registered ${spec.model_name}@${version}, not promoted: registry gates fail: ${measuredFailed.map((g) => g.message ?? g.metric).join('; ')}`, evaluation_ids, version_id: registered.version_id };
  }
  const unmeasured = registryFailed.map((g) => g.metric);
  const why = `improvement policy ${policy.name}, cycle ${cycle.id}: ${gated}${unmeasured.length ? `; registry gates not measured by the policy: ${unmeasured.join(', ')}` : ''}`;
  registry.promote({ name: spec.model_name, version, alias: spec.promote_to, reason: why, force: unmeasured.length > 0 });
  const forced = unmeasured.length ? ` (forced past unmeasured registry gates: ${unmeasured.join(', ')})` : '';
  return { status: 'promoted', reason: `${spec.model_name}@${version} promoted to ${spec.promote_to}: ${gated}${vs}${forced}`, evaluation_ids, version_id: registered.version_id };
}

/** The next minor version after the newest one (1.0.0 for the first). */
function nextVersion(latest: string | undefined): string {
  const m = latest ? /^(\d+)\.(\d+)\./.exec(latest) : null;
  return m ? `${m[1]}.${Number(m[2]) + 1}.0` : '1.0.0';
}

function fmt(v: number | undefined): string {
  return v === undefined ? 'n/a' : Math.abs(v) >= 10 ? v.toFixed(2) : v.toFixed(4);
}
