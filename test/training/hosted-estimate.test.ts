import { afterEach, describe, expect, it } from 'vitest';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { estimateResourcesTool } from '../../tools/estimate-resources.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { writeTestDataset } from './datasets.js';

describe('estimates for hosted backends (issue 12 item 16)', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('a hosted job is planned on the backend\'s own device, not "on A100-80GB"; the A100 is only the time assumption', async () => {
    t = await connectTestClient({ plugins: [testBackendPlugin({ name: 'openai', mode: 'remote', capabilities: { devices: ['openai-hosted'], approaches: ['full'] } })] });
    const dataset_id = writeTestDataset(t.home, { rows: 100, tokens_per_row: 200, split: false });
    const config = await t.callOk(configureTrainingTool, { base_model: 'gpt-4o-mini-2024-07-18', dataset_id, method: 'sft', approach: 'full', backend: 'openai' });
    const estimate = await t.callOk(estimateResourcesTool, { config_id: config.config_id });
    expect(estimate.device).toBe('openai-hosted');
    expect(estimate.devices.map((d) => d.device)).toEqual(['openai-hosted']);
    expect(estimate.assumptions).toContain('Time on openai-hosted assumes one A100-80GB, since the backend names no device with known figures.');
    expect(estimate.time.formula).toMatch(/peak of openai-hosted, taken as A100-80GB/);
    expect(estimate.time.value).toBeGreaterThan(0);
    expect(estimate.cost.formula).toMatch(/per 1M training tokens/);
    const plan = await t.callOk(planTrainingTool, { config_id: config.config_id });
    expect(plan.verdict).toBe('go');
    expect(plan.reasons[0]).toMatch(/^Go: .* on openai-hosted\.$/);
    expect(JSON.stringify(plan)).not.toMatch(/on A100-80GB/);
  });

  it('estimate_resources says it may reach the network: calibrate contacts remote providers', async () => {
    t = await connectTestClient({ plugins: [testBackendPlugin()] });
    const listed = (await t.client.listTools()).tools.find((tool) => tool.name === 'estimate_resources')!;
    expect(listed.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, openWorldHint: true });
    expect(listed.description).toMatch(/Together receives the training file for a price quote/);
  });
});
