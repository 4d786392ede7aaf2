import { afterEach, describe, expect, it } from 'vitest';
import { serverInfoTool } from '../tools/server-info.js';
import { connectTestClient, type TestClient } from './helpers/mcp.js';

describe('test harness', () => {
  let t: TestClient;
  afterEach(async () => t?.close());
  it('connects a real client and parses server_info with its own schema', async () => {
    t = await connectTestClient();
    const info = await t.callOk(serverInfoTool);
    expect(info.workspace).toBe(t.home);
  });
});
