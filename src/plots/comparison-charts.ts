import { type BarChart, barChartSpec } from './bar-chart.js';
import { renderPlot } from './render.js';

/** What compare_models measured per candidate and metric (its `deltas`). */
interface ModelDelta {
  model: string;
  metric: string;
  delta: number;
  ci: [number, number];
  significant: boolean;
  direction: 'better' | 'worse' | 'same';
}

const BETTER = 'better (p < 0.05)';
const WORSE = 'worse (p < 0.05)';
const NOT_SIGNIFICANT = 'no significant change';

/** compare_models: per metric, each candidate's change against the baseline with its paired-bootstrap interval. */
export function modelComparisonChart(o: { baseline: string; cases: number; deltas: ModelDelta[] }): BarChart {
  return {
    title: `Change against ${o.baseline} on ${o.cases} case${o.cases === 1 ? '' : 's'}`,
    subtitle: 'bar: candidate − baseline in the metric’s own unit; whisker: 95 % paired-bootstrap interval',
    value_title: 'candidate − baseline',
    keys: [
      { key: BETTER, colour: '#2ca02c' },
      { key: WORSE, colour: '#d62728' },
      { key: NOT_SIGNIFICANT, colour: '#9e9e9e' },
    ],
    bars: o.deltas.map((d) => ({
      panel: d.metric,
      label: d.model,
      value: d.delta,
      low: d.ci[0],
      high: d.ci[1],
      key: !d.significant || d.direction === 'same' ? NOT_SIGNIFICANT : d.direction === 'better' ? BETTER : WORSE,
    })),
  };
}

/** compare_versions: per metric, both versions' values, with the interval their evaluation stored where there is one. */
export function versionComparisonChart(o: {
  a: string;
  b: string;
  metrics: Array<{ metric: string; a: number | null; b: number | null }>;
  intervals: { a: Record<string, { low: number; high: number }>; b: Record<string, { low: number; high: number }> };
}): BarChart {
  const bars: BarChart['bars'] = [];
  for (const m of o.metrics) {
    for (const side of ['a', 'b'] as const) {
      const value = m[side];
      if (value === null || !Number.isFinite(value)) continue;
      const interval = o.intervals[side][m.metric];
      bars.push({ panel: m.metric, label: o[side], value, low: interval?.low, high: interval?.high, key: o[side] });
    }
  }
  const withInterval = bars.some((b) => b.low !== undefined);
  return {
    title: `${o.a} against ${o.b}`,
    subtitle: withInterval ? 'bar: the version’s recorded value; whisker: 95 % bootstrap interval from its evaluation' : 'bar: the version’s recorded value (no evaluation interval was stored for these metrics)',
    value_title: 'value',
    keys: [
      { key: o.a, colour: '#7f7f7f' },
      { key: o.b, colour: '#1f77b4' },
    ],
    bars,
  };
}

/** compare_models' chart as PNG bytes. */
export async function modelComparisonPng(o: Parameters<typeof modelComparisonChart>[0]): Promise<Uint8Array> {
  return (await renderPlot(barChartSpec(modelComparisonChart(o)))).png;
}

/** compare_versions' chart as PNG bytes. */
export async function versionComparisonPng(o: Parameters<typeof versionComparisonChart>[0]): Promise<Uint8Array> {
  return (await renderPlot(barChartSpec(versionComparisonChart(o)))).png;
}
