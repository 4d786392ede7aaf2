import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codeForJobError } from '../../plugins/openai-compatible/fine-tuning/errors.js';
import { lineNamedIn } from '../../src/plugin-sdk/upstream-errors.js';
import { prepareFiles, tokenEstimate, validateSpec } from '../../plugins/openai-compatible/fine-tuning/prepare.js';
import { fineTuningQuote as openAIQuote } from '../../plugins/openai-compatible/fine-tuning/quote.js';
import { countChatTokens } from '../../plugins/openai-compatible/fine-tuning/tokens.js';
import { FineTuningBackend } from '../../plugins/openai-compatible/fine-tuning/backend.js';
import { openAIProfile } from '../../plugins/openai/models.js';
import { createOpenAIClient, OpenAIConfigSchema } from '../../plugins/openai/config.js';
import { isFinetuneError, type FinetuneError } from '../../src/errors.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { createRemoteJobRunner } from '../../src/plugins/remote-jobs.js';
import { chatRows, makeSpec, RecordingSink } from './support.js';

const cookbook = JSON.parse(readFileSync(new URL('../fixtures/openai-token-count/cookbook-messages.json', import.meta.url), 'utf8'));
const openAIConfig = OpenAIConfigSchema.parse({});
const config = openAIProfile(openAIConfig);
const NOW = new Date('2026-11-22T00:00:00Z');

describe('OpenAI pre-flight rules', () => {
  it('counts chat tokens as the OpenAI API reported them in the cookbook (129 cl100k, 124 o200k)', () => {
    expect(countChatTokens(cookbook, 'cl100k_base')).toBe(129);
    expect(countChatTokens(cookbook, 'o200k_base')).toBe(124);
  });

  it('bills n_epochs × Σ min(limit, tokens) at the model’s price', async () => {
    const trainable = [...cookbook.slice(0, 5), { ...cookbook[5], role: 'assistant' }];
    const rows = Array.from({ length: 10 }, () => ({ messages: trainable }));
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-3.5-turbo-0125', rows, hyperparameters: { epochs: 3 } });
    const calibrate = { tokens: 0, seconds: 0, device: 'openai-hosted', calibrate: true };
    const prepared = await prepareFiles(spec, config);
    expect(tokenEstimate(prepared.train, prepared.model)).toMatchObject({ examples: 10, tokens_per_epoch: 1290, truncated_examples: 0 });
    const full = await openAIQuote(spec, calibrate, config);
    expect(full).toMatchObject({ billed_tokens: 3870, basis: expect.stringContaining('× $8 per 1M training tokens') });
    expect(full.usd).toBeCloseTo((3870 * 8) / 1e6, 10);

    const tight = openAIProfile(OpenAIConfigSchema.parse({ models: { 'gpt-3.5-turbo-0125': { token_limit: 100, usd_per_million_training_tokens: 8, encoding: 'cl100k_base' } } }));
    const cappedFiles = await prepareFiles(spec, tight);
    expect(tokenEstimate(cappedFiles.train, cappedFiles.model)).toMatchObject({ tokens_per_epoch: 1000, truncated_examples: 10, longest_example_tokens: 129 });
    expect(await openAIQuote(spec, calibrate, tight)).toMatchObject({ billed_tokens: 3000, usd: (3000 * 8) / 1e6 });
    const issues = await validateSpec(spec, tight, NOW);
    expect(issues).toContainEqual(expect.objectContaining({ severity: 'warning', code: 'EXAMPLES_TRUNCATED' }));
  });

  it('quotes the host’s token count at the model’s list price: OpenAI’s published example, 100k tokens × 3 epochs on gpt-3.5-turbo ≈ $2.40', async () => {
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-3.5-turbo-0125', rows: chatRows(10), hyperparameters: { epochs: 3 } });
    const quote = await openAIQuote(spec, { tokens: 300_000, seconds: 0, device: 'openai-hosted', calibrate: false }, config);
    expect(quote.usd).toBeCloseTo(2.4, 10);
    expect(quote.basis).toBe("tokens / 1e6 × $8 per 1M training tokens (OpenAI price for 'gpt-3.5-turbo-0125', as of 2025-04, from https://platform.openai.com/docs/pricing (fine-tuning, training))");
    const unknown = await openAIQuote({ ...spec, config: { ...spec.config, base_model: 'gpt-9' } }, { tokens: 300_000, seconds: 0, device: 'openai-hosted', calibrate: false }, config);
    expect(unknown).toEqual({ usd: 0, basis: "No OpenAI training price for 'gpt-9': counted as 0 (add it under plugins.openai.models)." });
  });

  it('needs at least 10 examples', async () => {
    const issues = await validateSpec(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(9) }), config, NOW);
    expect(issues).toContainEqual({
      severity: 'error',
      code: 'DATASET_INVALID',
      field: 'dataset_id',
      message: expect.stringMatching(/^OpenAI needs at least 10 training examples; the train split of ds_test has 9\. Add examples/),
    });
    const ok = await validateSpec(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) }), config, NOW);
    expect(ok.filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('refuses too few examples at submit as DATASET_INVALID with the field and the minimum, before any request', async () => {
    // An unreachable API: the host's pre-submit check must refuse without a request.
    const client = createOpenAIClient({ ...openAIConfig, api_key: 'sk-unused', base_url: 'http://127.0.0.1:9/v1' }, {});
    const runner = createRemoteJobRunner(new FineTuningBackend(client, config, createSilentLogger(), () => NOW), { name: 'openai', logger: createSilentLogger() });
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(9) });
    const refused = await runner.start(spec, new RecordingSink()).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isFinetuneError(refused), String(refused)).toBe(true);
    const error = refused as FinetuneError;
    expect(error.code).toBe('DATASET_INVALID');
    expect(error.details).toMatchObject({ field: 'dataset_id' });
    expect(error.toText()).toMatch(/^\[DATASET_INVALID\] OpenAI needs at least 10 training examples; the train split of ds_test has 9\./);
  });

  it('warns of the 2027-01-06 shutdown on every plan, and refuses after it', async () => {
    const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) });
    expect(await validateSpec(spec, config, NOW)).toContainEqual(expect.objectContaining({ severity: 'warning', code: 'BACKEND_DEPRECATED', message: expect.stringContaining('2027-01-06') }));
    expect(await validateSpec(spec, config, new Date('2027-01-07T00:00:00Z'))).toContainEqual(expect.objectContaining({ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'backend' }));
  });

  it('locates bad rows and refuses DPO on models without it', async () => {
    const rows = chatRows(10);
    rows[6] = { messages: [{ role: 'wizard', content: 'x' }] };
    const bad = await validateSpec(makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows }), config, NOW);
    expect(bad).toContainEqual(expect.objectContaining({ severity: 'error', code: 'DATASET_INVALID', field: 'messages[0].role', message: expect.stringContaining('line 7') }));
    const dpo = await validateSpec(makeSpec({ backend: 'openai', base_model: 'gpt-3.5-turbo-0125', method: 'dpo', rows: chatRows(10) }), config, NOW);
    expect(dpo).toContainEqual(expect.objectContaining({ severity: 'error', code: 'CAPABILITY_UNSUPPORTED', field: 'method' }));
  });

  it('reads line numbers and job error codes from upstream messages', () => {
    expect(lineNamedIn('Invalid file format. Line 12, key "messages"')).toBe(12);
    expect(lineNamedIn('no location here')).toBeUndefined();
    expect(codeForJobError({ code: 'invalid_training_file', message: 'bad', param: 'training_file' })).toBe('DATASET_INVALID');
    expect(codeForJobError({ code: 'exceeded_quota', message: 'You exceeded your current quota', param: null })).toBe('QUOTA_EXCEEDED');
    expect(codeForJobError({ code: 'server_error', message: 'internal', param: null })).toBe('UPSTREAM_ERROR');
  });
});
