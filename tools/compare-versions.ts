import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

export const compareVersionsTool = defineTool({
  name: 'compare_versions',
  title: 'Compare two model versions',
  description:
    'Compares two registered versions of a model side by side from their records (no new inference): per-metric values, ' +
    'delta (b − a) and which is better by its declared direction (lower for loss/perplexity/memory, higher for scores and win-rates; ' +
    '"unknown" for context values such as learning_rate and for metrics of unknown direction), lineage and hyperparameter differences, and ' +
    'whether the weights are identical. To measure both on the same cases, use compare_models instead.',
  input: {
    name: z.string().describe('Model name, e.g. "support-bot".'),
    version_a: z.string().describe('Earlier or baseline version, e.g. "1.0.0".'),
    version_b: z.string().describe('Candidate version, e.g. "1.1.0".'),
    include_chart: z.boolean().default(false).describe('Attach a PNG bar chart of both versions per metric, with the 95 % interval of the evaluation behind each value where one was stored. Default false.'),
  },
  output: {
    a: z.string().describe('name@version of a.'),
    b: z.string().describe('name@version of b.'),
    metrics: z
      .array(
        z.object({
          metric: z.string().describe('Metric name, e.g. "perplexity".'),
          a: z.number().nullable().describe('Value for a, null when missing.'),
          b: z.number().nullable().describe('Value for b, null when missing.'),
          delta: z.number().nullable().describe('b − a, e.g. -0.4.'),
          better: z.enum(['a', 'b', 'same', 'unknown']).describe('Which version is better on it; "unknown" when one lacks it or the metric has no better direction.'),
        }),
      )
      .describe('Every metric either version has.'),
    lineage_differences: z.array(z.object({ field: z.string().describe('Lineage field, e.g. "dataset_hash".'), a: z.unknown().describe('Value for a.'), b: z.unknown().describe('Value for b.') })).describe('Lineage fields that differ.'),
    hyperparameter_differences: z.array(z.object({ field: z.string().describe('Hyperparameter, e.g. "learning_rate".'), a: z.unknown().describe('Value for a.'), b: z.unknown().describe('Value for b.') })).describe('Training hyperparameters that differ.'),
    same_weights: z.boolean().describe('True when both versions hold byte-identical weights.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, ctx) {
    const [{ compareVersions }, { registryOf }] = await Promise.all([import('../src/registry/compare-versions.js'), import('../src/registry/index.js')]);
    const registry = registryOf(ctx.services);
    const [a, b] = [registry.get({ name: args.name, version: args.version_a }), registry.get({ name: args.name, version: args.version_b })];
    const result = compareVersions(a, b);
    if (args.include_chart) {
      const intervals = { a: registry.metricIntervals(a), b: registry.metricIntervals(b) };
      ctx.attachImage(await (await import('../src/plots/comparison-charts.js')).versionComparisonPng({ ...result, intervals }));
    }
    return result;
  },
  summarize: (o) =>
    `${o.a} vs ${o.b}: ` +
    (o.metrics.filter((m) => m.delta !== null).map((m) => `${m.metric} ${m.delta! >= 0 ? '+' : ''}${m.delta!.toPrecision(3)} (${m.better} better)`).join(', ') || 'no shared metrics') +
    '.',
});
