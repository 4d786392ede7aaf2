/** push_model through a real MCP client against a local fake of the Hub's write API (test/models/fake-hub-upload.ts). */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importModelTool } from '../../tools/import-model.js';
import { modelCardTool } from '../../tools/model-card.js';
import { pushModelTool } from '../../tools/push-model.js';
import { registerModelTool } from '../../tools/register-model.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { writeAdapter } from '../registry/records.js';
import { startFakeUploadHub, type FakeUploadHub } from './fake-hub-upload.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const TOKEN = 'hf_fake_write_token';

describe('push_model', () => {
  let hub: FakeUploadHub;
  let t: TestClient;
  let adapter: string;

  beforeAll(async () => {
    hub = await startFakeUploadHub({ token: TOKEN });
    t = await connectTestClient({ config: { allowed_roots: [ASSETS], models: { hub_url: hub.url } }, env: { HF_TOKEN: TOKEN } });
    await t.callOk(importModelTool, { source: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin') });
    // Each version its own weights, so each push has an LFS object of its own to upload.
    for (const [i, version] of ['1.0.0', '1.1.0', '1.2.0'].entries()) {
      adapter = writeAdapter(join(t.home, 'in', `adapter-${i}`), { kv_dim: 32, seed: i + 1 });
      await t.callOk(registerModelTool, { name: 'stories-bot', version, adapter_path: adapter });
    }
  });
  afterAll(async () => {
    await t?.close();
    await hub?.close();
  });

  const commitsTitled = (repo: string, version: string) => hub.repos.get(repo)!.commits.filter((c) => c.title.startsWith(`stories-bot@${version} `));

  it('creates a private repo and commits the adapter (LFS) and the model card, recorded in the registry and the card', async () => {
    const out = await t.callOk(pushModelTool, { version: 'stories-bot@1.0.0', repo: 'me/stories-bot' });
    expect(out.repo_created).toBe(true);
    expect(out.reused_commit).toBe(false);
    expect(hub.repos.get('me/stories-bot')!.visibility).toBe('private');
    const [commit] = commitsTitled('me/stories-bot', '1.0.0');
    expect(commit.id).toBe(out.push.commit_oid);
    expect(commit.title).toMatch(/^stories-bot@1\.0\.0 \(adapter\) lineage [0-9a-f]{12}$/);
    expect(commit.title).toContain(out.push.lineage_sha256.slice(0, 12));
    expect(commit.message).toContain(`lineage sha256: ${out.push.lineage_sha256}`);
    expect([...commit.files.keys()].sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
    // The weights went through LFS (batch + PUT), byte for byte.
    expect(hub.requests.some((r) => r.method === 'PUT' && r.path.startsWith('/lfs-upload/'))).toBe(true);
    expect(commit.files.get('adapter_model.safetensors')).toEqual(readFileSync(join(out.source_dir, 'adapter_model.safetensors')));
    const readme = commit.files.get('README.md')!.toString();
    expect(readme).toMatch(/^---\nlibrary_name: peft\n/);
    expect(readme).toContain('# stories-bot 1.0.0');

    expect(out.pushes).toEqual([out.push]);
    const card = await t.callOk(modelCardTool, { name: 'stories-bot', version: '1.0.0' });
    expect(card.markdown).toContain('## Published');
    expect(card.markdown).toContain(`[me/stories-bot](${hub.url}/me/stories-bot) \`main\`, commit [\`${out.push.commit_oid.slice(0, 12)}\`]`);
  });

  it('reuses an existing repo (409) and never commits a version twice', async () => {
    const again = await t.callOk(pushModelTool, { version: 'stories-bot@1.0.0', repo: 'me/stories-bot' });
    expect(again.repo_created).toBe(false);
    expect(again.reused_commit).toBe(true);
    expect(commitsTitled('me/stories-bot', '1.0.0')).toHaveLength(1);
    expect(again.pushes).toHaveLength(1);
    expect(again.push).toEqual(again.pushes[0]);
  });

  it('after a failed upload, a retry commits once', async () => {
    hub.fail({ method: 'PUT', path: /^\/lfs-upload\//, status: 500 });
    const failed = await t.call('push_model', { version: 'stories-bot@1.1.0', repo: 'me/stories-bot' });
    expect(errorCode(failed)).toBe('UPSTREAM_ERROR');
    expect(resultText(failed)).toContain('Call push_model again');
    expect(commitsTitled('me/stories-bot', '1.1.0')).toHaveLength(0);
    expect(hub.lfs.size).toBe(1); // only 1.0.0's weights are stored
    const retried = await t.callOk(pushModelTool, { version: 'stories-bot@1.1.0', repo: 'me/stories-bot' });
    expect(retried.reused_commit).toBe(false);
    expect(commitsTitled('me/stories-bot', '1.1.0')).toHaveLength(1);
  });

  it('after a commit whose answer was lost (5xx once it landed), a retry finds it instead of committing again', async () => {
    hub.fail({ method: 'POST', path: /\/commit\/main$/, status: 502, after: true });
    const failed = await t.call('push_model', { version: 'stories-bot@1.2.0', repo: 'me/stories-bot' });
    expect(errorCode(failed)).toBe('UPSTREAM_ERROR');
    expect(commitsTitled('me/stories-bot', '1.2.0')).toHaveLength(1);
    const retried = await t.callOk(pushModelTool, { version: 'stories-bot@1.2.0', repo: 'me/stories-bot' });
    expect(retried.reused_commit).toBe(true);
    expect(retried.push.commit_oid).toBe(commitsTitled('me/stories-bot', '1.2.0')[0].id);
    expect(commitsTitled('me/stories-bot', '1.2.0')).toHaveLength(1);
  });

  it('passes format through to the export service (onnx) and refuses one it cannot write yet', async () => {
    const onnx = await t.callOk(pushModelTool, { version: 'stories-bot@1.0.0', repo: 'me/stories-bot-onnx', format: 'onnx', private: false });
    expect(hub.repos.get('me/stories-bot-onnx')!.visibility).toBe('public');
    expect(onnx.push.files).toContain('onnx/model.onnx');
    expect(onnx.pushes.map((p) => p.format)).toEqual(['adapter', 'onnx']);
    const unknown = await t.call('push_model', { version: 'stories-bot@1.0.0', repo: 'me/x', format: 'tflite' });
    expect(['CAPABILITY_UNSUPPORTED', 'INVALID_INPUT']).toContain(errorCode(unknown));
    expect(resultText(unknown)).toContain('tflite');
    expect(hub.repos.has('me/x')).toBe(false);
    // The refused export is removed; the onnx push's export stays (it is what was pushed).
    expect(readdirSync(join(t.home, 'exports'))).toEqual([basename(onnx.source_dir)]);
  });

  it('says what is wrong: a bad repo id, an unknown version, a refused token, a Hub failure', async () => {
    const badRepo = await t.call('push_model', { version: 'stories-bot@1.0.0', repo: 'no-owner' });
    expect(errorCode(badRepo)).toBe('INVALID_INPUT');
    expect(resultText(badRepo)).toContain('owner/name');
    expect(errorCode(await t.call('push_model', { version: 'stories-bot@9.0.0', repo: 'me/x' }))).toBe('NOT_FOUND');
    hub.fail({ method: 'POST', path: /^\/api\/repos\/create$/, status: 401 });
    const refused = await t.call('push_model', { version: 'stories-bot@1.0.0', repo: 'me/y' });
    expect(errorCode(refused)).toBe('AUTH_INVALID');
    expect(resultText(refused)).toContain('write access');
    hub.fail({ method: 'POST', path: /^\/api\/repos\/create$/, status: 503 });
    const down = await t.call('push_model', { version: 'stories-bot@1.0.0', repo: 'me/y' });
    expect(errorCode(down)).toBe('UPSTREAM_ERROR');
    expect((down._meta as { retryable?: boolean }).retryable).toBe(true);
  });

  it('needs a token', async () => {
    const bare = await connectTestClient({ config: { allowed_roots: [join(t.home, 'in')], models: { hub_url: hub.url } }, env: {} });
    try {
      await bare.callOk(registerModelTool, { name: 'm', version: '1.0.0', adapter_path: adapter });
      const none = await bare.call('push_model', { version: 'm@1.0.0', repo: 'me/m' });
      expect(errorCode(none)).toBe('AUTH_INVALID');
      expect(resultText(none)).toContain('HF_TOKEN');
    } finally {
      await bare.close();
    }
  });
});
