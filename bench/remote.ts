/**
 * Remote backends: the OpenAI pre-flight (convert a split to OpenAI JSONL + count billed tokens)
 * against counting the same text with gpt-tokenizer alone, and how fast a followed job's events
 * and metrics are imported from a local fake of the OpenAI API.
 */
import { rmSync } from 'node:fs';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import OpenAI from 'openai';
import { FineTuningBackend } from '../plugins/openai-compatible/fine-tuning/backend.js';
import { openAIProfile } from '../plugins/openai/models.js';
import { OpenAIConfigSchema } from '../plugins/openai/config.js';
import { prepareFiles, tokenEstimate } from '../plugins/openai-compatible/fine-tuning/prepare.js';
import { createSilentLogger } from '../src/observability/logger.js';
import { FakeOpenAI } from '../test/remote/fake-openai.js';
import { chatRows, makeSpec, RemoteRun } from '../test/remote/support.js';

const EXAMPLES = 20_000;
const rows = chatRows(EXAMPLES);
const spec = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini-2024-07-18', rows });
const config = openAIProfile(OpenAIConfigSchema.parse({}));

// Reference: the raw tokenizer over the same message texts.
let t0 = performance.now();
let rawTokens = 0;
for (const row of rows) for (const m of row.messages as Array<{ content: string }>) rawTokens += countTokens(m.content);
const rawMs = performance.now() - t0;

t0 = performance.now();
const prepared = await prepareFiles(spec, config);
const estimate = tokenEstimate(prepared.train, prepared.model);
const preflightMs = performance.now() - t0;
const billed = Number(estimate.tokens_per_epoch);
console.log(`pre-flight: ${EXAMPLES} examples, ${billed} billed tokens/epoch in ${preflightMs.toFixed(0)} ms = ${((EXAMPLES / preflightMs) * 1000).toFixed(0)} examples/s, ${((billed / preflightMs) * 1000).toFixed(0)} tokens/s`);
console.log(`reference (gpt-tokenizer countTokens on the contents only): ${rawTokens} tokens in ${rawMs.toFixed(0)} ms = ${((rawTokens / rawMs) * 1000).toFixed(0)} tokens/s`);
console.log(`pre-flight / reference time: ${(preflightMs / rawMs).toFixed(2)}× (includes JSONL read, conversion, atomic write and chat framing)`);

// Import speed: one job with STEPS metric events, polled back to back (the host's wait between polls left out).
const STEPS = 2000;
const fake = new FakeOpenAI();
const baseURL = await fake.start();
fake.script = [
  { status: 'running', events: Array.from({ length: STEPS }, (_, i) => ({ message: `step ${i + 1}`, type: 'metrics' as const, data: { step: i + 1, train_loss: 1 / (i + 1) } })) },
  { status: 'succeeded' },
];
const followed = makeSpec({ backend: 'openai', base_model: 'gpt-4o-mini', rows: chatRows(10) });
const backend = new FineTuningBackend(new OpenAI({ apiKey: fake.apiKey, baseURL, maxRetries: 0 }), config, createSilentLogger());
const run = new RemoteRun(backend, followed);
t0 = performance.now();
await run.submit();
await run.pollUntil();
const followMs = performance.now() - t0;
const points = run.polls.reduce((n, p) => n + (p.metric_points?.length ?? 0), 0);
const pages = fake.http.requests.filter((r) => r.path.endsWith('/events')).length;
console.log(`follow: ${points} metric points from ${STEPS} events (${pages} event pages of 3) in ${followMs.toFixed(0)} ms = ${((STEPS / followMs) * 1000).toFixed(0)} events/s`);
await fake.stop();
rmSync(spec.home, { recursive: true, force: true });
rmSync(followed.home, { recursive: true, force: true });
