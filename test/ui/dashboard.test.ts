import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryOf } from '../../src/registry/index.js';
import { serveHttp, type HttpServerHandle } from '../../src/server/http.js';
import { PolicySchema } from '../../src/training/config-schema.js';
import { JobLedger } from '../../src/training/ledger.js';
import { localPlugin } from '../../plugins/local/index.js';
import { cancelTrainingTool } from '../../tools/cancel-training.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { promoteModelTool } from '../../tools/promote-model.js';
import { registerModelTool } from '../../tools/register-model.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import { insertEvaluation, makeSucceededJob, writeAdapter, writeDatasetVersion } from '../registry/records.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { consoleErrors, launchChromium, screenshotDir } from './chromium.js';

const TOKEN = 'dashboard-test-token-0123456789';
const STORIES_260K = new URL('../../assets/models/stories260K/', import.meta.url).pathname;

describe('dashboard at /ui in headless Chromium', () => {
  let t: TestClient;
  let http: HttpServerHandle;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let shots: string;
  beforeAll(async () => {
    // A slow watch loop: the test's "running" job has no worker, and the loop would mark it interrupted.
    // No quality gates: the adapters registered here have no evaluations (gate refusals are the registry tests' concern).
    t = await connectTestClient({ plugins: [localPlugin], config: { training: { watch_interval_ms: 600_000 }, evaluation: { gates: [] } } });
    http = await serveHttp(t.services, { host: '127.0.0.1', port: 0, token: TOKEN });
    chromium = await launchChromium();
    shots = screenshotDir('dashboard');
  }, 60_000);
  afterAll(async () => {
    await chromium?.close();
    await http?.close();
    await t?.close();
  });

  async function loggedIn() {
    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    const errors = consoleErrors(page);
    await page.goto(`${http.url}/ui`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.fill('input[name=token]', TOKEN);
    await Promise.all([page.waitForURL(`${http.url}/ui`), page.click('button[type=submit]')]);
    return { context, page, errors };
  }

  it('refuses every page and API without the token, and a wrong token', async () => {
    const api = await fetch(`${http.url}/ui/api/jobs`, { redirect: 'manual' });
    expect(api.status).toBe(401);
    const pageAnswer = await fetch(`${http.url}/ui/registry`, { redirect: 'manual' });
    expect(pageAnswer.status).toBe(303);
    expect(pageAnswer.headers.get('location')).toBe('/ui/login');
    // The bearer header of /mcp is not a dashboard session, and a forged cookie is none either.
    expect((await fetch(`${http.url}/ui/api/jobs`, { headers: { cookie: 'finetune_ui=forged' } })).status).toBe(401);

    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${http.url}/ui/api/registry`);
    expect(await page.textContent('body')).toContain('unauthorized');
    await page.goto(`${http.url}/ui`);
    await page.fill('input[name=token]', 'not-the-token');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('[role=alert]')).toContain('not the server');
    await page.screenshot({ path: join(shots, 'login-refused.png') });
    await context.close();
  });

  it('is off, and says how to turn it on, when the server has no token', async () => {
    const open = await serveHttp(t.services, { host: '127.0.0.1', port: 0 });
    try {
      const answer = await fetch(`${open.url}/ui`);
      expect(answer.status).toBe(403);
      expect(await answer.text()).toContain('FINETUNE_MCP_TOKEN');
      expect((await fetch(`${open.url}/ui/api/registry`)).status).toBe(403);
    } finally {
      await open.close();
    }
  });

  it('shows a running job whose loss curve grows while metrics arrive, with no console errors', async () => {
    writeDatasetVersion(t.services, 'ds_ui', 'b'.repeat(64));
    const done = makeSucceededJob(t.services, { dataset_id: 'ds_ui' });
    const ledger = new JobLedger(t.services.workspace.db);
    const config_id = ledger.get(done).config_id;
    const running = ledger.create({ config_id, backend: 'local', policy: PolicySchema.parse({}), total_steps: 40 });
    for (const to of ['preparing', 'running'] as const) ledger.transition(running.job_id, to);
    ledger.addMetric(running.job_id, 'loss', 1, 3.1);

    const { context, page, errors } = await loggedIn();
    await page.click(`a[href="/ui/jobs/${running.job_id}"]`);
    await expect.poll(() => page.getAttribute('#job-summary', 'data-points')).toBe('1');
    for (let step = 2; step <= 6; step++) {
      ledger.addMetric(running.job_id, 'loss', step, 3.1 / step);
      ledger.update(running.job_id, { step });
      await new Promise((r) => setTimeout(r, 150));
    }
    ledger.addMetric(running.job_id, 'eval_loss', 6, 0.7);
    await expect.poll(() => page.getAttribute('#job-summary', 'data-points'), { timeout: 10_000 }).toBe('6');
    expect(await page.textContent('#job-summary')).toContain('step 6/40');
    expect(await page.locator('#loss-chart canvas').count()).toBe(1);
    await page.screenshot({ path: join(shots, 'job-running.png'), fullPage: true });

    await page.click('a[href="/ui/datasets"]');
    await expect.poll(() => page.textContent('main')).toContain('ds_ui');
    await page.screenshot({ path: join(shots, 'datasets.png'), fullPage: true });
    insertEvaluation(t.services, { perplexity: 3.2, bleu: 31.5 }, { bleu: { low: 29.9, high: 33.1 } });
    await page.click('a[href="/ui/evaluations"]');
    await expect.poll(() => page.textContent('section.evaluation')).toContain('31.50 [29.90, 33.10]');
    expect(errors).toEqual([]);
    await context.close();
    ledger.transition(running.job_id, 'cancelled'); // it holds the local backend's one job slot
  });

  it('follows a real local training job: the curve grows while the worker trains, and the datasets page draws its token histogram', async () => {
    const { model } = await t.services.models.import(join(STORIES_260K, 'stories260K.bin'), { tokenizer: join(STORIES_260K, 'tok512.bin') });
    // The demo's 200 short stories: varied lengths, so the histogram has several bins.
    const { dataset_id } = await t.callOk(prepareDatasetTool, { path: new URL('../../assets/demo/moon-stories.jsonl', import.meta.url).pathname, model: 'o200k_base' });
    const config = await t.callOk(configureTrainingTool, {
      base_model: model.id, dataset_id, backend: 'local', method: 'sft', approach: 'lora', template: 'smoke',
      overrides: { max_steps: 100_000, save_steps: 0, eval_steps: 0, max_seq_length: 64 },
    });
    const { job_id } = await t.callOk(startTrainingTool, { plan_id: (await t.callOk(planTrainingTool, { config_id: config.config_id })).plan_id });
    try {
      const { context, page, errors } = await loggedIn();
      await page.goto(`${http.url}/ui/jobs/${job_id}`);
      // Two different, growing point counts seen while the job says running: the page follows the worker's metrics.
      const seen: number[] = [];
      for (const deadline = Date.now() + 60_000; seen.length < 2 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
        const points = Number((await page.getAttribute('#job-summary', 'data-points')) ?? 0);
        if ((await page.textContent('#job-summary'))?.includes('running') && points > (seen.at(-1) ?? 0)) seen.push(points);
      }
      expect(seen.length, 'distinct, growing curve lengths seen while the job ran').toBe(2);
      expect(await page.locator('#loss-chart canvas').count()).toBe(1);
      await page.screenshot({ path: join(shots, 'job-real-running.png'), fullPage: true });

      await page.goto(`${http.url}/ui/datasets`);
      const columns = page.locator(`section:has-text("${dataset_id}") .histogram .column`);
      await expect.poll(() => columns.count()).toBeGreaterThan(3);
      const manifest = t.services.datasets.get(dataset_id).manifest;
      const counts = await columns.evaluateAll((cs) => cs.map((c) => Number(c.getAttribute('data-count'))));
      expect(counts).toEqual(manifest.token_stats.histogram!.counts);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(manifest.counts.rows);
      await page.screenshot({ path: join(shots, 'datasets-histogram.png'), fullPage: true });
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      await t.callOk(cancelTrainingTool, { job_id });
      const deadline = Date.now() + 20_000;
      while (!['cancelled', 'succeeded', 'failed', 'interrupted'].includes((await t.callOk(monitorTrainingTool, { job_id })).status) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    }
  }, 120_000);

  it('promotes a version after the user confirms, through the registry service, and refuses a POST without the CSRF token', async () => {
    const adapter = writeAdapter(join(t.home, 'adapter-ui'), { seed: 3 });
    await t.callOk(registerModelTool, { name: 'ui-bot', version: '1.0.0', adapter_path: adapter });
    await t.callOk(registerModelTool, { name: 'ui-bot', version: '1.1.0', adapter_path: writeAdapter(join(t.home, 'adapter-ui-2'), { seed: 4 }) });
    await t.callOk(promoteModelTool, { name: 'ui-bot', version: '1.0.0', alias: 'production' });

    const { context, page, errors } = await loggedIn();
    const forged = await page.evaluate(async () => (await fetch('/ui/api/registry/promote', { method: 'POST', body: '{"name":"ui-bot","version":"1.1.0"}' })).status);
    expect(forged).toBe(403);
    errors.splice(0); // the browser logs that expected 403
    await page.click('a[href="/ui/registry"]');
    const dialogs: string[] = [];
    page.once('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    await page.click('button.promote[data-version="1.1.0"]');
    await expect.poll(() => dialogs.length).toBe(1);
    expect(registryOf(t.services).get({ name: 'ui-bot', alias: 'production' }).version).toBe('1.0.0');

    page.once('dialog', (d) => d.accept());
    await page.click('button.promote[data-version="1.1.0"]');
    await expect.poll(() => page.textContent('#registry-status')).toContain('production of ui-bot: 1.0.0 → 1.1.0');
    expect(dialogs[0]).toContain('Promote ui-bot@1.1.0 to production?');
    expect(registryOf(t.services).get({ name: 'ui-bot', alias: 'production' }).version).toBe('1.1.0');
    // The lineage graph: each version a node, fed by its adapter's base model.
    const nodes = await page.locator('svg.lineage g.node text').evaluateAll((ts) => ts.map((x) => x.textContent));
    expect(nodes).toEqual(expect.arrayContaining(['ui-bot@1.0.0', 'ui-bot@1.1.0 [production]']));
    expect(await page.locator('svg.lineage line').count()).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(shots, 'registry-promoted.png'), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  });
});
