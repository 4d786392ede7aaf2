import { afterEach, describe, expect, it } from 'vitest';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

/** Agents call server_info first in every session: its default result stays small (issue 12 item 23). */
describe('server_info is compact unless detail is asked for', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('lists each plugin without description and capabilities by default; detail: true adds them', async () => {
    t = await connectTestClient();
    const compact = await t.call('server_info');
    const full = await t.call('server_info', { detail: true });
    const size = (r: typeof compact) => JSON.stringify(r).length;
    const plugins = (r: typeof compact) => (r.structuredContent as { plugins: Array<Record<string, unknown>> }).plugins;
    expect(plugins(compact).length).toBeGreaterThan(1);
    expect(plugins(compact).map((p) => p.name)).toEqual(plugins(full).map((p) => p.name));
    for (const p of plugins(compact)) {
      expect(p).not.toHaveProperty('capabilities');
      expect(p).not.toHaveProperty('description');
      expect(Object.keys(p)).toEqual(expect.arrayContaining(['name', 'version', 'status', 'provides']));
      if (p.status === 'disabled') expect(Object.keys(p)).toEqual(expect.arrayContaining(['reason', 'fix']));
    }
    for (const p of plugins(full)) expect(Object.keys(p)).toEqual(expect.arrayContaining(['description', 'capabilities']));
    // Measured 0.50 with six built-in plugins, four of them disabled (their reason and fix stay in the compact entry).
    expect(size(compact)).toBeLessThan(size(full) * 0.55);
    // Both pass the tool's output schema (the client validates structuredContent against it).
    expect((await t.callOk(serverInfoTool)).plugins.length).toBe(plugins(full).length);
  });
});
