import { afterEach, describe, expect, it } from 'vitest';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { estimateResourcesTool } from '../../tools/estimate-resources.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { writeTestDataset } from './datasets.js';

describe('plan_training result size', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('gives the verdict, reasons and headline figures; detail adds the whole estimate and validation', async () => {
    t = await connectTestClient({ plugins: [testBackendPlugin({ name: 'openai', mode: 'remote', capabilities: { devices: ['A100-80GB'], approaches: ['lora', 'qlora', 'full'] } })] });
    const dataset_id = writeTestDataset(t.home, { rows: 100, tokens_per_row: 1000, split: false });
    const config = await t.callOk(configureTrainingTool, { base_model: 'gpt-3.5-turbo-0125', dataset_id, method: 'sft', backend: 'openai', overrides: { epochs: 3, max_seq_length: 4096 } });
    const full = await t.callOk(estimateResourcesTool, { config_id: config.config_id });
    const small = await t.call('plan_training', { config_id: config.config_id });
    const detailed = await t.callOk(planTrainingTool, { config_id: config.config_id, detail: true });
    const plan = small.structuredContent as Record<string, unknown>;
    expect(plan.estimate).toEqual({
      device: full.device,
      fits: full.fits,
      recommended_device: full.recommended_device,
      device_count: 1,
      recommended_count: full.recommended_count,
      time_s: full.time.value,
      cost_usd: full.cost.value,
      memory_gb: full.memory.total_gb,
      trainable_parameters: full.trainable_parameters.value,
      tokens: 300_000,
      steps: full.tokens.steps.value,
    });
    expect(plan.validation).toBeUndefined();
    expect(detailed.estimate_detail).toEqual(full);
    expect(detailed.validation).toBeDefined();
    const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
    console.error(`plan_training structured result: ${bytes(plan)} B by default, ${bytes(detailed)} B with detail`);
    expect(bytes(plan)).toBeLessThan(1000);
    expect(bytes(detailed)).toBeGreaterThan(2 * bytes(plan));
  });
});
