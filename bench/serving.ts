/**
 * The OpenAI-compatible endpoint (src/serving) on stories260K with a LoRA adapter: what HTTP, the
 * queue and SSE cost over the engine. Reference, in the same run: the engine's own generate() on the
 * same model, adapter and prompt. Figures: tokens/s and latency of whole answers, time to the first
 * streamed text, and four clients at once against serving.max_concurrent 1 (BENCH_SERVE_N requests,
 * default 20; 64 new tokens each).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, loadRuntimeModel } from '../plugins/local/engine/index.js';
import { loadConfig } from '../src/config.js';
import { writePeftAdapter } from '../src/models/files/peft.js';
import { createSilentLogger } from '../src/observability/logger.js';
import { registryOf } from '../src/registry/index.js';
import { serveHttp } from '../src/server/http.js';
import { closeServices, createServices } from '../src/services.js';

const N = Number(process.env.BENCH_SERVE_N ?? 20);
const TOKENS = 64;
const PROMPT = 'Once upon a time';
const ASSETS = new URL('../assets/models/stories260K/', import.meta.url).pathname;

const home = mkdtempSync(join(tmpdir(), 'bench-serve-'));
const config = loadConfig({ argv: ['--home', home], env: {}, overrides: { allowed_roots: [ASSETS, home], serving: { max_concurrent: 1, max_queued: 64 } } });
const services = await createServices(config, { logger: createSilentLogger(), env: {} });
const { model } = await services.models.import(join(ASSETS, 'stories260K.bin'), { tokenizer: join(ASSETS, 'tok512.bin') });
let state = 7;
const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.2;
const tensors = new Map();
for (let l = 0; l < 5; l++) tensors.set(`model.layers.${l}.self_attn.q_proj`, { A: { shape: [8, 64], data: Float32Array.from({ length: 512 }, next) }, B: { shape: [64, 8], data: Float32Array.from({ length: 512 }, next) } });
const adapterDir = join(home, 'adapter');
writePeftAdapter(adapterDir, { base_model_name_or_path: 'stories260K', r: 8, lora_alpha: 16, lora_dropout: 0, target_modules: ['q_proj'], use_rslora: false, tensors });
const version = await registryOf(services).register({ name: 'bench', version: '1.0.0', adapter_path: adapterDir });
const server = await serveHttp(services, { host: '127.0.0.1', port: 0 });
const url = `${server.url}/v1/completions`;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const tps = (tokens: number, ms: number) => Math.round((tokens / ms) * 1000);

async function ask(stream: boolean): Promise<{ ms: number; tokens: number; first: number }> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bench@1.0.0', prompt: PROMPT, max_tokens: TOKENS, temperature: 0, stream }) });
  if (!stream) {
    const body = (await res.json()) as { usage: { completion_tokens: number } };
    return { ms: performance.now() - started, tokens: body.usage.completion_tokens, first: NaN };
  }
  let first = NaN;
  let events = 0;
  const decoder = new TextDecoder();
  for await (const part of res.body!) {
    const text = decoder.decode(part as Uint8Array);
    if (Number.isNaN(first) && /"text":"[^"]/.test(text)) first = performance.now() - started;
    events += text.split('data: ').length - 1;
  }
  return { ms: performance.now() - started, tokens: events, first };
}

// Warm both paths (model load, sessions) before timing.
const runtime = await loadRuntimeModel(model.dir, { adapter_dir: version.artifact_dir });
await generate(runtime, { prompt: PROMPT, max_tokens: TOKENS });
await ask(false);

// Interleaved, so the shared machine's load falls on the three alike.
const direct: number[] = [];
let directTokens = 0;
const whole: Array<{ ms: number; tokens: number }> = [];
const streamed: Array<{ ms: number; tokens: number; first: number }> = [];
for (let i = 0; i < N; i++) {
  const started = performance.now();
  directTokens += (await generate(runtime, { prompt: PROMPT, max_tokens: TOKENS })).tokens.length;
  direct.push(performance.now() - started);
  whole.push(await ask(false));
  streamed.push(await ask(true));
}
const startedTogether = performance.now();
const together = (
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      const out = [];
      for (let i = 0; i < N / 4; i++) out.push(await ask(false));
      return out;
    }),
  )
).flat();
const togetherMs = performance.now() - startedTogether;

const ms = (xs: number[], p: number) => percentile(xs, p).toFixed(1);
const lines = [
  `requests: ${N} × ${TOKENS} new tokens, greedy, prompt "${PROMPT}", stories260K + LoRA r=8`,
  `engine generate() (reference): ${tps(directTokens, sum(direct))} tokens/s, p50 ${ms(direct, 0.5)} ms`,
  `POST /v1/completions, whole:   ${tps(sum(whole.map((w) => w.tokens)), sum(whole.map((w) => w.ms)))} tokens/s, p50 ${ms(whole.map((w) => w.ms), 0.5)} ms, p95 ${ms(whole.map((w) => w.ms), 0.95)} ms; p50 over the reference: ${(percentile(whole.map((w) => w.ms), 0.5) - percentile(direct, 0.5)).toFixed(1)} ms`,
  `POST /v1/completions, stream:  first text p50 ${ms(streamed.map((s) => s.first), 0.5)} ms, whole p50 ${ms(streamed.map((s) => s.ms), 0.5)} ms, ~${Math.round(sum(streamed.map((s) => s.tokens)) / N)} SSE events a request`,
  `4 clients at once (max_concurrent 1, queued): ${tps(sum(together.map((w) => w.tokens)), togetherMs)} tokens/s overall, latency p50 ${ms(together.map((w) => w.ms), 0.5)} ms, p95 ${ms(together.map((w) => w.ms), 0.95)} ms`,
];
process.stdout.write(`${lines.join('\n')}\n`);
await server.close();
await closeServices(services);
rmSync(home, { recursive: true, force: true });
