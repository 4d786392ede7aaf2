import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagValue, type Config } from './config.js';
import { call, fmt, runSteps, say, Steps, type Structured } from './demo.js';
import { packageRoot } from './package-root.js';
import { getJudgeRun } from './evaluation/judge-run-store.js';
import { createLogger } from './observability/logger.js';
import { connectInProcess, type InProcessClient } from './server/in-process-client.js';
import { createServices } from './services.js';

const DEMO_TRAINING = { epochs: 2, batch_size: 4, learning_rate: 5e-3, max_seq_length: 256, lora_r: 4, lora_alpha: 8, eval_steps: 0, save_steps: 0, seed: 7 };

/** A sanity bound the registry checks on every promotion; the loop's own gates are the policy's. */
const DEMO_REGISTRY_GATES = [{ metric: 'perplexity', comparator: '<=' as const, threshold: 100 }];

/** The policy's gates: no worse perplexity on the evaluation set, and a judge win-rate against staging of at least one half. */
const POLICY_GATES = [...DEMO_REGISTRY_GATES, { metric: 'win_rate', comparator: '>=' as const, threshold: 0.5 }];

/**
 * Where the pool starts. stories260K never learned to answer yes or no: its P(yes) sits near 0.03 for any
 * row, so a threshold meant for a real judge (0.8) would keep nothing. The demo keeps the upper part of
 * this toy scale and says so; with a real judge model the policy's default of 0.8 applies.
 */
const DEMO_MIN_SCORE = 0.035;
const DEMO_THRESHOLD = 4;

const RUBRIC = 'Story quality: 1 = a complete, gentle story that answers the request; 0 = broken or repeated text.';

/**
 * `finetune-mcp demo improve`: the improvement loop (docs/improvement-loop.md), offline. Production
 * traffic is shipped span files (examples/improvement-loop, OpenInference spans as Phoenix exports
 * them) read by the otel-files source, a day at a time; the judge is the local model scoring by its own
 * token probabilities (P(yes): with a 260K-parameter story model the scores mean nothing, the
 * mechanics are real); cycle 1 pools under the threshold, cycle 2 crosses it and retrains, cycle 3
 * makes the gated decision against the model staging holds, whatever it honestly is.
 */
export async function runImproveDemo(config: Config, argv: string[]): Promise<number> {
  const root = packageRoot();
  const home = flagValue(argv, '--home') ?? mkdtempSync(join(tmpdir(), 'finetune-mcp-demo-improve-'));
  const demoConfig: Config = { ...config, home, allowed_roots: [...config.allowed_roots, root], evaluation: { ...config.evaluation, gates: DEMO_REGISTRY_GATES } };
  const services = await createServices(demoConfig, { logger: createLogger({ level: flagValue(argv, '--log-level') ?? 'warn' }) });
  const link = await connectInProcess(services);
  const steps = new Steps(7);
  const data = join(root, 'examples', 'improvement-loop');
  const modelDir = join(root, 'assets', 'models', 'stories260K');
  const telemetry = join(home, 'telemetry', 'spans.jsonl');
  process.stdout.write(`finetune-mcp demo improve: production spans judged, pooled, retrained on, and a gated release.\nWorkspace: ${home}\n`);
  return runSteps(home, link, services, async () => {
    let done = steps.begin('Import the base model (stories260K): the production model, and the judge');
    const model = await call(link, 'import_model', { source: join(modelDir, 'stories260K.bin'), tokenizer: join(modelDir, 'tok512.bin'), name: 'stories260K' });
    say(`${model.model_id}: ${fmt(model.parameters, 0)} parameters [${done()}]`);

    done = steps.begin('Ship moon-bot@1.0.0 to staging: a LoRA on the base chats, evaluated and promoted');
    const base = await call(link, 'prepare_dataset', { path: join(data, 'base.jsonl'), name: 'moon-base' });
    const split = await call(link, 'split_dataset', { dataset_id: base.dataset_id, train: 0.8, validation: 0.1, test: 0.1, seed: 11 });
    const evalSet = await call(link, 'prepare_dataset', { path: join(data, 'eval.jsonl'), name: 'moon-eval' });
    const configured = await call(link, 'configure_training', { base_model: model.model_id, dataset_id: split.dataset_id, method: 'sft', approach: 'lora', backend: 'local', template: 'smoke', overrides: DEMO_TRAINING });
    const first = await train(link, configured.config_id, 'moon-bot-1.0.0');
    const evaluated = await call(link, 'evaluate_model', { job_id: first, dataset_id: evalSet.dataset_id, metrics: ['perplexity'] });
    await call(link, 'register_model', { name: 'moon-bot', version: '1.0.0', job_id: first, evaluation_ids: [evaluated.evaluation_id] });
    await call(link, 'promote_model', { name: 'moon-bot', version: '1.0.0', alias: 'staging' });
    say(`${first} → moon-bot@1.0.0 on staging, perplexity ${fmt(evaluated.metrics.perplexity)} on ${evalSet.dataset_id} [${done()}]`);

    done = steps.begin(`Create the improvement policy: spans → P(yes) judge → pool → retrain at ${DEMO_THRESHOLD} → gates`);
    mkdirSync(join(home, 'telemetry'), { recursive: true });
    copyFileSync(join(data, 'spans-day1.jsonl'), telemetry);
    const policy = await call(link, 'create_improvement_policy', {
      name: 'moon-loop',
      source: { source: 'otel-files', query: { path: telemetry } },
      rubric: RUBRIC,
      rubric_name: 'story_quality',
      judge: `local:${model.model_id}`,
      min_score: DEMO_MIN_SCORE,
      retrain_threshold: DEMO_THRESHOLD,
      base_config_id: configured.config_id,
      eval_dataset_id: evalSet.dataset_id,
      model_name: 'moon-bot',
      gates: POLICY_GATES,
    });
    say(`${policy.policy_id}: source ${telemetry} (otel-files), judge local:${model.model_id} by P(yes), retrain at ${DEMO_THRESHOLD}`);
    say(`keep ≥ ${DEMO_MIN_SCORE}: this toy judge's P(yes) sits near 0.03 for any row and means nothing; a real judge model keeps ≥ 0.8`);
    say(`gates: ${POLICY_GATES.map((g) => `${g.metric} ${g.comparator} ${g.threshold}`).join(', ')}, each no worse than staging [${done()}]`);

    done = steps.begin('Cycle 1: the first day of spans');
    const cycle1 = await cycle(link, services, policy.policy_id);
    say(`[${done()}]`);
    if (cycle1.decision !== 'pooled') throw new Error(`cycle 1 decided ${cycle1.decision}, expected pooled: ${cycle1.reason}`);

    done = steps.begin('Cycle 2: the second day arrives (appended to the span file)');
    appendFileSync(telemetry, readFileSync(join(data, 'spans-day2.jsonl')));
    const cycle2 = await cycle(link, services, policy.policy_id);
    if (cycle2.decision !== 'retraining') throw new Error(`cycle 2 decided ${cycle2.decision}, expected retraining: ${cycle2.reason}`);
    const jobId: string = cycle2.policy.cycles.at(-1).job_id;
    say(`[${done()}]`);

    done = steps.begin(`Wait for ${jobId}, then cycle 3: the gated decision against moon-bot@1.0.0`);
    await finish(link, jobId);
    const cycle3 = await cycle(link, services, policy.policy_id);
    say(`[${done()}]`);

    done = steps.begin('What the policy shows (get_improvement_policy)');
    const shown = await call(link, 'get_improvement_policy', { policy_id: 'moon-loop' });
    shown.cycles.forEach((c: Structured, i: number) => say(`cycle ${i + 1}: ${c.decision.padEnd(10)} judged ${c.judged}, added ${c.added}${c.job_id ? `, job ${c.job_id}` : ''}${c.evaluation_ids.length ? `, evidence ${c.evaluation_ids.join(' ')}` : ''}`));
    const staging = await call(link, 'list_model_versions', { name: 'moon-bot' });
    say(`staging holds ${(staging.versions as Structured[]).find((v) => (v.aliases ?? []).includes('staging'))?.version ?? 'n/a'}; versions: ${(staging.versions as Structured[]).map((v) => v.version).join(', ')}`);
    const metrics = (await services.metrics.registry.metrics()).split('\n').filter((l) => /^finetune_mcp_(judge_score_count|improvement_\w+)\{.*policy="moon-loop"/.test(l));
    for (const line of metrics) say(line);
    say(`cycle 3 decided ${cycle3.decision}; total time ${steps.elapsed()} [${done()}]`);
  });
}

/** Runs one cycle and says what it decided, with the judge's scores when it judged. */
async function cycle(link: InProcessClient, services: Awaited<ReturnType<typeof createServices>>, policyId: string): Promise<Structured> {
  const out = await call(link, 'run_improvement_policy', { policy_id: policyId });
  const last = out.policy.cycles.at(-1);
  if (last.judge_run_id) {
    const scores = getJudgeRun(services.workspace, last.judge_run_id)!.rows.map((r) => (r.score === null ? 'failed' : r.score.toFixed(3)));
    say(`judged ${last.judged} spans (${last.judge_run_id}), P(yes) scores: ${scores.join(' ')}`);
  }
  say(`decision: ${out.decision}`);
  say(`reason:   ${out.reason}`);
  return out;
}

async function train(link: InProcessClient, configId: string, key: string): Promise<string> {
  const started = await call(link, 'start_training', { config_id: configId, idempotency_key: key });
  await finish(link, started.job_id);
  return started.job_id;
}

async function finish(link: InProcessClient, jobId: string): Promise<void> {
  let status: Structured = {};
  do status = await call(link, 'monitor_training', { job_id: jobId, wait_s: 5 });
  while (!['succeeded', 'failed', 'cancelled', 'interrupted'].includes(status.status));
  if (status.status !== 'succeeded') throw new Error(`Training ${jobId} ended ${status.status}: ${JSON.stringify(status.error ?? status.events?.slice(-3))}`);
}
