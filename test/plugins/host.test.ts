import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { definePlugin, PLUGIN_API_VERSION, type PluginDefinition } from '../../src/plugins/types.js';
import { listBackendsTool } from '../../tools/list-backends.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

const training = { methods: ['sft'], approaches: ['lora'], resume: true, cancel: true, devices: ['cpu'], remote: false, inference: false, max_concurrent_jobs: 1 } as const;

function plugin(name: string, extra: Partial<PluginDefinition<any>> = {}): PluginDefinition<any> {
  return definePlugin({
    meta: { name, version: '1.0.0', api_version: PLUGIN_API_VERSION, description: `${name} test backend` },
    provides: ['training_backend'],
    capabilities: { training: { ...training, methods: [...training.methods], approaches: [...training.approaches], devices: [...training.devices] } },
    create: () => ({ training_backend: { validate: async () => [], start: async () => ({ remote_id: 'x', cancel: async () => {} }) } }),
    ...extra,
  });
}

describe('plugin host', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('gives each bad plugin its stable code and keeps the server and the good plugins running', async () => {
    t = await connectTestClient({
      plugins: [
        plugin('good'),
        plugin('good'),
        plugin('api-one', { meta: { name: 'api-one', version: '1.0.0', api_version: 1, description: 'written for plugin API 1' } }),
        plugin('future', { meta: { name: 'future', version: '1.0.0', api_version: PLUGIN_API_VERSION + 1, description: 'from the future' } }),
        plugin('configured', { configSchema: z.object({ gpu: z.enum(['A100', 'H100']).default('A100') }) }),
        plugin('probe-throws', { probe: () => { throw new Error('native binding missing'); } }),
        plugin('no-key', { probe: () => ({ available: false, reason: 'OPENAI_API_KEY is not set.', fix: 'Set OPENAI_API_KEY.' }) }),
        { meta: { name: 'Bad Name', version: '1', api_version: 1, description: '' } } as never,
        plugin('create-fails', { create: () => { throw new Error('boom'); } }),
      ],
      config: { plugins: { configured: { gpu: 'TPU' } }, external_plugins: ['finetune-mcp-plugin-that-does-not-exist'] },
    });
    const info = await t.callOk(serverInfoTool);
    const byName = (name: string) => info.plugins.filter((p) => p.name === name);
    expect(byName('good')).toHaveLength(2);
    expect(byName('good')[0]).toMatchObject({ status: 'enabled' });
    expect(byName('good')[1]).toMatchObject({ status: 'disabled', code: 'PLUGIN_DUPLICATE' });
    expect(byName('future')[0]).toMatchObject({ status: 'disabled', code: 'PLUGIN_API_VERSION' });
    expect(byName('api-one')[0]).toMatchObject({
      status: 'disabled',
      code: 'PLUGIN_API_VERSION',
      reason: "Plugin 'api-one' targets plugin API 1; this server speaks 2.",
      fix: 'Upgrade the plugin (or finetune-mcp) so both speak the same plugin API version.',
    });
    await expect(t.services.plugins.get('training_backend', 'api-one')).rejects.toMatchObject({ code: 'PLUGIN_UNAVAILABLE', message: expect.stringContaining('this server speaks 2') });
    expect(byName('configured')[0]).toMatchObject({ status: 'disabled', code: 'PLUGIN_CONFIG_INVALID' });
    expect(byName('configured')[0].reason).toContain('plugins.configured.gpu');
    expect(byName('probe-throws')[0]).toMatchObject({ status: 'disabled', code: 'PLUGIN_PROBE_FAILED' });
    expect(byName('probe-throws')[0].reason).toContain('native binding missing');
    expect(byName('no-key')[0]).toMatchObject({ status: 'disabled', code: 'PLUGIN_UNAVAILABLE', fix: 'Set OPENAI_API_KEY.' });
    expect(byName('Bad Name')[0]).toMatchObject({ status: 'disabled', code: 'PLUGIN_INVALID' });
    expect(byName('finetune-mcp-plugin-that-does-not-exist')[0]).toMatchObject({ status: 'disabled', code: 'PLUGIN_LOAD_FAILED' });

    const { backends } = await t.callOk(listBackendsTool, { include_disabled: false });
    expect(backends.map((b) => b.name).sort()).toEqual(['create-fails', 'good']);

    await expect(t.services.plugins.get('training_backend', 'create-fails')).rejects.toMatchObject({ code: 'PLUGIN_UNAVAILABLE' });
    expect(t.services.plugins.status('create-fails')).toMatchObject({ status: 'disabled', code: 'PLUGIN_LOAD_FAILED' });
    await expect(t.services.plugins.get('training_backend', 'no-key')).rejects.toMatchObject({ code: 'PLUGIN_UNAVAILABLE', recovery: 'Set OPENAI_API_KEY.' });
    await expect(t.services.plugins.get('training_backend', 'missing')).rejects.toThrow(/Enabled training_backend plugins: good/);
    const backend = await t.services.plugins.get('training_backend', 'good');
    expect(await backend.validate({} as never)).toEqual([]);
  });

  it('creates a provider once, lazily', async () => {
    let created = 0;
    t = await connectTestClient({
      plugins: [plugin('lazy', { create: () => { created++; return { training_backend: { validate: async () => [], start: async () => ({ remote_id: '1', cancel: async () => {} }) } }; } })],
    });
    expect(created).toBe(0);
    await Promise.all([t.services.plugins.get('training_backend', 'lazy'), t.services.plugins.get('training_backend', 'lazy')]);
    expect(created).toBe(1);
  });

  it('gives a plugin a small public context: config, logger, env, its own data folder (made before create) and the worker ledger', async () => {
    let seen: Record<string, unknown> | undefined;
    t = await connectTestClient({
      plugins: [
        plugin('ctx', {
          create: (ctx) => {
            seen = { keys: Object.keys(ctx).sort(), data_dir: ctx.data_dir, made: existsSync(ctx.data_dir), recorded: ctx.workers.recorded('job_none') };
            return { training_backend: { validate: async () => [], start: async () => ({ remote_id: '1', cancel: async () => {} }) } };
          },
        }),
      ],
    });
    await t.services.plugins.get('training_backend', 'ctx');
    expect(seen).toEqual({ keys: ['config', 'data_dir', 'env', 'logger', 'workers'], data_dir: join(t.home, 'plugins', 'ctx'), made: true, recorded: undefined });
  });
});
