import type { Spec } from 'vega';
import { PLOT_CONFIG } from './render.js';

/** One point of a metric series, as the job ledger stores it (value NaN/∞ when the trainer reported one). */
interface SeriesPoint {
  step: number;
  value: number;
}

interface TrainingCurves {
  /** Shown as the plot's title, e.g. "job_01j… · training loss". */
  title: string;
  train_loss: SeriesPoint[];
  eval_loss?: SeriesPoint[];
  /** Learning rate per step: drawn on a second panel under the loss when present. */
  learning_rate?: SeriesPoint[];
  width?: number;
}

const TRAIN_LOSS = 'train loss';
const EVAL_LOSS = 'eval loss';
const LOSS_H = 280;
const LR_H = 110;
const COLOURS = { [TRAIN_LOSS]: '#1f77b4', [EVAL_LOSS]: '#e6550d' };

/**
 * A Vega spec of a job's curves: train and eval loss against step on one panel (legend, eval points
 * marked since evals are sparse), the learning rate on a panel below with the same step axis.
 * Non-finite values (a diverged step) break the line instead of stretching the axis to infinity.
 */
export function trainingCurvesSpec(curves: TrainingCurves): Spec {
  const width = curves.width ?? 640;
  const rows = (series: string, points: SeriesPoint[] = []) => points.map((p) => ({ series, step: p.step, value: Number.isFinite(p.value) ? p.value : null }));
  const loss = [...rows(TRAIN_LOSS, curves.train_loss), ...rows(EVAL_LOSS, curves.eval_loss)];
  const lr = rows('learning rate', curves.learning_rate);
  const steps = [...loss, ...lr].map((r) => r.step);
  const stepDomain = steps.length ? [Math.min(...steps), Math.max(Math.min(...steps) + 1, ...steps)] : [0, 1];
  const present = [TRAIN_LOSS, EVAL_LOSS].filter((s) => loss.some((r) => r.series === s));
  const stepScale = { name: 'step', type: 'linear', domain: stepDomain, range: [0, width], nice: false, zero: false };
  const stepAxis = (title: boolean, across: string) => ({ orient: 'bottom', scale: 'step', gridScale: across, title: title ? 'step (optimizer updates)' : null, grid: true, tickCount: 8, tickMinStep: 1, format: '~s' });
  const onLoss = { x: { scale: 'step', field: 'step' }, y: { scale: 'loss', field: 'value' } };
  const lossPanel = {
    type: 'group',
    encode: { enter: { width: { value: width }, height: { value: LOSS_H } } },
    data: [
      { name: 'loss', values: loss },
      { name: 'loss_finite', source: 'loss', transform: [{ type: 'filter', expr: 'datum.value != null' }] },
      { name: 'eval_points', source: 'loss_finite', transform: [{ type: 'filter', expr: `datum.series === '${EVAL_LOSS}'` }] },
    ],
    scales: [
      stepScale,
      { name: 'loss', type: 'linear', domain: { data: 'loss_finite', field: 'value' }, range: [LOSS_H, 0], nice: true, zero: false, padding: 8 },
      { name: 'colour', type: 'ordinal', domain: present.length ? present : [TRAIN_LOSS], range: (present.length ? present : [TRAIN_LOSS]).map((s) => COLOURS[s as keyof typeof COLOURS]) },
    ],
    axes: [
      { ...stepAxis(!lr.length, 'loss'), labels: !lr.length },
      { orient: 'left', scale: 'loss', gridScale: 'step', title: 'loss', grid: true, tickCount: 6, format: '.3~f' },
    ],
    legends: [{ stroke: 'colour', fill: 'colour', orient: 'top', direction: 'horizontal', symbolType: 'stroke', symbolStrokeWidth: 3, labelFontSize: 12, columnPadding: 16, offset: 6, labelLimit: 400 }],
    marks: [
      {
        type: 'group',
        from: { facet: { name: 'by_series', data: 'loss', groupby: 'series' } },
        marks: [
          {
            type: 'line',
            from: { data: 'by_series' },
            encode: {
              enter: {
                ...onLoss,
                defined: { signal: 'datum.value != null' },
                stroke: { scale: 'colour', field: 'series' },
                strokeWidth: { value: 1.8 },
              },
            },
          },
        ],
      },
      {
        type: 'symbol',
        from: { data: 'eval_points' },
        encode: { enter: { ...onLoss, fill: { scale: 'colour', field: 'series' }, size: { value: 36 } } },
      },
      ...(loss.some((r) => r.value !== null)
        ? []
        : [{ type: 'text', encode: { enter: { x: { value: width / 2 }, y: { value: LOSS_H / 2 }, align: { value: 'center' }, text: { value: 'no loss recorded yet' }, fontSize: { value: 13 }, fill: { value: '#777' } } } }]),
    ],
  };
  const lrPanel = {
    type: 'group',
    encode: { enter: { width: { value: width }, height: { value: LR_H } } },
    data: [{ name: 'lr', values: lr, transform: [{ type: 'filter', expr: 'datum.value != null' }] }],
    scales: [stepScale, { name: 'lr', type: 'linear', domain: { data: 'lr', field: 'value' }, range: [LR_H, 0], nice: true, zero: true }],
    axes: [stepAxis(true, 'lr'), { orient: 'left', scale: 'lr', gridScale: 'step', title: 'learning rate', grid: true, tickCount: 3, format: '.2~g' }],
    marks: [{ type: 'line', from: { data: 'lr' }, encode: { enter: { x: { scale: 'step', field: 'step' }, y: { scale: 'lr', field: 'value' }, stroke: { value: '#2ca02c' }, strokeWidth: { value: 1.8 } } } }],
  };
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    autosize: 'pad',
    config: PLOT_CONFIG,
    title: { text: curves.title, subtitle: lr.length ? 'loss (top) and learning rate (bottom) against training step' : 'loss against training step' },
    layout: { columns: 1, padding: 14, bounds: 'flush', align: 'each' },
    marks: lr.length ? [lossPanel, lrPanel] : [lossPanel],
  } as Spec;
}
