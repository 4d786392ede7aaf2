import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_APP_URI } from '../../src/server/ui/mcp-app.js';
import { PolicySchema } from '../../src/training/config-schema.js';
import { JobLedger } from '../../src/training/ledger.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { makeSucceededJob, writeDatasetVersion } from '../registry/records.js';
import { consoleErrors, launchChromium, screenshotDir } from './chromium.js';

/**
 * A minimal MCP Apps host in a page: it frames the view, answers `ui/initialize`, hands it a tool
 * result as `ui/notifications/tool-result`, and relays the view's `tools/call` to the real server
 * (through `relayToolCall`, which the test exposes). JSON-RPC over postMessage, as ext-apps' AppBridge speaks it.
 */
const HOST_PAGE = `<!doctype html><html><body><iframe id="view" style="width:700px;height:420px;border:0"></iframe><script>
const frame = document.getElementById('view');
window.toolCalls = 0;
window.startView = (html, result) => {
  window.addEventListener('message', async (event) => {
    if (event.source !== frame.contentWindow) return;
    const msg = event.data;
    const reply = (body) => frame.contentWindow.postMessage({ jsonrpc: '2.0', id: msg.id, ...body }, '*');
    if (msg.method === 'ui/initialize') reply({ result: { protocolVersion: msg.params.protocolVersion, hostInfo: { name: 'test-host', version: '0' }, hostCapabilities: { serverTools: {} }, hostContext: {} } });
    else if (msg.method === 'ui/notifications/initialized') frame.contentWindow.postMessage({ jsonrpc: '2.0', method: 'ui/notifications/tool-result', params: result }, '*');
    else if (msg.method === 'tools/call') { window.toolCalls++; reply({ result: await window.relayToolCall(msg.params) }); }
    else if (msg.id !== undefined) reply({ result: {} });
  });
  frame.srcdoc = html;
};
</script></body></html>`;

describe('MCP App view of monitor_training and compare_models', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await connectTestClient({ config: { training: { watch_interval_ms: 600_000 } } });
  });
  afterAll(async () => t?.close());

  it('tools/list names the ui:// resource in _meta, and resources/read returns it as a self-contained MCP App page', async () => {
    const { tools } = await t.client.listTools();
    for (const name of ['monitor_training', 'compare_models']) {
      const tool = tools.find((x) => x.name === name);
      expect(tool?._meta).toEqual({ ui: { resourceUri: MCP_APP_URI }, 'ui/resourceUri': MCP_APP_URI });
    }
    expect(tools.find((x) => x.name === 'list_jobs')?._meta).toBeUndefined();
    const { resources } = await t.client.listResources();
    expect(resources.find((r) => r.uri === MCP_APP_URI)?.mimeType).toBe('text/html;profile=mcp-app');
    const { contents } = await t.client.readResource({ uri: MCP_APP_URI });
    expect(contents).toHaveLength(1);
    expect(contents[0]!.mimeType).toBe('text/html;profile=mcp-app');
    const html = (contents[0] as { text: string }).text;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('globalThis.__finetuneExtApps=');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // nothing loaded from elsewhere
  });

  it('renders a running job’s loss curve from the result a host hands it, refreshes through the host, and shows a comparison', async () => {
    writeDatasetVersion(t.services, 'ds_app', 'c'.repeat(64));
    const ledger = new JobLedger(t.services.workspace.db);
    const config_id = ledger.get(makeSucceededJob(t.services, { dataset_id: 'ds_app' })).config_id;
    const job = ledger.create({ config_id, backend: 'local', policy: PolicySchema.parse({}), total_steps: 20 });
    for (const to of ['preparing', 'running'] as const) ledger.transition(job.job_id, to);
    [2.9, 2.2, 1.8].forEach((loss, i) => ledger.addMetric(job.job_id, 'loss', i + 1, loss));
    ledger.update(job.job_id, { step: 3 });

    const first = (await t.client.callTool({ name: 'monitor_training', arguments: { job_id: job.job_id } })) as CallToolResult;
    const curves = await t.callOk(monitorTrainingTool, { job_id: job.job_id, include_curves: true });
    expect(curves.curves?.train_loss.map((p) => p.value)).toEqual([2.9, 2.2, 1.8]);
    const { contents } = await t.client.readResource({ uri: MCP_APP_URI });

    const chromium = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      const errors = consoleErrors(page);
      await page.exposeFunction('relayToolCall', async (params: { name: string; arguments: Record<string, unknown> }) => t.client.callTool(params));
      await page.setContent(HOST_PAGE);
      await page.evaluate(([html, result]) => (window as unknown as { startView(h: string, r: unknown): void }).startView(html as string, result), [(contents[0] as { text: string }).text, first] as const);
      const view = page.frameLocator('#view');
      await expect.poll(() => view.locator('#chart').getAttribute('data-points'), { timeout: 15_000 }).toBe('3');
      expect(await view.locator('#status').textContent()).toContain(`${job.job_id}: running, step 3/20`);
      expect(await view.locator('#chart canvas').count()).toBe(1);

      // The job moves on; the view follows it by calling monitor_training through the host.
      ledger.addMetric(job.job_id, 'loss', 4, 1.5);
      ledger.update(job.job_id, { step: 4 });
      await expect.poll(() => view.locator('#chart').getAttribute('data-points'), { timeout: 15_000 }).toBe('4');
      expect(await page.evaluate(() => (window as unknown as { toolCalls: number }).toolCalls)).toBeGreaterThanOrEqual(2);
      const shots = screenshotDir('mcp-app');
      await page.screenshot({ path: join(shots, 'monitor-training-view.png') });
      expect(errors).toEqual([]);

      // compare_models, on outputs made elsewhere: each metric per model, side by side.
      const outputs = join(t.home, 'outputs.jsonl');
      const rows = ['the cat sat on the mat', 'a dog ran in the park', 'birds sing in the morning', 'the sun is warm today'];
      writeFileSync(outputs, rows.map((reference, i) => JSON.stringify({ prompt: `p${i}`, reference, outputs: { base: reference.split(' ').slice(0, 2).join(' '), tuned: reference } })).join('\n'));
      const compared = (await t.client.callTool({ name: 'compare_models', arguments: { outputs_path: outputs, baseline: 'base', metrics: ['bleu', 'rouge_l'], judge: 'none' } })) as CallToolResult;
      expect(compared.isError).toBeFalsy();
      const second = await chromium.browser.newPage();
      const secondErrors = consoleErrors(second);
      await second.setContent(HOST_PAGE);
      await second.evaluate(([html, result]) => (window as unknown as { startView(h: string, r: unknown): void }).startView(html as string, result), [(contents[0] as { text: string }).text, compared] as const);
      const comparison = second.frameLocator('#view');
      await expect.poll(() => comparison.locator('#table tbody tr').count(), { timeout: 15_000 }).toBe(2);
      expect(await comparison.locator('#table thead').textContent()).toBe('metricbasetuned');
      expect(await comparison.locator('#status').textContent()).toContain('Compared base vs tuned');
      await second.screenshot({ path: join(shots, 'compare-models-view.png') });
      expect(secondErrors).toEqual([]);
    } finally {
      await chromium.close();
    }
  });
});
