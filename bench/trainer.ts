/**
 * bench/trainer: what the training loop costs on top of the engine's step. LoRA SFT on stories260K
 * (packed pirate stories, batch 8 × 256 tokens, r 8 on all linear layers), 2 threads:
 * - engine only: createTrainStep().step() back to back on one batch (median ms of 10 after 2 warm-up);
 * - full loop: runJob (data order, gradient clipping, AdamW, schedule, per-step metrics to a sink),
 *   median of the per-step tokens/s it reports;
 * - one checkpoint (PEFT adapter + optimizer moments + state, written atomically), ms.
 * Prints tokens/s of both and the loop's ratio to the engine measured in this run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainStep } from '../plugins/local/engine/train-step.js';
import { loadModelFolder } from '../src/models/files/load-model.js';
import { AdamW } from '../plugins/local/trainer/adamw.js';
import { packExamples, sftBatch } from '../plugins/local/trainer/batches.js';
import { saveCheckpoint } from '../plugins/local/trainer/checkpoint.js';
import { renderSplit } from '../plugins/local/trainer/dataset.js';
import { runJob } from '../plugins/local/trainer/job.js';
import { adapterParamsIo } from '../plugins/local/trainer/params-io.js';
import { Prng } from '../src/random.js';
import { Renderer } from '../plugins/local/trainer/render.js';
import { convertStories260K, makeSpec, memorySink, STYLE_STORIES } from '../test/trainer/helpers/job-fixtures.js';

const B = 8;
const T = 256;
const THREADS = 2;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const work = mkdtempSync(join(tmpdir(), 'ftm-bench-trainer-'));
try {
  const modelDir = convertStories260K(work);
  const model = await loadModelFolder(modelDir);
  const lora = { r: 8, alpha: 16, dropout: 0, target_modules: 'all-linear' as const, use_rslora: false, on_missing_target: 'error' as const };

  // Engine only: the same shape, one packed batch, AdamW in between as any loop must do.
  const step = await createTrainStep({ model, approach: 'lora', lora, method: 'sft', batch_size: B, seq_len: T, threads: THREADS });
  const split = renderSplit(join(STYLE_STORIES, 'train.jsonl'), 'text', 'sft', new Renderer(model.tokenizer, 'all'), T);
  const batch = sftBatch(packExamples(split.examples, T).slice(0, B), B, T, 0);
  const params = step.trainable.map((t) => t.init.slice());
  const optimizer = new AdamW(params.map((p) => p.length), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0 });
  const times: number[] = [];
  let tokens = 0;
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    const result = await step.step(batch, params);
    optimizer.update(params, result.grads, 1e-3);
    if (i >= 2) times.push(performance.now() - t0);
    tokens = result.tokens;
  }
  const engineMs = median(times);
  const engineTps = tokens / (engineMs / 1000);

  const t0 = performance.now();
  const tensors = step.trainable.map((t) => ({ name: t.name, shape: t.shape }));
  await saveCheckpoint(join(work, 'ckpt'), {
    format: 'finetune-mcp.trainer/1', global_step: 1, total_steps: 1, position: { epoch: 0, micro_batch: 1 }, prng: Prng.fromSeed(1).state(), optimizer_step: 1,
    best_eval_loss: null, best_step: null, evals_without_improvement: 0, seq_len: T, tensors, log_history: [],
  }, params, optimizer.snapshot(), adapterParamsIo(tensors, { base_model_name_or_path: 'stories260K', r: 8, lora_alpha: 16, lora_dropout: 0, target_modules: ['q_proj'], use_rslora: false }));
  const checkpointMs = performance.now() - t0;
  await step.dispose();

  // The whole loop, as a job runs it (in this process, so no worker start-up in the figure).
  const spec = makeSpec({ root: work, modelDir, train: join(STYLE_STORIES, 'train.jsonl'), task_type: 'text', hyper: { max_steps: 12, batch_size: B, max_seq_length: T, packing: true, loss_on: 'all', lora_r: 8, target_modules: 'all-linear', save_steps: 0 } });
  const sink = memorySink();
  await runJob(spec, sink, { threads: THREADS });
  const loopTps = median(sink.series('tokens_per_s').slice(2).map(([, v]) => v));

  process.stdout.write(
    [
      `LoRA SFT, stories260K, batch ${B} × ${T}, ${THREADS} threads, ${step.trainable_parameters.toLocaleString('en-US')} trainable parameters`,
      `engine step + AdamW : ${engineTps.toFixed(0)} tokens/s (${engineMs.toFixed(1)} ms/step)`,
      `full training loop  : ${loopTps.toFixed(0)} tokens/s (ratio to engine ${(loopTps / engineTps).toFixed(2)}×)`,
      `checkpoint (adapter + moments + state, atomic): ${checkpointMs.toFixed(1)} ms`,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
