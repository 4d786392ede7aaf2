import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAcme } from '../../examples/acme-backend/test/fake-acme.js';
import { builtCli, REPO_ROOT } from '../helpers/build.js';

const run = promisify(execFile);
const EXAMPLE = join(REPO_ROOT, 'examples', 'acme-backend');

interface ToolText {
  isError?: boolean;
  text: string;
  data: Record<string, any>;
}

/**
 * The example third-party plugin (examples/acme-backend) as a user installs it: a folder whose
 * node_modules holds finetune-mcp (the built repo) and acme-backend, the server started from there
 * with `external_plugins: ['acme-backend']`, driven by the MCP SDK client over stdio against a fake
 * Acme API. The plugin's types come from the installed package's .d.ts files, and it passes the
 * contract suite of finetune-mcp/plugin/testing on its own.
 */
describe('example third-party plugin (examples/acme-backend), installed beside the server', () => {
  const root = mkdtempSync(join(tmpdir(), 'acme-install-'));
  const plugin = join(root, 'node_modules', 'acme-backend');
  const home = join(root, 'workspace');
  const fake = new FakeAcme();
  const clients: Client[] = [];
  /** What tsc read to build the plugin (`--listFiles`). */
  let compiled: string[] = [];

  beforeAll(async () => {
    builtCli();
    const modules = join(root, 'node_modules');
    mkdirSync(join(modules, '@types'), { recursive: true });
    symlinkSync(REPO_ROOT, join(modules, 'finetune-mcp'));
    // What the plugin's devDependencies bring; the same copies as the server's, so vitest has one instance.
    symlinkSync(realpathSync(join(REPO_ROOT, 'node_modules', '@types', 'node')), join(modules, '@types', 'node'));
    symlinkSync(realpathSync(join(REPO_ROOT, 'node_modules', 'vitest')), join(modules, 'vitest'));
    mkdirSync(plugin);
    for (const entry of ['src', 'test', 'package.json', 'tsconfig.json']) cpSync(join(EXAMPLE, entry), join(plugin, entry), { recursive: true });
    // The plugin's own build (`npm run build` there): its dist is what the server imports.
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const { stdout } = await run(process.execPath, [tsc, '-p', join(plugin, 'tsconfig.json'), '--listFiles'], { cwd: plugin, maxBuffer: 16 * 2 ** 20 });
    compiled = stdout.split('\n');
    await fake.start();
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await fake.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function serve(pluginSection: Record<string, unknown>): Promise<{ client: Client; pid: number; call(name: string, args?: Record<string, unknown>): Promise<ToolText> }> {
    const config = join(root, 'finetune-mcp.json');
    writeFileSync(config, JSON.stringify({ external_plugins: ['acme-backend'], plugins: { acme: pluginSection } }));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(root, 'node_modules', 'finetune-mcp', 'dist', 'src', 'cli.js'), 'serve', '--config', config],
      cwd: root,
      env: { ...process.env, FINETUNE_MCP_HOME: home, FINETUNE_MCP_ALLOWED_ROOTS: root } as Record<string, string>,
      stderr: 'ignore',
    });
    const client = new Client({ name: 'acme-e2e', version: '0' });
    await client.connect(transport);
    clients.push(client);
    const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolText> => {
      const result = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: Array<{ type: string; text?: string }>; structuredContent?: Record<string, any> };
      return { isError: result.isError, text: result.content.map((c) => c.text ?? '').join('\n'), data: result.structuredContent ?? {} };
    };
    return { client, pid: transport.pid!, call };
  }

  const ok = async (pending: Promise<ToolText>): Promise<Record<string, any>> => {
    const result = await pending;
    expect(result.isError, result.text).toBeFalsy();
    return result.data;
  };

  it('is ≤ 200 lines and imports nothing of the project but finetune-mcp/plugin', () => {
    const source = readFileSync(join(EXAMPLE, 'src', 'index.ts'), 'utf8');
    expect(source.split('\n').length).toBeLessThanOrEqual(200);
    const specifiers = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(specifiers.filter((s) => !s.startsWith('node:'))).toEqual(['finetune-mcp/plugin']);
  });

  it('type-checks against the installed package: its .d.ts files through the exports map, never the repo sources', () => {
    const ours = compiled.filter((file) => file.startsWith(REPO_ROOT) && !file.includes('/node_modules/'));
    expect(ours).toContain(join(REPO_ROOT, 'dist', 'src', 'plugin-sdk', 'index.d.ts'));
    expect(ours).toContain(join(REPO_ROOT, 'dist', 'src', 'plugin-sdk', 'testing.d.ts'));
    expect(ours.filter((file) => !file.endsWith('.d.ts'))).toEqual([]);
    // The public types stay small: no workspace, services, tools or concrete plugins come along.
    expect(ours.filter((file) => /\/(workspace\/workspace|services|tools|plugins\/(local|openai|together|modal))/.test(file))).toEqual([]);
  });

  it('passes the remote backend contract suite of finetune-mcp/plugin/testing, run from its own folder', async () => {
    const vitest = join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const { stdout } = await run(process.execPath, [vitest, 'run', '--root', plugin, 'test/contract.test.ts'], { cwd: plugin, env: { ...process.env, NO_COLOR: '1' } });
    expect(stdout).toMatch(/Tests\s+8 passed \(8\)/);
  }, 120_000);

  it('with a bad plugins.acme section the plugin is disabled with PLUGIN_CONFIG_INVALID naming the field', async () => {
    const { call, client } = await serve({ base_url: fake.url, api_key: fake.api_key, max_retries: 'many' });
    const { plugins } = await ok(call('server_info'));
    const acme = plugins.find((p: { name: string }) => p.name === 'acme');
    expect(acme).toMatchObject({ status: 'disabled', code: 'PLUGIN_CONFIG_INVALID' });
    expect(acme.reason).toContain('plugins.acme.max_retries');
    const { backends } = await ok(call('list_backends', { include_disabled: true }));
    expect(backends.find((b: { name: string }) => b.name === 'acme')).toMatchObject({ status: 'disabled', reason: acme.reason });
    await client.close();
  });

  it('trains to succeeded, re-attaches after a restart, reaches the provider on cancel, and reports failures as [CODE] … Recovery: …', async () => {
    const section = { base_url: fake.url, api_key: fake.api_key, max_retries: 0 };
    let server = await serve(section);
    const { backends } = await ok(server.call('list_backends', { include_disabled: false }));
    expect(backends.find((b: { name: string }) => b.name === 'acme')).toMatchObject({ status: 'enabled' });

    const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `What is ${i} + 1?` }, { role: 'assistant', content: `${i + 1}` }] }));
    writeFileSync(join(root, 'sums.jsonl'), `${rows.join('\n')}\n`);
    const { dataset_id } = await ok(server.call('prepare_dataset', { path: join(root, 'sums.jsonl') }));

    const start = async (label: string) => {
      const config = await ok(server.call('configure_training', { base_model: 'acme-tiny-1b', dataset_id, backend: 'acme', method: 'sft', approach: 'lora', template: 'smoke' }));
      const plan = await ok(server.call('plan_training', { config_id: config.config_id }));
      expect(plan.verdict, `${label}: ${plan.reasons?.join(' ')}`).toBe('go');
      return ok(server.call('start_training', { plan_id: plan.plan_id }));
    };
    const waitFor = async (job_id: string, done: (status: string) => boolean): Promise<ToolText> => {
      for (let i = 0; i < 60; i++) {
        const result = await server.call('monitor_training', { job_id, wait_s: 1 });
        expect(result.isError, result.text).toBeFalsy();
        if (done(result.data.status)) return result;
      }
      throw new Error(`job ${job_id} did not get there`);
    };
    const ended = (status: string) => ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(status);

    // 1. A whole run.
    const first = await start('first');
    const firstEnd = await waitFor(first.job_id, ended);
    expect(firstEnd.data.status, firstEnd.text).toBe('succeeded');
    expect(fake.jobs.size).toBe(1);

    // 2. The server goes away mid-job and a new one picks the job up by its remote id (no second submit).
    fake.next = { total_steps: 25, step_ms: 200 };
    const second = await start('second');
    await waitFor(second.job_id, (status) => status === 'running');
    // Killed without a chance to detach, as by the OOM killer or a closed laptop.
    process.kill(server.pid, 'SIGKILL');
    await server.client.close();
    const secondRemote = [...fake.jobs.values()].at(-1)!.id;
    expect(fake.statusOf(secondRemote), 'Acme still runs the job while no server follows it').toBe('running');
    server = await serve(section);
    const secondEnd = await waitFor(second.job_id, ended);
    expect(secondEnd.data.status, secondEnd.text).toBe('succeeded');
    expect(fake.jobs.size, 'the restarted server followed the same Acme job').toBe(2);
    expect(secondEnd.data.events.filter((e: { type: string }) => e.type === 'reattached').map((e: { data: { remote_id: string } }) => e.data.remote_id)).toEqual([secondRemote]);

    // 3. cancel_training reaches Acme's cancel endpoint.
    fake.next = { total_steps: 50, step_ms: 200 };
    const third = await start('third');
    await waitFor(third.job_id, (status) => status === 'running');
    await ok(server.call('cancel_training', { job_id: third.job_id }));
    const thirdEnd = await waitFor(third.job_id, ended);
    expect(thirdEnd.data.status).toBe('cancelled');
    const thirdRemote = [...fake.jobs.values()].at(-1)!.id;
    expect(fake.cancelled.has(thirdRemote), 'Acme received the cancel').toBe(true);

    // 4. Acme fails the job: the agent reads our code and what to do.
    fake.next = { fail_at_step: 2, fail_type: 'out_of_memory' };
    const fourth = await start('fourth');
    const fourthEnd = await waitFor(fourth.job_id, ended);
    expect(fourthEnd.data.status).toBe('failed');
    expect(fourthEnd.text).toMatch(/\[OUT_OF_MEMORY\] .*Acme job .* failed: worker stopped at step 2.* Recovery: .+/);

    // 5. Acme refuses the job (quota): the same shape.
    fake.refuse_next = true;
    const filesBefore = fake.files.size;
    const fifth = await start('fifth');
    expect(fifth.status).toBe('failed');
    const fifthEnd = await waitFor(fifth.job_id, ended);
    expect(fifthEnd.text).toMatch(/\[QUOTA_EXCEEDED\] .*Acme refused creating the fine-tuning job: HTTP 402: monthly fine-tuning quota used up .* Recovery: Raise the provider account's quota/);
    expect(fake.files.size, 'the refused submit took its uploads back').toBe(filesBefore);
  }, 240_000);
});
