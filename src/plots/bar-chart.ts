import type { Spec } from 'vega';
import { PLOT_CONFIG } from './render.js';

/** One bar: its panel (a metric), its label on the band axis (a model), its value and interval. */
interface Bar {
  panel: string;
  label: string;
  value: number;
  /** 95 % interval of the value, when one was measured; the whisker is left out otherwise. */
  low?: number | null;
  high?: number | null;
  /** Legend entry (and colour) of the bar, e.g. "better (p < 0.05)". */
  key: string;
}

export interface BarChart {
  title: string;
  subtitle?: string;
  /** Title of every panel's value axis, with its unit, e.g. "candidate − baseline". */
  value_title: string;
  bars: Bar[];
  /** Legend entries in order with their colours. */
  keys: Array<{ key: string; colour: string }>;
  width?: number;
}

const BAND = 26;

/**
 * Horizontal bars with interval whiskers, one panel per metric (metrics have different scales, so
 * each panel has its own value axis, always through zero), bars labelled by model, a zero rule, and
 * the value printed in a column right of the panel (beside a bar it would collide with a whisker or a label).
 */
export function barChartSpec(chart: BarChart): Spec {
  const width = chart.width ?? 560;
  // A metric that came out NaN (e.g. no case scored) has no bar to draw; its number is in the tool's text.
  const rows = chart.bars.filter((b) => Number.isFinite(b.value)).map((b) => ({
    ...b,
    low: Number.isFinite(b.low) ? b.low : null,
    high: Number.isFinite(b.high) ? b.high : null,
    text: formatValue(b.value),
  }));
  const used = chart.keys.filter((k) => rows.some((r) => r.key === k.key));
  const keys = used.length ? used : chart.keys.slice(0, 1);
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    autosize: 'pad',
    config: PLOT_CONFIG,
    title: { text: chart.title, ...(chart.subtitle ? { subtitle: chart.subtitle } : {}) },
    layout: { columns: 1, padding: 22, bounds: 'full', align: 'each' },
    data: [{ name: 'bars', values: rows }],
    scales: [{ name: 'colour', type: 'ordinal', domain: keys.map((k) => k.key), range: keys.map((k) => k.colour) }],
    legends: [{ fill: 'colour', orient: 'top', direction: 'horizontal', symbolType: 'square', columnPadding: 16, labelLimit: 400 }],
    marks: [
      ...(rows.length ? [] : [{ type: 'text', encode: { enter: { x: { value: 0 }, y: { value: 20 }, text: { value: 'no metric values to chart' }, fontSize: { value: 13 }, fill: { value: '#777' } } } }]),
      {
        type: 'group',
        from: { facet: { name: 'panel', data: 'bars', groupby: 'panel', aggregate: { ops: ['count'], as: ['bars'] } } },
        title: { text: { signal: 'parent.panel' }, anchor: 'start', fontSize: 13, offset: 6 },
        encode: { enter: { width: { value: width }, height: { signal: `datum.bars * ${BAND}` } } },
        data: [{ name: 'extent', source: 'panel', transform: [{ type: 'fold', fields: ['value', 'low', 'high'] }, { type: 'filter', expr: 'datum.value != null' }] }],
        scales: [
          { name: 'x', type: 'linear', domain: { data: 'extent', field: 'value' }, range: [0, width], zero: true, nice: true },
          { name: 'y', type: 'band', domain: { data: 'panel', field: 'label' }, range: { step: BAND }, paddingInner: 0.3, paddingOuter: 0.15 },
        ],
        axes: [
          { orient: 'bottom', scale: 'x', gridScale: 'y', grid: true, tickCount: 5, format: '~g', title: chart.value_title },
          { orient: 'left', scale: 'y', labelLimit: 220, labelFontSize: 12 },
        ],
        marks: [
          {
            type: 'rect',
            from: { data: 'panel' },
            encode: { enter: { x: { scale: 'x', field: 'value' }, x2: { scale: 'x', value: 0 }, y: { scale: 'y', field: 'label' }, height: { scale: 'y', band: 1 }, fill: { scale: 'colour', field: 'key' }, opacity: { value: 0.85 } } },
          },
          { type: 'rule', encode: { enter: { x: { scale: 'x', value: 0 }, y: { value: 0 }, y2: { signal: `parent.bars * ${BAND}` }, stroke: { value: '#333' }, strokeWidth: { value: 1 } } } },
          ...whiskers(),
          {
            type: 'text',
            from: { data: 'panel' },
            encode: {
              enter: {
                x: { value: width },
                dx: { value: 8 },
                align: { value: 'left' },
                y: { scale: 'y', field: 'label', band: 0.5 },
                baseline: { value: 'middle' },
                text: { field: 'text' },
                fontSize: { value: 11 },
                fill: { value: '#222' },
              },
            },
          },
        ],
      },
    ],
  } as Spec;
}

/** The interval as a rule with end caps, only on bars that have one. */
function whiskers(): object[] {
  const withInterval = { data: 'panel' };
  const shown = { signal: 'datum.low != null && datum.high != null ? 1 : 0' };
  const cap = (field: 'low' | 'high') => ({
    type: 'rule',
    from: withInterval,
    encode: { enter: { x: { scale: 'x', field }, y: { scale: 'y', field: 'label', band: 0.25 }, y2: { scale: 'y', field: 'label', band: 0.75 }, stroke: { value: '#111' }, strokeWidth: { value: 1.5 }, opacity: shown } },
  });
  return [
    {
      type: 'rule',
      from: withInterval,
      encode: { enter: { x: { scale: 'x', field: 'low' }, x2: { scale: 'x', field: 'high' }, y: { scale: 'y', field: 'label', band: 0.5 }, stroke: { value: '#111' }, strokeWidth: { value: 1.5 }, opacity: shown } },
    },
    cap('low'),
    cap('high'),
  ];
}

/** Three significant digits, small and large numbers in exponent form. */
function formatValue(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}
