import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOOL_GROUPS, loadConfig, TOOL_GROUPS, type ToolGroup } from '../../src/config.js';
import { createSilentLogger } from '../../src/observability/logger.js';
import { connectInProcess } from '../../src/server/in-process-client.js';
import { closeServices, createServices } from '../../src/services.js';
import { TOOL_GROUP_MEMBERS, TOOLS } from '../../tools/index.js';
import { enableToolsTool } from '../../tools/enable-tools.js';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

const names = (groups: readonly ToolGroup[]) => groups.flatMap((g) => TOOL_GROUP_MEMBERS[g].map((t) => t.name));

describe('tool groups', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('lists the common path by default in at most 80 KB of tools/list', async () => {
    t = await connectTestClient({ toolGroups: 'config' });
    const listed = await t.client.listTools();
    // Measured through the SDK client as the bytes of the tools/list result (npm run bench tools-list prints it).
    expect(Buffer.byteLength(JSON.stringify(listed))).toBeLessThanOrEqual(80_000);
    expect(listed.tools.map((x) => x.name).sort()).toEqual(['server_info', 'enable_tools', ...names(DEFAULT_TOOL_GROUPS)].sort());
    // The path of the workflow prompt and the demo is all there.
    for (const tool of ['list_backends', 'validate_dataset', 'prepare_dataset', 'clean_dataset', 'split_dataset', 'import_model', 'list_models', 'configure_training', 'plan_training', 'start_training', 'monitor_training', 'evaluate_model', 'compare_models', 'generate', 'register_model', 'promote_model', 'model_card']) {
      expect(listed.tools.map((x) => x.name)).toContain(tool);
    }
    // What the model reads before a call stays whole: descriptions with their "Next:" hints, described inputs.
    const plan = listed.tools.find((x) => x.name === 'plan_training')!;
    expect(plan.description).toMatch(/Next: start_training/);
    expect(JSON.stringify(plan.inputSchema)).toContain('"description"');
    // Output schemas keep their structure and top-level required fields, without descriptions.
    expect(JSON.stringify(plan.outputSchema)).not.toContain('"description"');
    expect(plan.outputSchema?.required).toContain('plan_id');
    expect(plan.outputSchema?.properties).toHaveProperty('verdict');
  });

  it.each(TOOL_GROUPS)('lists the group %s alone when the config names it', async (group) => {
    t = await connectTestClient({ toolGroups: 'config', config: { tools: { groups: [group] } } });
    const listed = (await t.client.listTools()).tools.map((x) => x.name);
    expect(listed.sort()).toEqual(['server_info', 'enable_tools', ...names([group])].sort());
  });

  it('lists every tool with "all", and then has no enable_tools', async () => {
    t = await connectTestClient({ toolGroups: 'config', config: { tools: { groups: ['all'] } } });
    const listed = (await t.client.listTools()).tools.map((x) => x.name);
    expect(listed.sort()).toEqual(TOOLS.map((x) => x.name).sort());
    expect(TOOLS).toHaveLength(new Set(TOOLS).size);
  });

  it('server_info names what is not listed, a call by name runs it, and enable_tools lists it', async () => {
    t = await connectTestClient({ toolGroups: 'config' });
    const info = await t.callOk(serverInfoTool);
    expect(info.tool_groups.listed).toEqual([...DEFAULT_TOOL_GROUPS]);
    expect(info.tool_groups.not_listed).toEqual([
      { group: 'generate', tools: names(['generate']) },
      { group: 'improve', tools: names(['improve']) },
      { group: 'deploy', tools: names(['deploy']) },
      { group: 'admin', tools: names(['admin']) },
    ]);
    expect(info.tool_groups.how_to_enable).toContain('enable_tools {"groups": ["generate","improve","deploy","admin"]}');
    const enableTools = (await t.client.listTools()).tools.find((x) => x.name === 'enable_tools')!;
    expect(enableTools.description).toContain(`admin: ${names(['admin']).join(', ')}`);
    expect(enableTools.description).toContain(`generate: ${names(['generate']).join(', ')}`);
    expect(enableTools.description).toContain(`improve: ${names(['improve']).join(', ')}`);

    // Groups choose what is listed, not what may run.
    const byName = await t.call('list_model_versions', {});
    expect(byName.isError).toBeFalsy();

    let changed = 0;
    t.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    const enabled = await t.callOk(enableToolsTool, { groups: ['generate', 'improve', 'deploy', 'admin'] });
    expect(enabled.added).toEqual(names(['generate', 'improve', 'deploy', 'admin']));
    expect(enabled.listed_groups).toEqual([...TOOL_GROUPS]);
    expect(enabled.not_listed).toEqual([]);
    await expect.poll(() => changed).toBe(1);
    expect((await t.client.listTools()).tools.map((x) => x.name).sort()).toEqual([...TOOLS.map((x) => x.name), 'enable_tools'].sort());
    expect((await t.callOk(serverInfoTool)).tool_groups.not_listed).toEqual([]);
    // Listing what is listed already changes nothing and tells nobody.
    expect((await t.callOk(enableToolsTool, { groups: ['all'] })).added).toEqual([]);
    expect(changed).toBe(1);
  });

  it('reads the groups from FINETUNE_MCP_TOOL_GROUPS and refuses an unknown one', () => {
    expect(loadConfig({ env: { FINETUNE_MCP_TOOL_GROUPS: 'data, judge' } }).tools.groups).toEqual(['data', 'judge']);
    expect(loadConfig({ argv: ['--tool-groups', 'all'] }).tools.groups).toEqual(['all']);
    expect(loadConfig({}).tools.groups).toEqual([...DEFAULT_TOOL_GROUPS]);
    expect(() => loadConfig({ env: { FINETUNE_MCP_TOOL_GROUPS: 'data,bogus' } })).toThrow(/tools\.groups/);
  });

  it('the CLI and the demo list every tool whatever groups the config lists', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ftm-groups-'));
    const config = loadConfig({ argv: ['--home', home], env: { FINETUNE_MCP_TOOL_GROUPS: 'data' } });
    const services = await createServices(config, { logger: createSilentLogger(), env: {} });
    const link = await connectInProcess(services);
    try {
      expect((await link.client.listTools()).tools.map((x) => x.name).sort()).toEqual(TOOLS.map((x) => x.name).sort());
      expect((await link.call('list_model_versions', {})).isError).toBeFalsy();
    } finally {
      await link.close();
      await closeServices(services);
      rmSync(home, { recursive: true, force: true });
    }
  });
});
