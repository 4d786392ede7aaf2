import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagValue, type Config } from './config.js';
import { call, fmt, runSteps, say, Steps, type Structured } from './demo.js';
import { packageRoot } from './package-root.js';
import { createLogger } from './observability/logger.js';
import { connectInProcess } from './server/in-process-client.js';
import { createServices } from './services.js';

/** Short generations: the demo model has a 512-token context and writes one labelled field at a time. */
const DEMO_GENERATOR = { max_tokens: 48, temperature: 0.8, concurrency: 1 };

const DEMO_TRAINING = { epochs: 2, batch_size: 4, learning_rate: 5e-3, max_seq_length: 256, lora_r: 4, lora_alpha: 8, eval_steps: 0, save_steps: 0, seed: 7 };

/**
 * `finetune-mcp demo generate`: data generation under human review, offline, through the same tools
 * and CLI a team uses. The tiny local model writes question/answer rows about a shipped handbook
 * (examples/handbook; the rows are poor: a 260K-parameter story model wrote them, and the demo shows
 * the path, not their quality), a person approves some through `finetune-mcp review` (run here as a
 * child process on the same workspace), the approved rows become a dataset version with their
 * review in its lineage, and a LoRA trains on it.
 */
export async function runGenerateDemo(config: Config, argv: string[]): Promise<number> {
  const root = packageRoot();
  const home = flagValue(argv, '--home') ?? mkdtempSync(join(tmpdir(), 'finetune-mcp-demo-generate-'));
  const demoConfig: Config = { ...config, home, allowed_roots: [...config.allowed_roots, root], generator: { ...config.generator, ...DEMO_GENERATOR } };
  const services = await createServices(demoConfig, { logger: createLogger({ level: flagValue(argv, '--log-level') ?? 'warn' }) });
  const link = await connectInProcess(services);
  const steps = new Steps(6);
  const handbook = join(root, 'examples', 'handbook');
  const modelDir = join(root, 'assets', 'models', 'stories260K');
  process.stdout.write(`finetune-mcp demo generate: rows written by a model, approved by a person, then trained on.\nWorkspace: ${home}\n`);
  return runSteps(home, link, services, async () => {
    let done = steps.begin('Import the base model (stories260K), which also writes the rows here');
    const model = await call(link, 'import_model', { source: join(modelDir, 'stories260K.bin'), tokenizer: join(modelDir, 'tok512.bin'), name: 'stories260K' });
    say(`${model.model_id}: ${fmt(model.parameters, 0)} parameters [${done()}]`);

    done = steps.begin(`Generate question/answer rows from the handbook (${handbook}) into a review queue`);
    const generated = await call(link, 'generate_dataset', {
      source: { documents: [handbook], chunk_tokens: 96 },
      kind: 'qa',
      count: 8,
      generator: `local:${model.model_id}`,
      model: model.model_id,
      name: 'handbook-qa',
    });
    const queue: string = generated.queue_id;
    say(`${queue}: ${generated.rows} rows pending review, ${generated.failed} failed, flags ${JSON.stringify(generated.flagged)}; no dataset version yet [${done()}]`);

    done = steps.begin('Read the queue as a reviewer does: rows, where they came from, their flags');
    const page = await call(link, 'review_queue', { queue_id: queue, limit: 2 });
    for (const row of page.rows as Structured[]) {
      const [question, answer] = (row.row.messages as Array<{ content: string }>).map((m) => m.content.replace(/\s+/g, ' ').slice(0, 90));
      const source = row.provenance.source;
      say(`${row.id}  Q: ${question}`);
      say(`${' '.repeat(row.id.length)}  A: ${answer}`);
      say(`${' '.repeat(row.id.length)}  from ${source.file.slice(root.length + 1)} chunk ${source.chunk} [${source.span.join(', ')}), flags: ${(row.flags as Structured[]).map((f) => f.code).join(', ') || 'none'}`);
    }
    say(`[${done()}]`);

    done = steps.begin('Approve and reject through the CLI (a second process on the same workspace)');
    const half = Math.max(1, Math.ceil(generated.rows / 2));
    reviewCli(home, ['approve', queue, `1-${half}`, '--reviewer', 'demo-reviewer']);
    if (generated.rows > half) reviewCli(home, ['reject', queue, `${half + 1}-${generated.rows}`, '--reviewer', 'demo-reviewer']);
    say(`[${done()}]`);

    done = steps.begin('Commit the approved rows into a dataset version, then refuse the queue id for training');
    const committed = await call(link, 'commit_review', { queue_id: queue, name: 'handbook-qa-approved' });
    say(`${committed.dataset_id}: ${committed.committed} approved rows (${committed.rejected_left_out} rejected left out), reviewers ${committed.reviewers.join(', ')}`);
    const refused = await link.call('configure_training', { base_model: model.model_id, dataset_id: queue, backend: 'local', method: 'sft' });
    say(`configure_training on ${queue}: ${refused.isError ? 'refused, as it must be' : 'accepted (unexpected)'} [${done()}]`);
    if (!refused.isError) throw new Error('configure_training accepted a review queue id');

    done = steps.begin('Train a LoRA on the approved version (local ONNX Runtime backend)');
    const configured = await call(link, 'configure_training', { base_model: model.model_id, dataset_id: committed.dataset_id, method: 'sft', approach: 'lora', backend: 'local', template: 'smoke', overrides: DEMO_TRAINING });
    const started = await call(link, 'start_training', { config_id: configured.config_id });
    let status: Structured = {};
    do status = await call(link, 'monitor_training', { job_id: started.job_id, wait_s: 5 });
    while (!['succeeded', 'failed', 'cancelled', 'interrupted'].includes(status.status));
    if (status.status !== 'succeeded') throw new Error(`Training ended ${status.status}: ${JSON.stringify(status.error ?? status.events?.slice(-3))}`);
    say(`${started.job_id} succeeded in ${status.step} steps, loss ${fmt(status.metrics?.loss?.value)} [${done()}]`);
    say(`lineage: ${committed.dataset_id} ← review queue ${queue} (generated by local:${model.model_id}, reviewed by ${committed.reviewers.join(', ')})`);
    say(`provenance per row: ${join(home, 'datasets', committed.dataset_id, 'provenance.jsonl')}`);
    say(`total time ${steps.elapsed()}`);
  });
}

/** Runs `finetune-mcp review …` as a person would, in its own process, and shows the command and what it printed. */
function reviewCli(home: string, args: string[]): void {
  const cli = process.argv[1];
  say(`$ npx finetune-mcp review ${args.join(' ')}`);
  const run = spawnSync(process.execPath, [cli, 'review', ...args, '--home', home, '--log-level', 'warn'], { encoding: 'utf8' });
  for (const line of `${run.stdout}${run.stderr}`.trim().split('\n')) say(`  ${line}`);
  if (run.status !== 0) throw new Error(`finetune-mcp review ${args[0]} exited ${run.status}`);
}
