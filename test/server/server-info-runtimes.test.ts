import { afterEach, describe, expect, it } from 'vitest';
import { serverInfoTool } from '../../tools/server-info.js';
import { connectTestClient, resultText, type TestClient } from '../helpers/mcp.js';

describe('server_info runtimes', () => {
  let t: TestClient;
  afterEach(async () => t?.close());

  it('reports the ONNX Runtime the server uses, not TensorFlow.js (a test-only dev dependency)', async () => {
    t = await connectTestClient();
    const result = await t.call('server_info');
    const info = result.structuredContent as Record<string, unknown>;
    expect(info.onnxruntime).toMatchObject({ available: true });
    expect(info).not.toHaveProperty('tensorflow');
    expect(resultText(result)).not.toMatch(/tensorflow/i);
    expect(JSON.stringify(serverInfoTool.description)).not.toMatch(/tensorflow/i);
  });
});
