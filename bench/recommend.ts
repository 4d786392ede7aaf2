/**
 * `npm run bench recommend`: time and result size of recommend_base_model through the SDK client,
 * on the shipped catalogue: the acceptance query (constraints and hardware only), then with a
 * dataset version (the demo's 200 stories) and the local backend, which adds an estimate_resources
 * run per candidate. Median of repeated calls after one warm-up.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createSilentLogger } from '../src/observability/logger.js';
import { packageRoot } from '../src/package-root.js';
import { createServer } from '../src/server/create-server.js';
import { closeServices, createServices } from '../src/services.js';

const home = mkdtempSync(join(tmpdir(), 'ftm-bench-recommend-'));
const stories = join(packageRoot(), 'assets', 'demo', 'moon-stories.jsonl');
const services = await createServices(loadConfig({ argv: ['--home', home], env: {}, overrides: { allowed_roots: [stories] } }), { logger: createSilentLogger(), env: {} });
const server = createServer({ services, toolGroups: ['all'] });
const client = new Client({ name: 'bench', version: '0' });
const [a, b] = InMemoryTransport.createLinkedPair();
await Promise.all([server.connect(b), client.connect(a)]);

async function measure(label: string, args: Record<string, unknown>, runs = 15): Promise<void> {
  const call = () => client.callTool({ name: 'recommend_base_model', arguments: args });
  const first = await call();
  if (first.isError) throw new Error(JSON.stringify(first.content));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await call();
    times.push(performance.now() - start);
  }
  times.sort((x, y) => x - y);
  const size = Buffer.byteLength(JSON.stringify(first));
  const structured = first.structuredContent as { candidates_total: number; excluded: { total: number } };
  process.stdout.write(
    `${label.padEnd(46)} median ${times[Math.floor(runs / 2)].toFixed(1).padStart(6)} ms (min ${times[0].toFixed(1)}, max ${times[runs - 1].toFixed(1)}), ` +
      `result ${(size / 1000).toFixed(1)} KB, ${structured.candidates_total} candidates, ${structured.excluded.total} excluded\n`,
  );
}

await measure('chat, de, commercial, ≤ 8B, 1x24GB (limit 5)', { task: 'chat', languages: ['de'], licence: 'commercial', max_params: 8e9, hardware: '1x24GB' });
await measure('same, limit 50', { task: 'chat', languages: ['de'], licence: 'commercial', max_params: 8e9, hardware: '1x24GB', limit: 50 });
const prepared = await client.callTool({ name: 'prepare_dataset', arguments: { path: stories, name: 'stories' } });
const dataset_id = (prepared.structuredContent as { dataset_id: string }).dataset_id;
await measure('completion, en, dataset (200 rows), backend local', { task: 'completion', languages: ['en'], dataset_id, backend: 'local' }, 7);
await client.close();
await closeServices(services);
rmSync(home, { recursive: true, force: true });
