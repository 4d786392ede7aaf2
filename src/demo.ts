import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagValue, type Config } from './config.js';
import { packageRoot } from './package-root.js';
import { createLogger } from './observability/logger.js';
import { connectInProcess, resultText, type InProcessClient } from './server/in-process-client.js';
import { closeServices, createServices, type Services } from './services.js';

/**
 * The demo's own quality gates: its task is story continuation, so the gates are the text metrics
 * of continuations against the real endings and the perplexity of held-out endings.
 */
const DEMO_GATES = [
  { metric: 'rouge_l', comparator: '>=', threshold: 0.4 },
  { metric: 'bleu', comparator: '>=', threshold: 20 },
  { metric: 'perplexity', comparator: '<=', threshold: 3 },
] as const;

const DEMO_TRAINING = {
  epochs: 3,
  batch_size: 8,
  gradient_accumulation: 1,
  learning_rate: 1e-2,
  lr_scheduler: 'cosine',
  warmup_ratio: 0.05,
  max_seq_length: 192,
  lora_r: 8,
  lora_alpha: 16,
  lora_dropout: 0,
  target_modules: 'all-linear',
  eval_steps: 10,
  save_steps: 20,
  seed: 42,
};

export type Structured = Record<string, any>;

export class Steps {
  private index = 0;
  private readonly started = performance.now();
  constructor(private readonly total: number) {}
  begin(title: string): () => string {
    this.index++;
    const t0 = performance.now();
    process.stdout.write(`\n[${this.index}/${this.total}] ${title}\n`);
    return () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  }
  elapsed(): string {
    return `${((performance.now() - this.started) / 1000).toFixed(0)} s`;
  }
}

export const say = (line: string) => process.stdout.write(`    ${line}\n`);

export async function call(link: InProcessClient, tool: string, args: Record<string, unknown>): Promise<Structured> {
  const result: CallToolResult = await link.call(tool, args);
  if (result.isError) throw new Error(`${tool} failed:\n${resultText(result)}`);
  return result.structuredContent as Structured;
}

export const fmt = (x: unknown, digits = 3) => (typeof x === 'number' ? x.toFixed(digits) : String(x ?? 'n/a'));

/** Runs a demo's steps: a failure is said on stderr with the workspace kept; the link and services close either way. */
export async function runSteps(home: string, link: InProcessClient, services: Services, steps: () => Promise<void>): Promise<number> {
  try {
    await steps();
    return 0;
  } catch (error) {
    process.stderr.write(`\nThe demo stopped: ${error instanceof Error ? error.message : String(error)}\nWorkspace kept for inspection: ${home}\n`);
    return 1;
  } finally {
    await link.close();
    await closeServices(services);
  }
}

/**
 * `finetune-mcp demo`: the whole path on a tiny model, offline, with no GPU and no Python,
 * through the same MCP tools an agent calls: import, validate, prepare, split, configure, plan,
 * train with live progress, evaluate against the base, register, promote, and a summary.
 */
export async function runDemo(config: Config, argv: string[]): Promise<number> {
  const root = packageRoot();
  const home = flagValue(argv, '--home') ?? mkdtempSync(join(tmpdir(), 'finetune-mcp-demo-'));
  const demoConfig: Config = {
    ...config,
    home,
    allowed_roots: [...config.allowed_roots, root],
    evaluation: { ...config.evaluation, gates: DEMO_GATES.map((g) => ({ ...g })) },
  };
  const logger = createLogger({ level: flagValue(argv, '--log-level') ?? 'warn' });
  const services = await createServices(demoConfig, { logger });
  const link = await connectInProcess(services);
  const steps = new Steps(11);
  const stories = join(root, 'assets', 'demo', 'moon-stories.jsonl');
  const modelDir = join(root, 'assets', 'models', 'stories260K');
  process.stdout.write(`finetune-mcp demo: fine-tune a 260K-parameter story model on stories in a new style.\nWorkspace: ${home}\n`);
  return runSteps(home, link, services, async () => {
    let done = steps.begin('Import the base model (stories260K, llama2.c checkpoint → Hugging Face folder)');
    const model = await call(link, 'import_model', { source: join(modelDir, 'stories260K.bin'), tokenizer: join(modelDir, 'tok512.bin'), name: 'stories260K' });
    say(`${model.model_id}: ${model.architecture ?? model.model_type} with ${model.parameters?.toLocaleString?.() ?? model.parameters} parameters, context ${model.context_length} [${done()}]`);

    done = steps.begin('Validate the data file');
    const validation = await call(link, 'validate_dataset', { path: stories, model: model.model_id });
    const tokens = validation.summary.tokens;
    say(`${validation.summary.records} rows (${validation.summary.format}), ${validation.summary.errors} errors, ${validation.summary.warnings} warnings` + (tokens ? `; ${tokens.per_example.total} tokens (${tokens.tokenizer}), ${tokens.per_example.min}–${tokens.per_example.max} per row` : '') + ` [${done()}]`);

    done = steps.begin('Prepare an immutable dataset version, then split it 80/10/10 (seeded)');
    const prepared = await call(link, 'prepare_dataset', { path: stories, name: 'moon-stories' });
    const split = await call(link, 'split_dataset', { dataset_id: prepared.dataset_id, train: 0.8, validation: 0.1, test: 0.1, seed: 42 });
    say(`${prepared.dataset_id} (${prepared.task_type}) → ${split.dataset_id}: ${JSON.stringify(split.counts ?? split.splits ?? {})} [${done()}]`);

    done = steps.begin('Configure LoRA training (method chosen from the data) and plan it');
    const configured = await call(link, 'configure_training', {
      base_model: model.model_id,
      dataset_id: split.dataset_id,
      method: 'auto',
      approach: 'lora',
      backend: 'local',
      template: 'efficient',
      overrides: DEMO_TRAINING,
    });
    const plan = await call(link, 'plan_training', { config_id: configured.config_id, max_runtime_s: 1800 });
    say(`${configured.config_id}: method ${configured.method ?? configured.config?.method}; plan ${plan.plan_id}: verdict ${plan.verdict}`);
    const e = plan.estimate;
    say(`estimate: ${fmt(e.trainable_parameters, 0)} trainable parameters, ${fmt(e.tokens, 0)} training tokens in ${fmt(e.steps, 0)} steps,`);
    say(`          ~${fmt(e.time_s, 0)} s on ${e.device}, ${fmt(e.memory_gb, 2)} GB memory, $${fmt(e.cost_usd, 2)} [${done()}]`);
    if (plan.verdict !== 'go') throw new Error(`The plan says no_go: ${JSON.stringify(plan.reasons)}`);

    done = steps.begin('Train on the local ONNX Runtime backend (a detached worker process)');
    const started = await call(link, 'start_training', { plan_id: plan.plan_id });
    say(`${started.job_id} ${started.status}`);
    let status: Structured = {};
    let lastStep = -1;
    for (;;) {
      status = await call(link, 'monitor_training', { job_id: started.job_id, wait_s: 5 });
      if (status.step !== lastStep && status.step !== undefined) {
        lastStep = status.step;
        const latest = (name: string, digits?: number) => fmt(status.metrics?.[name]?.value, digits);
        say(`step ${status.step}/${status.total_steps}  loss ${latest('loss')}  eval_loss ${latest('eval_loss')}  ${latest('tokens_per_s', 0)} tok/s  (${status.status})`);
      }
      if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(status.status)) break;
    }
    if (status.status !== 'succeeded') throw new Error(`Training ended ${status.status}: ${JSON.stringify(status.error ?? status.events?.slice(-3))}`);
    say(`succeeded; best eval loss ${fmt(status.best_eval?.eval_loss)} at step ${status.best_eval?.step} [${done()}]`);

    done = steps.begin('Evaluate the base model and the fine-tune on the held-out test split');
    const metrics = ['perplexity', 'bleu', 'rouge_l'];
    const base = await call(link, 'evaluate_model', { model_id: model.model_id, dataset_id: split.dataset_id, split: 'test', metrics, max_new_tokens: 96 });
    const tuned = await call(link, 'evaluate_model', { job_id: started.job_id, dataset_id: split.dataset_id, split: 'test', metrics, max_new_tokens: 96 });
    for (const m of metrics) say(`${m.padEnd(11)} base ${fmt(base.metrics[m]).padStart(8)}   fine-tuned ${fmt(tuned.metrics[m]).padStart(8)}`);
    say(`[${done()}]`);

    done = steps.begin('Generate: continue an opening sentence, before and after');
    const prompt = 'Once upon a time, in the town of Willow Bay, there lived a little fox named Pip.';
    const before = await call(link, 'generate', { model_id: model.model_id, prompt, max_tokens: 120 });
    const after = await call(link, 'generate', { model_id: model.model_id, job_id: started.job_id, prompt, max_tokens: 120 });
    say(`prompt:     ${prompt}`);
    say(`base:       ${before.text.replace(/\s+/g, ' ').trim()}`);
    say(`fine-tuned: ${after.text.replace(/\s+/g, ' ').trim()} [${done()}]`);

    done = steps.begin('Register the fine-tune as moon-stories@1.0.0 with its lineage');
    const version = await call(link, 'register_model', {
      name: 'moon-stories',
      version: '1.0.0',
      job_id: started.job_id,
      evaluation_ids: [tuned.evaluation_id],
      description: 'LoRA on stories260K: Willow Bay moon stories.',
    });
    const registered = version.model_version;
    say(`${registered.version_id}: ${registered.name}@${registered.version}, lineage ${JSON.stringify(registered.lineage ?? {}).slice(0, 160)}… [${done()}]`);

    done = steps.begin('Promote it to staging (quality gates checked)');
    const promoted = await call(link, 'promote_model', { name: 'moon-stories', version: '1.0.0', alias: 'staging' });
    for (const g of promoted.gates ?? []) say(`gate ${g.metric} ${g.comparator} ${g.threshold}: ${fmt(g.value)} ${g.passed ? 'pass' : 'FAIL'}`);
    say(`staging → moon-stories@1.0.0 [${done()}]`);

    done = steps.begin('Write the model card');
    const card = await call(link, 'model_card', { name: 'moon-stories', version: '1.0.0', output_path: join(home, 'registry', 'moon-stories-1.0.0.md') });
    say(`${card.path ?? 'returned inline'}: ${card.markdown.split('\n').length} lines [${done()}]`);

    done = steps.begin('Summary');
    const artifacts = (status.artifacts ?? []) as Array<{ kind: string; path?: string }>;
    say(`perplexity on held-out endings: ${fmt(base.metrics.perplexity)} → ${fmt(tuned.metrics.perplexity)}`);
    say(`ROUGE-L ${fmt(base.metrics.rouge_l)} → ${fmt(tuned.metrics.rouge_l)}, BLEU ${fmt(base.metrics.bleu, 1)} → ${fmt(tuned.metrics.bleu, 1)}`);
    say(`workspace:  ${home}`);
    say(`database:   ${join(home, 'workspace.db')}`);
    say(`dataset:    ${join(home, 'datasets', split.dataset_id)}`);
    say(`base model: ${join(home, 'models', model.model_id)}`);
    for (const a of artifacts) if (a.path) say(`${a.kind.padEnd(10)}  ${a.path}`);
    say(`checkpoints: ${join(home, 'jobs', started.job_id, 'checkpoints')}`);
    say(`total time ${steps.elapsed()}`);
  });
}
