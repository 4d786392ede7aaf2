import { prepareTestDataset } from '../training/datasets.js';

/** What the test backend's contract runs train on: a named tiny model and a 60-row chat dataset. */
export const inputs = async (t: { home: string; services: object }) => ({ base_model: 'tiny-test-model-1m', dataset_id: await prepareTestDataset(t, { rows: 60 }) });
export const failure = { backend_options: { fail_at_step: 3, fail_code: 'OUT_OF_MEMORY' }, code: 'OUT_OF_MEMORY' };
