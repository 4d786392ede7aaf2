import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRuntimeModel, scoreSequences } from '../../plugins/local/engine/index.js';
import { sftBatch } from '../../plugins/local/trainer/batches.js';
import { runJob, type JobResult } from '../../plugins/local/trainer/job.js';
import { Renderer } from '../../plugins/local/trainer/render.js';
import { dequantizedLinears } from '../../plugins/local/engine/quant/nf4-linear.js';
import { LINEAR_MODULES } from '../../src/models/files/arch.js';
import { loadModelFolder } from '../../src/models/files/load-model.js';
import { convertStories260K, makeSpec, memorySink, type MemorySink, STYLE_STORIES } from './helpers/job-fixtures.js';

/**
 * Acceptance of QLoRA on the local trainer, on the real stories260K model: 100 steps of QLoRA and of
 * LoRA on the same data with the same seed; the QLoRA adapter is a PEFT folder like LoRA's and loads
 * through the same loader; its loss stays within 10 % of LoRA's; the session holds the linear
 * weights as NF4.
 */
let root: string;
let baseDir: string;
const runs: Record<'lora' | 'qlora', { sink: MemorySink; result: JobResult; trainedLogps: Float32Array }> = {} as never;
let rows: number[][];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ftm-qlora-'));
  baseDir = convertStories260K(root);
  const model = await loadModelFolder(baseDir);
  const renderer = new Renderer(model.tokenizer, 'all');
  const validation = readFileSync(join(STYLE_STORIES, 'validation.jsonl'), 'utf8').trim().split('\n').slice(0, 4);
  rows = validation.map((line, i) => renderer.sft({ text: (JSON.parse(line) as { text: string }).text }, 'text', { file: 'validation', line: i + 1 }).ids.slice(0, 96));
  for (const approach of ['lora', 'qlora'] as const) {
    const sink = memorySink();
    const spec = makeSpec({
      root,
      job_id: `job_${approach}`,
      approach,
      modelDir: baseDir,
      train: join(STYLE_STORIES, 'train.jsonl'),
      validation: join(STYLE_STORIES, 'validation.jsonl'),
      task_type: 'text',
      hyper: { max_steps: 100, epochs: 0, max_seq_length: 128, eval_steps: 50, learning_rate: 5e-3, target_modules: 'all-linear', seed: 7 },
    });
    let trainedLogps = new Float32Array();
    const result = await runJob(spec, sink, {
      threads: 2,
      afterTraining: async (s, params, seqLen) => {
        trainedLogps = await s.sequenceLogps(sftBatch(rows.map((ids) => ({ ids, mask: ids.map((_, t) => (t === 0 ? 0 : 1)) })), 4, seqLen, 0), params);
      },
    });
    runs[approach] = { sink, result, trainedLogps };
  }
}, 240_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fmt = (xs: Float32Array) => [...xs].map((x) => x.toFixed(1)).join(' ');
const meanTail = (series: Array<[number, number]>, n: number) => series.slice(-n).reduce((a, [, v]) => a + v, 0) / n;

describe('QLoRA on stories260K against LoRA, same data and seed', () => {
  it('trains 100 steps to a loss within 10 % of LoRA’s', () => {
    for (const approach of ['lora', 'qlora'] as const) {
      expect(runs[approach].result.outcome.reason).toBe('completed');
      expect(runs[approach].sink.series('loss').at(-1)![0]).toBe(100);
    }
    const lora = runs.lora.sink.series('loss');
    const qlora = runs.qlora.sink.series('loss');
    expect(qlora[0]![1]).toBeGreaterThan(meanTail(qlora, 10) * 1.5); // it learned
    expect(Math.abs(meanTail(qlora, 10) - meanTail(lora, 10)) / meanTail(lora, 10)).toBeLessThan(0.1);
    const evalLora = runs.lora.sink.series('eval_loss').at(-1)![1];
    const evalQlora = runs.qlora.sink.series('eval_loss').at(-1)![1];
    expect(Math.abs(evalQlora - evalLora) / evalLora).toBeLessThan(0.1);
    console.info(`stories260K, 100 steps, all-linear r 8: train loss (mean of last 10) LoRA ${meanTail(lora, 10).toFixed(4)}, QLoRA ${meanTail(qlora, 10).toFixed(4)}; eval loss LoRA ${evalLora.toFixed(4)}, QLoRA ${evalQlora.toFixed(4)}`);
  });

  it('writes a PEFT adapter exactly as LoRA’s, which loads through the same loader', async () => {
    const dirs = { lora: runs.lora.result.adapter_dir!, qlora: runs.qlora.result.adapter_dir! };
    for (const dir of Object.values(dirs)) for (const f of ['adapter_config.json', 'adapter_model.safetensors']) expect(existsSync(join(dir, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(dirs.qlora, 'adapter_config.json'), 'utf8'))).toEqual(JSON.parse(readFileSync(join(dirs.lora, 'adapter_config.json'), 'utf8')));
    const header = (dir: string) => {
      const buf = readFileSync(join(dir, 'adapter_model.safetensors'));
      const json = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype: string; shape: number[] }>;
      return Object.fromEntries(Object.entries(json).filter(([k]) => k !== '__metadata__').map(([k, v]) => [k, [v.dtype, v.shape]]));
    };
    expect(header(dirs.qlora)).toEqual(header(dirs.lora));
    // the same loader, onto the NF4 round trip of the base: exactly the model that was trained
    const model = await loadModelFolder(baseDir);
    const nf4Base = { ...model, weights: dequantizedLinears(model.weights, LINEAR_MODULES.llama, false) };
    const asTrained = await scoreSequences(await loadRuntimeModel(nf4Base, { adapter_dir: dirs.qlora, threads: 2 }), { input_ids: rows });
    const merged = await scoreSequences(await loadRuntimeModel(runs.qlora.result.merged_dir, { threads: 2 }), { input_ids: rows });
    // and onto the float32 base, as PEFT does with a float base
    const onFloat = await scoreSequences(await loadRuntimeModel(baseDir, { adapter_dir: dirs.qlora, threads: 2 }), { input_ids: rows });
    const base = await scoreSequences(await loadRuntimeModel(baseDir, { threads: 2 }), { input_ids: rows });
    runs.qlora.trainedLogps.forEach((trained, i) => {
      expect(Math.abs(asTrained.logps[i]! - trained) / Math.abs(trained)).toBeLessThan(1e-4);
      expect(Math.abs(merged.logps[i]! - trained) / Math.abs(trained)).toBeLessThan(1e-4);
      expect(onFloat.logps[i]!).toBeGreaterThan(base.logps[i]!);
    });
    console.info(`stories260K held-out log-prob sums: base ${fmt(base.logps)}; QLoRA as trained (NF4 base) ${fmt(asTrained.logps)}; QLoRA adapter on the float32 base ${fmt(onFloat.logps)}; LoRA ${fmt(runs.lora.trainedLogps)}`);
  });

  it('holds the frozen linear weights as NF4 in the session: measured bytes against float32', () => {
    const started = (approach: 'lora' | 'qlora') => runs[approach].sink.events.find((e) => e.type === 'training_started')!.data!;
    const q = started('qlora').quantized as { weights: number; nf4_bytes: number; float32_bytes: number };
    expect(q.weights).toBe(35); // 5 layers × 7 linear modules
    expect(q.nf4_bytes / q.float32_bytes).toBeLessThan(0.15);
    const saved = (started('lora').session_weight_bytes as number) - (started('qlora').session_weight_bytes as number);
    // the session lost the float32 linear weights and gained their NF4 codes, scales and two 1 KB tables
    expect(Math.abs(saved - (q.float32_bytes - q.nf4_bytes))).toBeLessThan(4096);
    console.info(`session weight bytes: LoRA ${started('lora').session_weight_bytes as number}, QLoRA ${started('qlora').session_weight_bytes as number}; linear weights NF4 ${q.nf4_bytes} vs float32 ${q.float32_bytes}`);
  });
});
