/**
 * The control plane's costs: what reporting through the SQLite ledger sink costs a training step
 * (each point is its own transaction, so a SIGKILL loses at most one), against plain autocommit
 * INSERTs into the same table in the same run; and how long monitor_training takes on a job with
 * thousands of events and metric points, through a real MCP client.
 * Run: npm run bench training
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createSilentLogger } from '../src/observability/logger.js';
import { createServer } from '../src/server/create-server.js';
import { closeServices, createServices } from '../src/services.js';
import { defaultPolicy } from '../src/training/config-schema.js';
import { JobLedger } from '../src/training/ledger.js';
import { createLedgerSink } from '../src/training/ledger-sink.js';
import { resolveHyperparameters } from '../src/training/templates.js';
import { Workspace } from '../src/workspace/workspace.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';

const home = mkdtempSync(join(tmpdir(), 'ftm-bench-training-'));
const workspace = Workspace.open({ root: home });
const ledger = new JobLedger(workspace.db);
ledger.insertConfig({
  config_id: 'cfg_bench',
  base_model: 'm',
  dataset_id: 'ds',
  method: 'sft',
  approach: 'lora',
  backend: 'fake',
  template: 'smoke',
  hyperparameters: resolveHyperparameters('smoke'),
  backend_options: {},
  policy: { ...defaultPolicy(), max_cost_usd: 1e9, max_runtime_s: 1e9 },
  parent_config_id: null,
});
const job = ledger.create({ config_id: 'cfg_bench', backend: 'fake', policy: { ...defaultPolicy(), max_cost_usd: 1e9, max_runtime_s: 1e9, cost_usd_per_s: 0 } });
const sink = createLedgerSink(workspace, job.job_id);
sink.status('running');

const N = 3000;
// Reference: the same rows as plain autocommit INSERTs, no job update, no policy checks.
const insert = workspace.db.prepare('INSERT INTO job_metrics (job_id, name, step, value, time) VALUES (?, ?, ?, ?, ?)');
let t0 = performance.now();
for (let i = 0; i < N; i++) insert.run(job.job_id, 'ref', i, i, new Date().toISOString());
const rawUs = ((performance.now() - t0) * 1000) / N;

// A training step reports loss, tokens_per_s and epoch: three sink.metric calls.
t0 = performance.now();
for (let step = 1; step <= N / 3; step++) {
  sink.metric('loss', step, 2 / step);
  sink.metric('tokens_per_s', step, 10_000);
  sink.metric('epoch', step, step / N);
}
const sinkUs = ((performance.now() - t0) * 1000) / N;
const stepUs = sinkUs * 3;
// The local trainer's step on this machine: 8 × 256 tokens at ~10,500 tokens/s (FACTS.md) ≈ 195 ms.
const trainerStepMs = ((8 * 256) / 10_500) * 1000;
for (let i = 0; i < 2000; i++) sink.event('log', `line ${i}`);

process.stdout.write(`ledger metric point, plain INSERT (reference): ${rawUs.toFixed(1)} µs\n`);
process.stdout.write(`ledger metric point through createLedgerSink (transaction + job progress + guardrail/budget checks): ${sinkUs.toFixed(1)} µs (${(sinkUs / rawUs).toFixed(1)}× the plain INSERT)\n`);
process.stdout.write(`reporting one step (3 points): ${(stepUs / 1000).toFixed(2)} ms = ${((stepUs / 1000 / trainerStepMs) * 100).toFixed(2)} % of a ${trainerStepMs.toFixed(0)} ms local trainer step\n`);
workspace.close();

// monitor_training on that job (1000 steps, ~5000 events in the ledger) through a real client.
const config = loadConfig({ argv: ['--home', home], env: {} });
const services = await createServices(config, { logger: createSilentLogger(), plugins: [] });
const server = createServer({ services });
const client = new Client({ name: 'bench', version: '0' });
const [a, b] = InMemoryTransport.createLinkedPair();
await Promise.all([server.connect(b), client.connect(a)]);
const times: number[] = [];
for (let i = 0; i < 30; i++) {
  const s = performance.now();
  await client.callTool({ name: 'monitor_training', arguments: { job_id: job.job_id, events_limit: 100, include_plot: i % 2 === 0 } });
  times.push(performance.now() - s);
}
times.sort((x, y) => x - y);
process.stdout.write(`monitor_training (1000-step job, 100 events, PNG every other call): median ${times[15].toFixed(1)} ms, max ${times[29].toFixed(1)} ms over 30 calls\n`);
await client.close();
await closeServices(services);
rmSync(home, { recursive: true, force: true });
