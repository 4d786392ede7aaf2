import { defineConfig } from 'vitest/config';

/**
 * Two projects. `unit` is what a developer runs while working (`npm run test:unit`, no build needed);
 * `npm test` (and CI through .ci/run) runs both.
 * The rule for `unit`: the file starts no built server, no child process, no worker (thread or process),
 * no training job and no model on ONNX Runtime, and it took at most ~6 s here (2 shared cores) in a
 * `vitest run --reporter=json` measurement. Everything else is `lifecycle`, and so is a new file until
 * it is measured and listed here: a slow test then slows only the long run.
 */
const UNIT = [
  'test/bench/torch-runtime.test.ts',
  'test/config.test.ts',
  'test/datasets/clean.test.ts',
  'test/datasets/derived-tokenizer.test.ts',
  'test/datasets/duplicates.test.ts',
  'test/datasets/export.test.ts',
  'test/datasets/feedback.test.ts',
  'test/datasets/pii-phones.test.ts',
  'test/datasets/split.test.ts',
  'test/datasets/text-separator.test.ts',
  'test/datasets/validate.test.ts',
  'test/datasets/version-writer.test.ts',
  'test/datasets/whitespace.test.ts',
  'test/evaluation/bleu.test.ts',
  'test/evaluation/bootstrap.test.ts',
  'test/evaluation/chrf.test.ts',
  'test/evaluation/classification.test.ts',
  'test/evaluation/gates.test.ts',
  'test/evaluation/numpy-random.test.ts',
  'test/evaluation/rouge.test.ts',
  'test/evaluation/score-outputs.test.ts',
  'test/evaluation/squad.test.ts',
  'test/evaluation/tricky-strings.test.ts',
  'test/hostile/fuzz-findings.test.ts',
  'test/hostile/system-errors.test.ts',
  'test/hostile/token-count.test.ts',
  'test/hostile/tokenizers.test.ts',
  'test/models/hostile-weights.test.ts',
  'test/models/load-model.test.ts',
  'test/models/model-config.test.ts',
  'test/models/peft.test.ts',
  'test/models/safetensors.test.ts',
  'test/models/settings.test.ts',
  'test/models/tokenizer.test.ts',
  'test/phoenix/extract-tool.test.ts',
  'test/phoenix/phoenix.test.ts',
  'test/plugins/host.test.ts',
  'test/registry/governance.test.ts',
  'test/registry/small-results.test.ts',
  'test/remote/openai-plan.test.ts',
  'test/remote/openai-preflight.test.ts',
  'test/remote/together.test.ts',
  'test/server/http-origin.test.ts',
  'test/server/in-memory.test.ts',
  'test/server/server-info-compact.test.ts',
  'test/server/server-info-runtimes.test.ts',
  'test/server/tool-annotations.test.ts',
  'test/smoke.test.ts',
  'test/training/configure.test.ts',
  'test/training/hosted-estimate.test.ts',
  'test/training/ledger.test.ts',
  'test/training/plan-result.test.ts',
  'test/training/tool-schemas.test.ts',
  'test/training/worker-disk-full.test.ts',
  'test/workspace/migrations-import-order.test.ts',
];

const shared = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    // Two cores here and in CI: two workers keep the suite fast without oversubscribing ONNX Runtime.
    maxWorkers: 2,
    projects: [
      { test: { ...shared, name: 'unit', include: UNIT } },
      { test: { ...shared, name: 'lifecycle', include: ['test/**/*.test.ts', 'plugins/**/*.test.ts'], exclude: UNIT } },
    ],
  },
});
