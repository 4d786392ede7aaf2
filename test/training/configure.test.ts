import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { prepareTestDataset } from './datasets.js';

const plugins = [
  testBackendPlugin({ name: 'fake', capabilities: { approaches: ['lora', 'full'] } }),
  testBackendPlugin({ name: 'sftonly', capabilities: { methods: ['sft'], approaches: ['lora', 'qlora'] } }),
];

describe('configure_training', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('method auto: DPO at ≥ 20 preference pairs, SFT at ≥ 50 examples, otherwise says what is missing', async () => {
    t = await connectTestClient({ plugins });
    const base = { base_model: 'tiny-model', backend: 'fake', method: 'auto' };
    const sft = await t.callOk(configureTrainingTool, { ...base, dataset_id: await prepareTestDataset(t, { rows: 50 }) });
    expect([sft.method, sft.method_reason]).toEqual(['sft', 'auto: 50 chat examples (≥ 50) → SFT.']);
    const dpo = await t.callOk(configureTrainingTool, { ...base, dataset_id: await prepareTestDataset(t, { rows: 20, task_type: 'preference' }) });
    expect(dpo.method).toBe('dpo');
    const fewChat = await t.call('configure_training', { ...base, dataset_id: await prepareTestDataset(t, { rows: 49 }) });
    expect(errorCode(fewChat)).toBe('DATASET_INVALID');
    expect(resultText(fewChat)).toMatch(/has 49 examples; SFT needs at least 50 \(1 more\)/);
    const fewPairs = await t.call('configure_training', { ...base, dataset_id: await prepareTestDataset(t, { rows: 19, task_type: 'preference' }) });
    expect(resultText(fewPairs)).toMatch(/19 preference pairs; DPO needs at least 20 \(1 more\)/);
    const dpoOnChat = await t.call('configure_training', { ...base, method: 'dpo', dataset_id: await prepareTestDataset(t, { rows: 60 }) });
    expect(errorCode(dpoOnChat)).toBe('DATASET_INVALID');
  });

  it('the auto thresholds come from the training config section', async () => {
    t = await connectTestClient({ plugins, config: { training: { auto_min_examples: 5 } } });
    const out = await t.callOk(configureTrainingTool, { base_model: 'tiny-model', backend: 'fake', dataset_id: await prepareTestDataset(t, { rows: 6 }) });
    expect(out.method).toBe('sft');
  });

  it('refuses what the backend does not declare, naming the nearest supported alternative', async () => {
    t = await connectTestClient({ plugins });
    const dataset_id = await prepareTestDataset(t, { rows: 60 });
    const qlora = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'fake', approach: 'qlora' });
    expect(errorCode(qlora)).toBe('CAPABILITY_UNSUPPORTED');
    expect(resultText(qlora)).toMatch(/Nearest supported: approach "lora" on backend "fake"; also .*backend "sftonly" \(sft \+ qlora\)/);
    const prefs = await prepareTestDataset(t, { rows: 30, task_type: 'preference' });
    const dpo = await t.call('configure_training', { base_model: 'm', dataset_id: prefs, backend: 'sftonly', method: 'dpo' });
    expect(resultText(dpo)).toMatch(/does not support method "dpo"[\s\S]*Nearest supported: backend "fake" \(dpo \+ lora\)/);
    const unknown = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'nope' });
    expect(errorCode(unknown)).toBe('PLUGIN_UNAVAILABLE');
  });

  it('templates fill every field and overrides replace them one by one; unknown fields are refused', async () => {
    t = await connectTestClient({ plugins });
    const dataset_id = await prepareTestDataset(t, { rows: 60 });
    const efficient = await t.callOk(configureTrainingTool, { base_model: 'm', dataset_id, backend: 'fake', template: 'efficient' });
    expect(efficient.hyperparameters).toMatchObject({ learning_rate: 2e-5, batch_size: 4, gradient_accumulation: 8, epochs: 3, lora_r: 8, lora_alpha: 16 });
    const quality = await t.callOk(configureTrainingTool, { base_model: 'm', dataset_id, backend: 'fake', template: 'quality', overrides: { learning_rate: 3e-5, target_modules: ['q_proj', 'v_proj'] } });
    expect(quality.hyperparameters).toMatchObject({ learning_rate: 3e-5, batch_size: 2, gradient_accumulation: 16, epochs: 5, lora_r: 32, lora_alpha: 64, target_modules: ['q_proj', 'v_proj'] });
    const smoke = await t.callOk(configureTrainingTool, { base_model: 'm', dataset_id, backend: 'fake', template: 'smoke' });
    expect(smoke.hyperparameters).toMatchObject({ max_steps: 8, batch_size: 2, eval_steps: 4, save_steps: 4 });
    // 60 rows × 3 epochs at 32 rows a step is 6 steps: the agent hears it before the run; max_steps says what it wants
    expect(efficient.notes).toContain('Only about 6 optimizer steps (60 training rows × 3 epochs ÷ 32 rows a step, batch_size 4 × gradient_accumulation 8): a run this short may change the model little. Lower gradient_accumulation, raise epochs or set max_steps.');
    expect(smoke.notes.join(' ')).not.toMatch(/optimizer steps/);
    const longer = await t.callOk(configureTrainingTool, { base_model: 'm', dataset_id, backend: 'fake', overrides: { gradient_accumulation: 1 } });
    expect(longer.notes.join(' ')).not.toMatch(/optimizer steps/);
    const typo = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'fake', overrides: { learnin_rate: 1 } });
    expect(typo.isError).toBe(true);
    expect(resultText(typo)).toMatch(/learnin_rate/);
    const bad = await t.call('configure_training', { base_model: 'm', dataset_id, backend: 'fake', overrides: { batch_size: 0 } });
    expect(bad.isError).toBe(true);
  });

  it('round-trips a config through YAML and JSON documents', async () => {
    t = await connectTestClient({ plugins });
    const dataset_id = await prepareTestDataset(t, { rows: 60 });
    const first = await t.callOk(configureTrainingTool, {
      base_model: 'm',
      dataset_id,
      backend: 'fake',
      template: 'quality',
      overrides: { learning_rate: 4e-5, seed: 7 },
      policy: { max_cost_usd: 3, auto_resume: true },
      export_path: join(t.home, 'exports', 'run.yaml'),
    });
    const yamlText = readFileSync(first.export_path!, 'utf8');
    expect(parseYaml(yamlText)).toMatchObject({ base_model: 'm', method: 'sft', template: 'quality', hyperparameters: { learning_rate: 4e-5, seed: 7 } });
    const fromYaml = await t.callOk(configureTrainingTool, { from_file: first.export_path });
    const fromText = await t.callOk(configureTrainingTool, { from_text: first.document });
    for (const again of [fromYaml, fromText]) {
      expect(again.config_id).not.toBe(first.config_id);
      expect({ ...again, config_id: '', export_path: undefined, method_reason: '' }).toEqual({ ...first, config_id: '', export_path: undefined, method_reason: '' });
    }
    const json = await t.callOk(configureTrainingTool, { from_file: first.export_path, export_path: join(t.home, 'exports', 'run.json') });
    const viaJson = await t.callOk(configureTrainingTool, { from_file: json.export_path, overrides: { seed: 8 } });
    expect(viaJson.hyperparameters).toEqual({ ...first.hyperparameters, seed: 8 });
    const broken = await t.call('configure_training', { from_text: 'base_model: [unclosed' });
    expect(errorCode(broken)).toBe('INVALID_INPUT');
  });
});
