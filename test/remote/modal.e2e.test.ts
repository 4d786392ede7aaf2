import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modalPlugin } from '../../plugins/modal/index.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { registerModelTool } from '../../tools/register-model.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { prepareTestDataset } from '../training/datasets.js';
import { FakeModal } from './fake-modal.js';

describe('a Modal-trained adapter registers like a local one (MCP tools end to end)', () => {
  let fake: FakeModal;
  let t: TestClient;
  beforeAll(async () => {
    fake = new FakeModal();
    const url = await fake.start();
    fake.steps = 12;
    t = await connectTestClient({
      plugins: [modalPlugin],
      env: { MODAL_ENDPOINT_URL: url, MODAL_TOKEN_ID: fake.tokenId, MODAL_TOKEN_SECRET: fake.tokenSecret },
      config: { plugins: { modal: { poll_interval_ms: 10, max_poll_interval_ms: 50 } } },
    });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
  });

  it('configure → plan → start → monitor → register_model', async () => {
    const dataset_id = await prepareTestDataset(t, { rows: 60 });
    const config = await t.callOk(configureTrainingTool, { base_model: 'Qwen/Qwen2.5-0.5B-Instruct', dataset_id, backend: 'modal', approach: 'lora', method: 'sft', template: 'smoke' });
    const plan = await t.callOk(planTrainingTool, { config_id: config.config_id });
    expect(plan.verdict, plan.reasons.join(' ')).toBe('go');
    const job = await t.callOk(startTrainingTool, { plan_id: plan.plan_id });
    let m = await t.callOk(monitorTrainingTool, { job_id: job.job_id, wait_s: 0.5 });
    for (let i = 0; i < 60 && !['succeeded', 'failed', 'cancelled'].includes(m.status); i++) m = await t.callOk(monitorTrainingTool, { job_id: job.job_id, wait_s: 0.5 });
    expect(m.status, `${m.error_code}: ${m.error_message}`).toBe('succeeded');
    const adapterDir = join(t.home, 'jobs', job.job_id, 'output', 'adapter');
    expect(existsSync(join(adapterDir, 'adapter_model.safetensors'))).toBe(true);
    // The host records the adapter the plugin brought home as the job's adapter, beside the remote model.
    expect(m.artifacts).toEqual(expect.arrayContaining([{ kind: 'adapter', path: adapterDir }, { kind: 'remote_model', uri: expect.stringMatching(/^modal:/) }]));

    const { model_version } = await t.callOk(registerModelTool, { name: 'modal-bot', version: '1.0.0', job_id: job.job_id });
    expect(model_version.source_kind).toBe('job');
    expect(model_version.lineage).toMatchObject({ job_id: job.job_id, base_model: 'Qwen/Qwen2.5-0.5B-Instruct', dataset_id });
    expect(model_version.lineage.adapter).toMatchObject({ r: 4 });
    expect(existsSync(join(model_version.artifact_dir, 'adapter_config.json'))).toBe(true);
  });
});
