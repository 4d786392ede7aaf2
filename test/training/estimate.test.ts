import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { estimateResources, loraParameters, memoryEstimate, modelShape } from '../../src/training/estimate.js';
import { BASE_HYPERPARAMETERS } from '../../src/training/templates.js';
import { parametersFromShape, type ModelFacts } from '../../src/training/inputs.js';
import { JobLedger } from '../../src/training/ledger.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { estimateResourcesTool } from '../../tools/estimate-resources.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { connectTestClient, errorCode, type TestClient } from '../helpers/mcp.js';
import { testBackendPlugin } from '../contract/test-backend.js';
import { writeTestDataset } from './datasets.js';

/** Facts as resolveModel reads them from a Hugging Face config.json. */
function factsOf(file: string): ModelFacts {
  const c = JSON.parse(readFileSync(new URL(`../fixtures/model-configs/${file}`, import.meta.url), 'utf8')) as Record<string, number | boolean | string>;
  return {
    model_id: file,
    name: file,
    layers: c.num_hidden_layers as number,
    hidden_size: c.hidden_size as number,
    intermediate_size: c.intermediate_size as number,
    vocab_size: c.vocab_size as number,
    heads: c.num_attention_heads as number,
    kv_heads: c.num_key_value_heads as number,
    head_dim: c.head_dim as number | undefined,
    tied_embeddings: c.tie_word_embeddings as boolean,
    qkv_bias: c.model_type === 'qwen2',
    dtype: 'bfloat16',
    known: true,
  };
}

// Published values: test/fixtures/training-estimates/SOURCE.md
describe('parameter counts against published figures', () => {
  it('matches the Hub parameter counts of three real configs', () => {
    expect(parametersFromShape(factsOf('tinyllama-1.1b-chat.json'))).toBe(1_100_048_384);
    expect(parametersFromShape(factsOf('qwen2-0.5b.json'))).toBe(494_032_768);
    expect(parametersFromShape(factsOf('llama-3.2-1b.json'))).toBe(1_235_814_400);
  });

  it("matches PEFT's trainable-parameter count for Llama-2-7b with r=8 on q_proj, v_proj", () => {
    const llama2: ModelFacts = { model_id: 'llama-2-7b', name: 'llama-2-7b', layers: 32, hidden_size: 4096, intermediate_size: 11008, vocab_size: 32000, heads: 32, kv_heads: 32, tied_embeddings: false, dtype: 'float16', known: true };
    expect(parametersFromShape(llama2)).toBe(6_738_415_616);
    const shape = modelShape(llama2, 6_738_415_616, []);
    expect(loraParameters(shape, { lora_r: 8, target_modules: ['q_proj', 'v_proj'] })).toBe(4_194_304);
  });
});

describe('estimate_resources and plan_training', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  // A hosted, token-priced backend like OpenAI's; its list price comes with each config (backend_options.usd_per_million_tokens).
  const connect = () =>
    connectTestClient({ plugins: [testBackendPlugin({ name: 'openai', mode: 'remote', capabilities: { devices: ['openai-hosted'], approaches: ['lora', 'qlora', 'full'] } })] });

  it("prices the host's token count with the backend's quote: OpenAI's published example, 100k tokens × 3 epochs at $8 per 1M ≈ $2.40", async () => {
    t = await connect();
    const dataset_id = writeTestDataset(t.home, { rows: 100, tokens_per_row: 1000, split: false });
    const config = await t.callOk(configureTrainingTool, {
      base_model: 'gpt-3.5-turbo-0125',
      dataset_id,
      method: 'sft',
      backend: 'openai',
      overrides: { epochs: 3, max_seq_length: 4096 },
      backend_options: { usd_per_million_tokens: 8 },
    });
    const estimate = await t.callOk(estimateResourcesTool, { config_id: config.config_id });
    expect(estimate.tokens.total.value).toBe(300_000);
    expect(estimate.cost.value).toBeCloseTo(2.4, 6);
    expect(estimate.cost.formula).toBe('tokens / 1e6 × $8 per 1M training tokens (test list price)');
    expect(estimate.assumptions).toContain("'openai' runs on hardware its provider picks: memory is for information and does not block the run.");
  });

  it('every figure has a formula; memory orders QLoRA < LoRA < full and DPO full adds a reference copy', async () => {
    t = await connect();
    const chat = writeTestDataset(t.home, { rows: 200, tokens_per_row: 300 });
    const prefs = writeTestDataset(t.home, { rows: 200, task_type: 'preference', tokens_per_row: 300 });
    const ledger = new JobLedger(t.services.workspace.db);
    const estimateFor = async (approach: string, method: string, dataset_id: string) => {
      const c = await t.callOk(configureTrainingTool, { base_model: 'Llama-2-7b', dataset_id, method, approach, backend: 'openai' });
      return estimateResources(t.services, ledger.getConfig(c.config_id));
    };
    const qlora = await estimateFor('qlora', 'sft', chat);
    const lora = await estimateFor('lora', 'sft', chat);
    const full = await estimateFor('full', 'sft', chat);
    const dpoFull = await estimateFor('full', 'dpo', prefs);
    expect(qlora.memory.total_gb).toBeLessThan(lora.memory.total_gb);
    expect(lora.memory.total_gb).toBeLessThan(full.memory.total_gb);
    expect(dpoFull.memory.parts.reference_model.value).toBeCloseTo(full.memory.parts.weights.value, 6);
    // 7B parameters, bf16 weights: 14e9 bytes = 13.04 GiB
    expect(lora.memory.parts.weights.value).toBeCloseTo((7e9 * 2) / 1024 ** 3, 3);
    // Per token: full 6·params, adapters 4·frozen + 6·trainable, plus attention 6·layers·context·hidden
    const shape = modelShape({ model_id: 'Llama-2-7b', name: 'Llama-2-7b', dtype: 'bfloat16', known: false }, 7e9, []);
    const attention = 6 * shape.layers * 300 * shape.hidden;
    expect(full.flops.value).toBeCloseTo((6 * 7e9 + attention) * full.tokens.total.value, -6);
    expect(lora.flops.value).toBeCloseTo((4 * 7e9 + 6 * lora.trainable_parameters.value + attention) * lora.tokens.total.value, -6);
    expect(lora.flops.formula).toMatch(/6 × layers × context × hidden \(attention\)/);
    for (const figure of [lora.flops, lora.time, lora.cost, lora.tokens.total, ...Object.values(lora.memory.parts)]) expect(figure.formula.length).toBeGreaterThan(5);
    expect(lora.assumptions.length).toBeGreaterThan(0);
  });

  it('calibrate=true times the run from the backend\'s measured throughput instead of FLOPs', async () => {
    t = await connectTestClient({ plugins: [testBackendPlugin({ name: 'fake' })] });
    const dataset_id = writeTestDataset(t.home, { rows: 100, tokens_per_row: 50 });
    const config = await t.callOk(configureTrainingTool, { base_model: 'tiny-test-model-1m', dataset_id, method: 'sft', backend: 'fake', overrides: { epochs: 2 } });
    const flopsOnly = await t.callOk(estimateResourcesTool, { config_id: config.config_id });
    const measured = await t.callOk(estimateResourcesTool, { config_id: config.config_id, calibrate: true });
    expect(flopsOnly.calibrated).toBeUndefined();
    // 80 train rows × 50 tokens × 2 epochs = 8000 tokens at the test backend's 1000 tokens/s
    expect(measured.tokens.total.value).toBe(8000);
    expect(measured.calibrated).toEqual({ tokens_per_s: 1000, source: "a short measured run on 'fake'" });
    expect(measured.time.value).toBe(8);
    expect(measured.cost.value).toBe(0);
  });

  it("calibrate=true takes a provider's own token count and price quote over the formulas", async () => {
    t = await connect();
    const dataset_id = writeTestDataset(t.home, { rows: 100, tokens_per_row: 1000, split: false });
    const config = await t.callOk(configureTrainingTool, {
      base_model: 'gpt-3.5-turbo-0125',
      dataset_id,
      method: 'sft',
      backend: 'openai',
      overrides: { epochs: 3, max_seq_length: 4096 },
      backend_options: { usd_per_million_tokens: 8, quote: { usd: 2.32, billed_tokens: 290_000, basis: 'the provider’s price API' } },
    });
    const listed = await t.callOk(estimateResourcesTool, { config_id: config.config_id });
    expect([listed.tokens.total.value, listed.cost.value]).toEqual([300_000, 2.4]);
    const quoted = await t.callOk(estimateResourcesTool, { config_id: config.config_id, calibrate: true });
    expect(quoted.tokens.total).toMatchObject({ value: 290_000, formula: "billed tokens counted by the 'openai' backend's own quote" });
    expect(quoted.cost).toMatchObject({ value: 2.32, formula: 'the provider’s price API' });
    expect(quoted.calibrated).toMatchObject({ billed_tokens: 290_000, cost_usd: 2.32 });
  });

  it('a plan over budget is no-go with BUDGET_EXCEEDED, and start_training on the config refuses for the same reason', async () => {
    t = await connect();
    const dataset_id = writeTestDataset(t.home, { rows: 100, tokens_per_row: 1000, split: false });
    const config = await t.callOk(configureTrainingTool, { base_model: 'gpt-4o-mini-2024-07-18', dataset_id, method: 'sft', backend: 'openai', overrides: { epochs: 3, max_seq_length: 4096 }, backend_options: { usd_per_million_tokens: 3 }, policy: { max_cost_usd: 0.5 } });
    const plan = await t.callOk(planTrainingTool, { config_id: config.config_id });
    expect(plan.verdict).toBe('no_go');
    expect(plan.reasons[0]).toMatch(/^\[BUDGET_EXCEEDED\] Estimated cost \$0\.90/);
    const start = await t.call('start_training', { config_id: config.config_id });
    expect(errorCode(start)).toBe('BUDGET_EXCEEDED');
    const raised = await t.callOk(planTrainingTool, { config_id: config.config_id, max_cost_usd: 5 });
    expect(raised.verdict).toBe('go');
    expect(raised.budget.max_cost_usd).toBe(5);
  });
});

describe('plans across several GPUs (a backend that gives a job up to 64)', () => {
  let t: TestClient;
  afterEach(async () => t?.close());
  const connect = () =>
    connectTestClient({ plugins: [testBackendPlugin({ name: 'cluster', mode: 'remote', capabilities: { devices: ['A10G', 'H100'], approaches: ['lora', 'qlora', 'full'], max_devices: 64 } })] });
  const Llama70B = 'meta-llama/Llama-3.1-70B-Instruct';

  it('a 70B full fine-tune on 1×A10G is no-go and names the fewest H100s that fit with ZeRO-3 sharding; asking for them makes it go', async () => {
    t = await connect();
    const dataset_id = writeTestDataset(t.home, { rows: 60, tokens_per_row: 300 });
    const configure = (backend_options: Record<string, unknown>) =>
      t.callOk(configureTrainingTool, { base_model: Llama70B, dataset_id, method: 'sft', approach: 'full', backend: 'cluster', template: 'smoke', backend_options });
    const one = await configure({ gpu_type: 'A10G' });
    const plan = await t.callOk(planTrainingTool, { config_id: one.config_id, detail: true });
    expect(plan.verdict).toBe('no_go');
    const estimate = plan.estimate_detail!;
    // ~70B × (2 bytes weights + 14 bytes gradients, AdamW m, v and master copy) ≈ 1 TB before sharding.
    const sharded = estimate.memory.parts.weights.value + estimate.memory.parts.trainable_and_optimizer.value;
    expect(sharded).toBeGreaterThan(900);
    const h100 = estimate.devices!.find((d) => d.device === 'H100' && d.count > 1)!;
    const unsharded = estimate.memory.total_gb - sharded;
    expect(h100.need_gb).toBeCloseTo(sharded / h100.count + unsharded, 1);
    expect(h100.need_gb).toBeLessThanOrEqual(80);
    expect(sharded / (h100.count / 2) + unsharded).toBeGreaterThan(80);
    expect([estimate.recommended_device, estimate.recommended_count]).toEqual(['H100', h100.count]);
    expect(plan.reasons[0]).toMatch(new RegExp(`^\\[OUT_OF_MEMORY\\] Needs ~[\\d.]+ GB per device; 1 × A10G has 24 GB\\. ${h100.count}×H100 \\(80 GB\\) with ZeRO-3 sharding`));

    const many = await configure({ gpu_type: 'H100', num_gpus: 8, num_nodes: h100.count / 8 });
    const go = await t.callOk(planTrainingTool, { config_id: many.config_id, detail: true });
    expect(go.verdict, go.reasons.join(' ')).toBe('go');
    expect(go.estimate_detail).toMatchObject({ device: 'H100', device_count: h100.count, fits: true });
    expect(go.estimate_detail!.memory.per_device_gb).toBeCloseTo(h100.need_gb, 1);
  });

  it('a 7B LoRA on 1×A10G still goes on one device; adapters are replicated, not sharded, so more devices do not shrink them', async () => {
    t = await connect();
    const dataset_id = writeTestDataset(t.home, { rows: 60, tokens_per_row: 300 });
    const config = await t.callOk(configureTrainingTool, { base_model: 'Qwen/Qwen2.5-7B-Instruct', dataset_id, method: 'sft', approach: 'lora', backend: 'cluster', template: 'smoke', backend_options: { gpu_type: 'A10G' } });
    const plan = await t.callOk(planTrainingTool, { config_id: config.config_id, detail: true });
    expect(plan.verdict, plan.reasons.join(' ')).toBe('go');
    expect(plan.estimate_detail).toMatchObject({ device: 'A10G', device_count: 1, fits: true });
    // Four data-parallel processes each take batch × accumulation rows a step: a quarter of the steps and of the time.
    const ledger = new JobLedger(t.services.workspace.db);
    const estimateOn = async (backend_options: Record<string, unknown>) => {
      const c = await t.callOk(configureTrainingTool, { base_model: 'Qwen/Qwen2.5-7B-Instruct', dataset_id, method: 'sft', approach: 'lora', backend: 'cluster', overrides: { epochs: 1, batch_size: 1, gradient_accumulation: 1 }, backend_options });
      return estimateResources(t.services, ledger.getConfig(c.config_id));
    };
    const one = await estimateOn({ gpu_type: 'A10G' });
    const four = await estimateOn({ gpu_type: 'A10G', num_gpus: 4 });
    expect(four.memory.per_device_gb).toBeCloseTo(one.memory.per_device_gb, 6);
    expect(four.device_count).toBe(4);
    expect(four.tokens.steps.value).toBe(Math.ceil(one.tokens.steps.value / 4));
    expect(four.tokens.total.value).toBe(one.tokens.total.value);
    const seconds = (e: typeof one, count: number) => e.devices.find((d) => d.device === 'A10G' && d.count === count)!.seconds;
    expect(seconds(four, 4)).toBeCloseTo(seconds(one, 1) / 4, 3);
  });
});

describe('local QLoRA memory (float32 engine, NF4 linear weights)', () => {
  it('counts linear weights at 0.5625 byte and embeddings, head and norms at 4 bytes', () => {
    const facts = { ...factsOf('qwen2-0.5b.json'), parameters: 494_032_768 };
    const run = (approach: 'lora' | 'qlora') => memoryEstimate({ method: 'sft', approach, hyperparameters: BASE_HYPERPARAMETERS }, facts, 4, []);
    const qlora = run('qlora');
    const lora = run('lora');
    const s = qlora.shape;
    const linear = s.layers * (2 * s.hidden * s.hidden + 2 * s.hidden * s.kv + 3 * s.hidden * s.ff);
    expect(qlora.parts.weights.value).toBeCloseTo((linear * 0.5625 + (qlora.parameters - linear) * 4) / 1024 ** 3, 3);
    expect(qlora.parts.weights.formula).toMatch(/0\.5625 bytes/);
    // Qwen2-0.5B: 136M of its 494M parameters are the (tied) embedding, kept float32
    expect(qlora.parts.weights.value / lora.parts.weights.value).toBeGreaterThan(0.3);
    expect(qlora.parts.weights.value / lora.parts.weights.value).toBeLessThan(0.4);
  });
});
