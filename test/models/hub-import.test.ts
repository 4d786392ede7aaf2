import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { convertLlama2c } from '../../src/models/files/llama2c.js';
import { encodeSafetensors, readSafetensors } from '../../src/models/files/safetensors.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { ModelService } from '../../src/models/service.js';
import { Workspace } from '../../src/workspace/workspace.js';
import { importModelTool } from '../../tools/import-model.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { fakeCommit, startFakeHub, type FakeHub } from './fake-hub.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const TOKEN = 'hf_fake_token_for_tests';

let work: string;
let files: Record<string, Uint8Array>;
let hub: FakeHub;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ftm-hub-'));
  const folder = join(work, 'hf');
  convertLlama2c({ checkpoint: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin'), out_dir: folder });
  files = Object.fromEntries(readdirSync(folder).map((f) => [f, readFileSync(join(folder, f))]));
  // The same model saved in two shards with an index, as transformers does past max_shard_size.
  const all = [...readSafetensors(join(folder, 'model.safetensors'))].sort(([a], [b]) => a.localeCompare(b));
  const halves = [all.slice(0, 20), all.slice(20)];
  const shardName = (i: number) => `model-0000${i + 1}-of-00002.safetensors`;
  const sharded: Record<string, Uint8Array> = { ...files };
  delete sharded['model.safetensors'];
  halves.forEach((part, i) => (sharded[shardName(i)] = encodeSafetensors(new Map(part.map(([n, t]) => [n, { shape: t.shape, data: t.data }])))));
  const weightMap = Object.fromEntries(halves.flatMap((part, i) => part.map(([n]) => [n, shardName(i)])));
  sharded['model.safetensors.index.json'] = Buffer.from(JSON.stringify({ metadata: { total_size: 260_032 * 4 }, weight_map: weightMap }));
  const withReadme = { ...files, 'README.md': Buffer.from('# stories260K\n'), 'pytorch_model.bin': Buffer.from('not wanted') };
  const broken = Buffer.from(files['model.safetensors']);
  broken[1000] ^= 0xff;
  hub = await startFakeHub({
    'karpathy/stories260K': { files: withReadme, lfs: ['model.safetensors', 'tokenizer.json', 'pytorch_model.bin'] },
    'meta/gated-stories': { files, lfs: ['model.safetensors'], gated_token: TOKEN },
    'bad/corrupted': { files, lfs: ['model.safetensors'], corrupt: { 'model.safetensors': broken } },
    'big/sharded': { files: sharded, lfs: [shardName(0), shardName(1)] },
    'nobody/no-weights': { files: { 'config.json': files['config.json'], 'pytorch_model.bin': Buffer.from('x') } },
  });
});
afterAll(async () => {
  await hub?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('import_model from a (fake, local) Hugging Face Hub', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('downloads only the model files, checksums them, records the commit, and reuses the cache', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work], models: { hub_url: hub.url } } });
    const stdout = vi.spyOn(process.stdout, 'write');
    const first = await t.callOk(importModelTool, { source: 'karpathy/stories260K' });
    expect(stdout.mock.calls.filter((c) => String(c[0]).includes('Downloading'))).toEqual([]);
    stdout.mockRestore();
    expect(first).toMatchObject({ created: true, source_kind: 'hub', source: 'karpathy/stories260K', revision: fakeCommit('karpathy/stories260K'), parameters: 260_032, context_length: 512 });
    expect(first.sha256).toBe(createHash('sha256').update(files['model.safetensors']).digest('hex'));
    const downloaded = hub.requests.filter((r) => r.path.includes('/resolve/') && r.range !== 'bytes=0-0').map((r) => r.path.split('/').pop());
    // README.md comes too: its front matter states the licence (inspect_model reports it).
    expect(downloaded.sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readdirSync(first.dir).sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    // Hub cache layout as huggingface_hub writes it.
    expect(existsSync(join(t.home, 'hub-cache', 'models--karpathy--stories260K', 'snapshots', first.revision!, 'config.json'))).toBe(true);

    const before = hub.requests.length;
    const again = await t.callOk(importModelTool, { source: 'karpathy/stories260K', revision: 'main' });
    expect(again).toMatchObject({ created: false, model_id: first.model_id });
    expect(hub.requests.slice(before).filter((r) => r.path.includes('/resolve/'))).toEqual([]); // served from the cache
  });

  it('maps 404 to NOT_FOUND, gated to AUTH_INVALID, bad checksums to UPSTREAM_ERROR, no safetensors to MODEL_UNSUPPORTED', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work], models: { hub_url: hub.url } } });
    const missing = await t.call('import_model', { source: 'nobody/nothing' });
    expect(errorCode(missing)).toBe('NOT_FOUND');
    expect(resultText(missing)).toMatch(/nobody\/nothing.*req-fake-1/);
    const badRevision = await t.call('import_model', { source: 'karpathy/stories260K', revision: 'v9' });
    expect(errorCode(badRevision)).toBe('NOT_FOUND');
    const gated = await t.call('import_model', { source: 'meta/gated-stories' });
    expect(errorCode(gated)).toBe('AUTH_INVALID');
    expect(resultText(gated)).toMatch(/HF_TOKEN/);
    const corrupted = await t.call('import_model', { source: 'bad/corrupted' });
    expect(errorCode(corrupted)).toBe('UPSTREAM_ERROR');
    expect(resultText(corrupted)).toMatch(/model.safetensors.*checksum/);
    const noWeights = await t.call('import_model', { source: 'nobody/no-weights' });
    expect(errorCode(noWeights)).toBe('MODEL_UNSUPPORTED');
    expect(readdirSync(join(t.home, 'models'))).toEqual([]);
    // The corrupt blob was not kept in the cache.
    const blobs = join(t.home, 'hub-cache', 'models--bad--corrupted', 'blobs');
    expect(readdirSync(blobs).filter((b) => b.length === 64)).not.toContain(createHash('sha256').update(files['model.safetensors']).digest('hex'));
  });

  it('imports a sharded repo (index + shards) with the same parameter count', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work], models: { hub_url: hub.url } } });
    const m = await t.callOk(importModelTool, { source: 'big/sharded' });
    expect(m).toMatchObject({ created: true, parameters: 260_032, architecture: 'llama' });
    expect(readdirSync(m.dir)).toContain('model.safetensors.index.json');
    expect(readdirSync(m.dir)).toContain('model-00002-of-00002.safetensors');
  });

  it('passes HF_TOKEN to a gated repo', async () => {
    t = await connectTestClient({ config: { allowed_roots: [work], models: { hub_url: hub.url } }, env: { HF_TOKEN: TOKEN } });
    const before = hub.requests.length;
    const gated = await t.callOk(importModelTool, { source: 'meta/gated-stories' });
    expect(gated.created).toBe(true);
    expect(hub.requests.slice(before).filter((r) => r.path.includes('gated-stories')).every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('resumes a partial download with a Range request (HF_ENDPOINT from the environment)', async () => {
    const home = mkdtempSync(join(work, 'home-'));
    const workspace = Workspace.open({ root: home });
    try {
      const service = new ModelService({ workspace, logger: createSilentLogger(), env: { HF_ENDPOINT: hub.url } });
      const weights = files['model.safetensors'];
      const blob = createHash('sha256').update(weights).digest('hex');
      const blobs = join(home, 'hub-cache', 'models--karpathy--stories260K', 'blobs');
      mkdirSync(blobs, { recursive: true });
      const half = Math.floor(weights.length / 2);
      writeFileSync(join(blobs, `${blob}.incomplete`), weights.subarray(0, half));
      const before = hub.requests.length;
      const { model, created } = await service.import('karpathy/stories260K');
      expect(created).toBe(true);
      expect(hub.requests.slice(before).some((r) => r.range === `bytes=${half}-${weights.length - 1}`)).toBe(true);
      expect(createHash('sha256').update(readFileSync(join(model.dir, 'model.safetensors'))).digest('hex')).toBe(blob);
    } finally {
      workspace.close();
    }
  });
});
