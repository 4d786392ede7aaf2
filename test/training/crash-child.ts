/**
 * A server process for the crash test: on the workspace given as argv[2] it calls training tools
 * back to back through a real MCP client (configure with a YAML export, plan, start) and prints
 * one line per finished round, until the parent SIGKILLs it, most likely in the middle of a call.
 */
import { join } from 'node:path';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { connectTestClient } from '../helpers/mcp.js';
import { writeTestDataset } from './datasets.js';

const home = process.argv[2];
const t = await connectTestClient({ home, plugins: [testBackendPlugin({ capabilities: { max_concurrent_jobs: 100 } })] });
const dataset_id = writeTestDataset(home, { rows: 80 });
for (let round = 0; ; round++) {
  const config = await t.callOk(configureTrainingTool, {
    base_model: 'tiny-test-model-1m',
    dataset_id,
    backend: 'fake',
    method: 'sft',
    template: 'smoke',
    overrides: { max_steps: 100_000, seed: round },
    backend_options: { step_ms: 5 },
    export_path: join(home, 'exports', `config-${round}.yaml`),
  });
  const plan = await t.callOk(planTrainingTool, { config_id: config.config_id });
  await t.callOk(startTrainingTool, { plan_id: plan.plan_id });
  process.stdout.write(`round ${round}\n`);
}
