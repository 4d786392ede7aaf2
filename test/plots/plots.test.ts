import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { learningRateAt } from '../../plugins/local/trainer/schedule.js';
import { barChartSpec } from '../../src/plots/bar-chart.js';
import { modelComparisonChart, versionComparisonChart } from '../../src/plots/comparison-charts.js';
import { renderPlot } from '../../src/plots/render.js';
import { trainingCurvesSpec } from '../../src/plots/training-curves.js';
import { compareModelsTool } from '../../tools/compare-models.js';
import { compareVersionsTool } from '../../tools/compare-versions.js';
import { registerModelTool } from '../../tools/register-model.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { insertEvaluation, makeSucceededJob, writeDatasetVersion } from '../registry/records.js';

/** The text of every <text> element of an SVG, entities decoded. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"'));
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg[^>]*\bwidth="(\d+(?:\.\d+)?)"[^>]*\bheight="(\d+(?:\.\d+)?)"/.exec(svg)!;
  return { width: Math.round(Number(m[1])), height: Math.round(Number(m[2])) };
}

/** Pixels in a rectangle that are not (near) white: text and lines drawn there. */
function inkIn(png: PNG, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      if (png.data[i] < 160 && png.data[i + 1] < 160 && png.data[i + 2] < 160) n++;
    }
  return n;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// The SFT run recorded with the local trainer (test/fixtures/loss-series/SOURCE.md): 100 steps, lr 3e-3.
const SFT = JSON.parse(readFileSync(new URL('../fixtures/loss-series/sft-llamafactory-demo.json', import.meta.url), 'utf8')) as { loss: number[]; hyperparameters: { learning_rate: number } };

function sftCurves() {
  const train = SFT.loss.map((value, i) => ({ step: i + 1, value }));
  // The recording has no eval loss (eval_steps 0): as a stand-in, every 20 steps the mean train loss of those 20 steps.
  const evals = [20, 40, 60, 80, 100].map((step) => ({ step, value: train.slice(step - 20, step).reduce((a, p) => a + p.value, 0) / 20 }));
  // The rate the local trainer's linear schedule gives those 100 steps with 10 warm-up steps.
  const schedule = { kind: 'linear' as const, base_lr: SFT.hyperparameters.learning_rate, warmup_steps: 10, total_steps: 100 };
  const learning_rate = train.map((p) => ({ step: p.step, value: learningRateAt(schedule, p.step - 1) }));
  return { title: 'Training curves · SFT on alpaca_en_demo (recorded run)', train_loss: train, eval_loss: evals, learning_rate };
}

describe('plots', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('training curves: axis titles, tick labels, legend and title in the SVG; a PNG with text in its axis areas', async () => {
    const started = performance.now();
    const { svg, png } = await renderPlot(trainingCurvesSpec(sftCurves()));
    const ms = performance.now() - started;
    const texts = svgTexts(svg);
    expect(texts).toContain('Training curves · SFT on alpaca_en_demo (recorded run)');
    expect(texts).toEqual(expect.arrayContaining(['train loss', 'eval loss'])); // legend
    expect(texts).toEqual(expect.arrayContaining(['step (optimizer updates)', 'loss', 'learning rate'])); // axis titles
    expect(texts).toEqual(expect.arrayContaining(['20', '40', '60', '80', '100'])); // step ticks
    expect(texts).toEqual(expect.arrayContaining(['3', '3.5', '4'])); // loss ticks (the run spans 2.4–4.6)
    expect(texts).toEqual(expect.arrayContaining(['0.001', '0.002'])); // learning-rate ticks

    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    const image = PNG.sync.read(Buffer.from(png));
    // The PNG is the SVG cropped to what is drawn.
    expect(image.width).toBeLessThanOrEqual(svgSize(svg).width);
    expect(image.height).toBeLessThanOrEqual(svgSize(svg).height);
    expect(image.width).toBeGreaterThan(600);
    expect(image.height).toBeGreaterThan(400);
    // Text was drawn (not only lines): the y-axis title and tick labels occupy the left strip, the
    // step tick labels and x-axis title the bottom strip, the title the top strip.
    expect(inkIn(image, 0, 80, 50, image.height - 60)).toBeGreaterThan(300);
    expect(inkIn(image, 60, image.height - 40, image.width, image.height)).toBeGreaterThan(300);
    expect(inkIn(image, 0, 0, 300, 24)).toBeGreaterThan(300);

    const dir = mkdtempSync(join(tmpdir(), 'ftm-plots-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'loss-curve.png'), png);
    writeFileSync(join(dir, 'loss-curve.svg'), svg);
    // The example in the docs: `UPDATE_DOC_IMAGES=1 npx vitest run test/plots/plots.test.ts` rewrites it.
    if (process.env.UPDATE_DOC_IMAGES) {
      mkdirSync(new URL('../../docs/images/', import.meta.url), { recursive: true });
      writeFileSync(new URL('../../docs/images/loss-curve.png', import.meta.url), png);
    }
    console.error(`training curves: ${png.length} B PNG, ${svg.length} B SVG, ${image.width}×${image.height}, ${ms.toFixed(0)} ms (first render, vega loaded)`);
  });

  it('a job with no loss yet says so instead of drawing empty axes, and NaN steps break the line', async () => {
    const empty = svgTexts((await renderPlot(trainingCurvesSpec({ title: 'job_x', train_loss: [] }))).svg);
    expect(empty).toContain('no loss recorded yet');
    const { svg } = await renderPlot(trainingCurvesSpec({ title: 'job_y', train_loss: [{ step: 1, value: 2 }, { step: 2, value: Number.NaN }, { step: 3, value: 1.5 }, { step: 4, value: Number.POSITIVE_INFINITY }] }));
    const texts = svgTexts(svg);
    expect(texts).not.toContain('no loss recorded yet');
    expect(texts).not.toContain('learning rate'); // no lr series, no second panel
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('comparison bars: one panel per metric, bars per model, whiskers only where an interval exists', async () => {
    const chart = versionComparisonChart({
      a: 'bot@1.0.0',
      b: 'bot@1.1.0',
      metrics: [
        { metric: 'perplexity', a: 12.3, b: 9.8 },
        { metric: 'rouge_l', a: 0.31, b: null },
      ],
      intervals: { a: {}, b: { perplexity: { low: 9.1, high: 10.6 } } },
    });
    expect(chart.bars).toEqual([
      { panel: 'perplexity', label: 'bot@1.0.0', value: 12.3, low: undefined, high: undefined, key: 'bot@1.0.0' },
      { panel: 'perplexity', label: 'bot@1.1.0', value: 9.8, low: 9.1, high: 10.6, key: 'bot@1.1.0' },
      { panel: 'rouge_l', label: 'bot@1.0.0', value: 0.31, low: undefined, high: undefined, key: 'bot@1.0.0' },
    ]);
    const { svg, png } = await renderPlot(barChartSpec(chart));
    const texts = svgTexts(svg);
    expect(texts).toEqual(expect.arrayContaining(['bot@1.0.0 against bot@1.1.0', 'perplexity', 'rouge_l', 'bot@1.0.0', 'bot@1.1.0', '12.3', '9.8', '0.31', 'value']));
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);

    const none = svgTexts((await renderPlot(barChartSpec({ ...chart, bars: [{ panel: 'bleu', label: 'x', value: Number.NaN, key: 'bot@1.0.0' }] }))).svg);
    expect(none).toContain('no metric values to chart');
    expect(none).not.toContain('bleu');
  });
});

describe('charts from the tools', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('compare_models {include_chart: true} attaches a PNG of the deltas with their intervals', async () => {
    t = await connectTestClient();
    const path = join(t.home, 'outputs.jsonl');
    const rows = ['the cat sat on the mat', 'a dog ran in the park', 'birds sing in the morning', 'the sun is warm today', 'rain falls on the roof', 'we read a book together'];
    writeFileSync(path, rows.map((reference, i) => JSON.stringify({ prompt: `p${i}`, reference, outputs: { base: reference.split(' ').slice(0, 3).join(' '), tuned: reference } })).join('\n'));
    const args = { outputs_path: path, baseline: 'base', metrics: ['bleu', 'rouge_l'], judge: 'none' };
    const plain = await t.call('compare_models', args);
    expect(plain.content.some((c) => c.type === 'image')).toBe(false);
    const withChart = await t.call('compare_models', { ...args, include_chart: true });
    const out = z.object(compareModelsTool.output).parse(withChart.structuredContent);
    const image = withChart.content.find((c) => c.type === 'image') as { data: string; mimeType: string };
    expect(image.mimeType).toBe('image/png');
    const png = PNG.sync.read(Buffer.from(image.data, 'base64'));
    // The attached image is the rendering of this chart of the tool's own deltas.
    const { svg, png: expected } = await renderPlot(barChartSpec(modelComparisonChart(out)));
    expect(Buffer.from(image.data, 'base64').equals(Buffer.from(expected))).toBe(true);
    expect(png.width).toBeLessThanOrEqual(svgSize(svg).width);
    expect(svgTexts(svg)).toEqual(expect.arrayContaining(['Change against base on 6 cases', 'bleu', 'rouge_l', 'tuned', 'candidate − baseline']));
  });

  it('compare_versions {include_chart: true} draws each version with the interval its evaluation stored', async () => {
    t = await connectTestClient();
    writeDatasetVersion(t.services, 'ds_a', 'a'.repeat(64));
    const job = (lr: number) => makeSucceededJob(t.services, { dataset_id: 'ds_a', learning_rate: lr, losses: [2, 1.5], seed: 1 });
    const evalA = insertEvaluation(t.services, { rouge_l: 0.31 }, { rouge_l: { low: 0.28, high: 0.34 } });
    const evalB = insertEvaluation(t.services, { rouge_l: 0.36, accuracy: 0.5 }, { rouge_l: { low: 0.33, high: 0.39 } });
    await t.callOk(registerModelTool, { name: 'm', version: '1.0.0', job_id: job(1e-4), evaluation_ids: [evalA] });
    // accuracy passed by hand overrides the evaluation's value, so its interval no longer applies.
    await t.callOk(registerModelTool, { name: 'm', version: '1.1.0', job_id: job(3e-4), evaluation_ids: [evalB], metrics: { accuracy: 0.7 } });
    const { registryOf } = await import('../../src/registry/index.js');
    const registry = registryOf(t.services);
    expect(registry.metricIntervals(registry.get({ name: 'm', version: '1.1.0' }))).toEqual({ rouge_l: { low: 0.33, high: 0.39 } });
    const result = await t.call('compare_versions', { name: 'm', version_a: '1.0.0', version_b: '1.1.0', include_chart: true });
    expect(result.isError).toBeFalsy();
    const out = z.object(compareVersionsTool.output).parse(result.structuredContent);
    expect(out.metrics.find((m) => m.metric === 'rouge_l')).toMatchObject({ a: 0.31, b: 0.36 });
    const image = result.content.find((c) => c.type === 'image') as { data: string; mimeType: string };
    expect(image.mimeType).toBe('image/png');
    const intervals = { a: { rouge_l: { low: 0.28, high: 0.34 } }, b: { rouge_l: { low: 0.33, high: 0.39 } } };
    const { svg, png } = await renderPlot(barChartSpec(versionComparisonChart({ ...out, intervals })));
    expect(Buffer.from(image.data, 'base64').equals(Buffer.from(png))).toBe(true);
    expect(svgTexts(svg)).toEqual(expect.arrayContaining(['m@1.0.0 against m@1.1.0', 'rouge_l', 'accuracy', 'loss', '0.36', '0.7']));
  });
});
