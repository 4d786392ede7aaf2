/**
 * After a retraining job ends: the new model and the model the policy's alias points to are evaluated
 * on the policy's fixed evaluation set; the new one is registered and promoted only when it passes
 * every gate and is no worse than the incumbent on any gated metric. A `win_rate` gate is measured
 * with the policy's own judge, pairwise against the incumbent (compare_models' code). A gate the loop
 * cannot measure holds the version for a person; a worse model is never promoted.
 */
import { readCases } from '../evaluation/cases.js';
import { compareAndStore } from '../evaluation/compare.js';
import { CLASSIFICATION_METRICS, SCORE_METRICS } from '../evaluation/evaluate.js';
import { checkGates, type Gate } from '../evaluation/gates.js';
import { policyPairwiseJudge } from '../evaluation/judges/select.js';
import { resolveModel } from '../evaluation/model-ref.js';
import { runModel } from '../evaluation/runners/generate-all.js';
import { openRunner } from '../evaluation/runners/open.js';
import { TEXT_METRICS } from '../evaluation/text-scorer.js';
import { FinetuneError } from '../errors.js';
import { registryOf } from '../registry/index.js';
import type { ModelVersion } from '../registry/types.js';
import type { ToolContext } from '../server/tool.js';
import type { Services } from '../services.js';
import type { CycleRecord, PolicyRecord, RetrainRecord } from './store.js';

interface RetrainDecision {
  status: 'promoted' | 'regression' | 'held' | 'failed';
  reason: string;
  evaluation_ids: string[];
  version_id: string | null;
}

const WIN_RATE = 'win_rate';

/** Gate metrics evaluate_model measures; `win_rate` the loop measures itself (a policy's gates must be among these). */
const EVALUATED_METRICS: ReadonlySet<string> = new Set([...SCORE_METRICS, ...TEXT_METRICS, ...CLASSIFICATION_METRICS]);
export const LOOP_MEASURED_METRICS: ReadonlySet<string> = new Set([...EVALUATED_METRICS, WIN_RATE]);

export async function decideRetrain(services: Services, policy: PolicyRecord, cycle: CycleRecord, retrain: RetrainRecord, signal?: AbortSignal): Promise<RetrainDecision> {
  const job = services.jobs.get(retrain.job_id);
  if (job.status !== 'succeeded') {
    return { status: 'failed', reason: `retraining job ${job.job_id} ended ${job.status}: no model to evaluate`, evaluation_ids: [], version_id: null };
  }
  const { spec } = policy;
  const gates: Gate[] = spec.gates ?? services.config.evaluation.gates;
  const registryGates: Gate[] = services.config.evaluation.gates;
  const registry = registryOf(services);
  const incumbent = registry.list({ name: spec.model_name, alias: spec.promote_to })[0];
  const { evaluateModel } = await import('../evaluation/evaluate.js');
  const ctx: ToolContext = { services, logger: services.logger, signal: signal ?? new AbortController().signal, progress: async () => {}, attachImage: () => {} };
  // The evaluation set is read first: one deleted since the policy was made is this policy's problem, said so.
  let task: string;
  try {
    task = services.datasets.get(spec.eval_dataset_id).task_type;
  } catch (error) {
    throw new FinetuneError('NOT_FOUND', `Policy '${policy.name}': its evaluation set ${spec.eval_dataset_id} is gone, so job ${job.job_id} cannot be judged against ${spec.promote_to}. ${(error as Error).message}`, {
      recovery: 'Create a new policy with an existing eval_dataset_id; evaluate_model and promote_model can still judge and ship this job by hand.',
      details: { field: 'eval_dataset_id', policy_id: policy.id },
    });
  }
  // The registry's gates are measured too where evaluate_model can on this set: the loop measures what it can
  // (a label metric on chat rows it cannot: that gate stays unmeasured, and holds the version).
  const fits = (m: string) => task === 'classification' || m === 'accuracy' || !(CLASSIFICATION_METRICS as readonly string[]).includes(m);
  const metrics = [...new Set([...gates.map((g) => g.metric), ...registryGates.map((g) => g.metric).filter(fits)].filter((m) => EVALUATED_METRICS.has(m)))];
  const args = { dataset_id: spec.eval_dataset_id, metrics, max_new_tokens: 64, batch_size: 8, ...(spec.eval_max_examples ? { max_examples: spec.eval_max_examples } : {}) };
  const evaluation_ids: string[] = [];
  const measured: Record<string, number> = {};
  const before: Record<string, number> = {};
  if (metrics.length) {
    const candidate = await evaluateModel(ctx, { ...args, job_id: job.job_id, label: 'candidate' });
    evaluation_ids.push(candidate.evaluation_id);
    Object.assign(measured, candidate.metrics);
    if (incumbent) {
      const against = await evaluateModel(ctx, { ...args, version: `${incumbent.name}@${incumbent.version}`, label: 'incumbent' });
      evaluation_ids.push(against.evaluation_id);
      Object.assign(before, against.metrics);
    }
  }
  // Win-rate: pairwise against the alias holder with the policy's judge; with no holder it does not apply.
  const notApplicable: Record<string, string> = {};
  let comparisonId: string | undefined;
  let unmeasurable: string | undefined;
  if ([...gates, ...registryGates].some((g) => g.metric === WIN_RATE)) {
    if (!incumbent) notApplicable[WIN_RATE] = `no version held ${spec.model_name}'s ${spec.promote_to} alias, so there is no incumbent to compare against`;
    else {
      const won = await measureWinRate(ctx, policy, job.job_id, incumbent);
      if ('missing' in won) unmeasurable = won.missing;
      else {
        measured[WIN_RATE] = won.win_rate;
        comparisonId = won.comparison_id;
        evaluation_ids.push(won.comparison_id);
      }
    }
  }

  const checked = gates.filter((g) => !(g.metric === WIN_RATE && (notApplicable[WIN_RATE] || unmeasurable)));
  const problems = checkGates(measured, checked).filter((g) => !g.passed).map((g) => `gate ${g.message}`);
  for (const gate of checked) {
    const now = before[gate.metric];
    const next = measured[gate.metric];
    if (now === undefined || next === undefined) continue;
    const worse = gate.comparator === '>=' ? next < now : next > now;
    if (worse) problems.push(`${gate.metric} ${fmt(next)} is worse than ${incumbent!.name}@${incumbent!.version} (${spec.promote_to}) ${fmt(now)}`);
  }
  const vs = incumbent ? ` vs ${incumbent.name}@${incumbent.version}` : ' (no version held the alias)';
  const gated = checked.map((g) => `${g.metric} ${fmt(measured[g.metric])}${before[g.metric] !== undefined ? ` (was ${fmt(before[g.metric])})` : ''}`).join(', ');
  if (problems.length) return { status: 'regression', reason: `${problems.join('; ')}; measured: ${gated}${vs}`, evaluation_ids, version_id: null };

  const version = nextVersion(registry.list({ name: spec.model_name })[0]?.version);
  const registered = await registry.register({
    name: spec.model_name,
    version,
    job_id: job.job_id,
    evaluation_ids: evaluation_ids.filter((id) => id !== comparisonId).slice(0, 1),
    ...(comparisonId ? { comparison_id: comparisonId } : {}),
    description: `Retrained by improvement policy ${policy.name} (cycle ${cycle.id}) on ${retrain.dataset_id}.`,
  });
  const na = Object.entries(notApplicable).map(([m, why]) => `; ${m} gate not applicable: ${why}`).join('');
  // The registry's own gates (config evaluation.gates) apply too: one measured and failing is a regression;
  // one the loop cannot measure (a human review, a win-rate without a judge) holds the version for a person.
  const registryFailed = registry.gates(registered).filter((g) => !g.passed && !(g.value === null && notApplicable[g.metric]));
  const measuredFailed = registryFailed.filter((g) => g.value !== null);
  if (measuredFailed.length) {
    return { status: 'regression', reason: `registered ${spec.model_name}@${version}, not promoted: registry gates fail: ${measuredFailed.map((g) => g.message ?? g.metric).join('; ')}`, evaluation_ids, version_id: registered.version_id };
  }
  const cannot = [
    ...registryFailed.map((g) => `${g.metric} (registry gate ${g.comparator} ${g.threshold})`),
    ...(unmeasurable && !registryFailed.some((g) => g.metric === WIN_RATE) ? gates.filter((g) => g.metric === WIN_RATE).map((g) => `${WIN_RATE} (policy gate ${g.comparator} ${g.threshold})`) : []),
  ];
  if (cannot.length) {
    return { status: 'held', reason: heldReason(registered, spec.promote_to, cannot, unmeasurable, gated + na), evaluation_ids, version_id: registered.version_id };
  }
  const why = `improvement policy ${policy.name}, cycle ${cycle.id}: ${gated}`;
  registry.promote({ name: spec.model_name, version, alias: spec.promote_to, reason: why, not_applicable: notApplicable });
  return { status: 'promoted', reason: `${spec.model_name}@${version} promoted to ${spec.promote_to}: ${gated}${vs}${na}`, evaluation_ids, version_id: registered.version_id };
}

/** Candidate and incumbent answer the evaluation set; the policy's judge compares them in both orders (compare_models' code, stored as a comparison). */
async function measureWinRate(ctx: ToolContext, policy: PolicyRecord, jobId: string, incumbent: ModelVersion): Promise<{ win_rate: number; comparison_id: string } | { missing: string }> {
  const { services } = ctx;
  const { spec } = policy;
  const judge = await policyPairwiseJudge(services, spec.judge, ctx.signal);
  if ('missing' in judge) return judge;
  const { cases, label } = await readCases(services, { dataset_id: spec.eval_dataset_id, ...(spec.eval_max_examples ? { max_examples: spec.eval_max_examples } : {}) }, ctx.signal);
  const models = [];
  for (const [ref, name] of [[{ version: `${incumbent.name}@${incumbent.version}` }, 'incumbent'], [{ job_id: jobId }, 'candidate']] as const) {
    const resolved = resolveModel(services, { ...ref, label: name });
    models.push(await runModel(ctx, await openRunner(services, resolved), name, cases, label, 64, false, async () => {}));
  }
  const compared = await compareAndStore({ services, cases, dataset_label: label, models, baseline: 'incumbent', metrics: [], judge, signal: ctx.signal });
  return { win_rate: compared.judge!.results[0].win_rate, comparison_id: compared.comparison_id };
}

function heldReason(version: ModelVersion, alias: string, cannot: string[], unmeasurable: string | undefined, gated: string): string {
  const call = JSON.stringify({ name: version.name, version: version.version, alias, force: true, reason: `checked by hand: ${cannot.map((c) => c.split(' ')[0]).join(', ')} …` });
  return (
    `registered ${version.name}@${version.version}, held (not promoted): the loop cannot measure ${cannot.join('; ')}` +
    `${unmeasurable ? ` (win_rate: ${unmeasurable})` : ''}${gated ? `; measured: ${gated}` : ''}. ` +
    `A person who has checked it promotes with promote_model ${call}`
  );
}

/** The next minor version after the newest one (1.0.0 for the first). */
function nextVersion(latest: string | undefined): string {
  const m = latest ? /^(\d+)\.(\d+)\./.exec(latest) : null;
  return m ? `${m[1]}.${Number(m[2]) + 1}.0` : '1.0.0';
}

function fmt(v: number | undefined): string {
  return v === undefined ? 'n/a' : Math.abs(v) >= 10 ? v.toFixed(2) : v.toFixed(4);
}
