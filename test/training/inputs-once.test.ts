import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { startTrainingTool } from '../../tools/start-training.js';
import type { TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { STORIES_260K } from '../trainer/helpers/job-fixtures.js';
import { prepareTestDataset } from './datasets.js';
import { connectFast, ended, waitFor } from './jobs-helpers.js';

/**
 * Every way into the input resolvers, counted: resolveInputs is one dataset and one model resolution
 * (its own calls to the two resolvers stay inside the module and are not counted twice).
 */
const counted = vi.hoisted(() => ({ dataset: 0, model: 0 }));
vi.mock('../../src/training/inputs.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/training/inputs.js')>();
  return {
    ...real,
    resolveInputs: (...args: Parameters<typeof real.resolveInputs>) => {
      counted.dataset++;
      counted.model++;
      return real.resolveInputs(...args);
    },
    resolveDataset: (...args: Parameters<typeof real.resolveDataset>) => {
      counted.dataset++;
      return real.resolveDataset(...args);
    },
    resolveModel: (...args: Parameters<typeof real.resolveModel>) => {
      counted.model++;
      return real.resolveModel(...args);
    },
  };
});

describe('start_training resolves its dataset and base model once', () => {
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  });

  /** A config on a prepared dataset and an imported model record (mdl_…), then counters at zero. */
  async function setup() {
    const t = await connectFast([testBackendPlugin()]);
    clients.push(t);
    const { model } = await t.services.models.import(join(STORIES_260K, 'stories260K.bin'), { tokenizer: join(STORIES_260K, 'tok512.bin') });
    const config = await t.callOk(configureTrainingTool, {
      base_model: model.id,
      dataset_id: await prepareTestDataset(t, { rows: 60 }),
      backend: 'fake',
      template: 'smoke',
      overrides: { max_steps: 3 },
    });
    const datasetsGet = vi.spyOn(t.services.datasets, 'get');
    const modelsGet = vi.spyOn(t.services.models, 'get');
    const reset = () => {
      counted.dataset = counted.model = 0;
      datasetsGet.mockClear();
      modelsGet.mockClear();
    };
    const counts = () => ({ resolved: { ...counted }, 'datasets.get': datasetsGet.mock.calls.length, 'models.get': modelsGet.mock.calls.length });
    reset();
    return { t, config_id: config.config_id, reset, counts };
  }

  const ONCE = { resolved: { dataset: 1, model: 1 }, 'datasets.get': 1, 'models.get': 1 };

  it('from a config_id: pre-flight, estimate, start and launch share one resolution', async () => {
    const { t, config_id, counts } = await setup();
    const job = await t.callOk(startTrainingTool, { config_id });
    // The fake backend has a free slot: the job was launched inside this call (its spec built from the same inputs).
    expect(job.status).not.toBe('queued');
    expect(counts()).toEqual(ONCE);
    expect((await waitFor(t, job.job_id, ended)).status).toBe('succeeded');
  });

  it('from a plan_id: the start resolves once, for its check and the launch', async () => {
    const { t, config_id, reset, counts } = await setup();
    const { plan_id } = await t.callOk(planTrainingTool, { config_id });
    expect(counts()).toEqual(ONCE); // plan_training: validation, spec and estimate on one resolution
    reset();
    const job = await t.callOk(startTrainingTool, { plan_id });
    expect(job.status).not.toBe('queued');
    expect(counts()).toEqual(ONCE);
    expect((await waitFor(t, job.job_id, ended)).status).toBe('succeeded');
  });
});
