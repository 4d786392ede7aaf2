/** deployment_bundle through a real MCP client; its dashboard and rules checked against a real /metrics scrape of the running server. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { serveHttp, type HttpServerHandle } from '../../src/server/http.js';
import { deploymentBundleTool } from '../../tools/deployment-bundle.js';
import { importModelTool } from '../../tools/import-model.js';
import { promoteModelTool } from '../../tools/promote-model.js';
import { registerModelTool } from '../../tools/register-model.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { writeAdapter } from '../registry/records.js';

const ASSETS = new URL('../../assets/models/stories260K/', import.meta.url).pathname;
const TOKEN = 'bundle-test-token-0123456789';

/** Metric names in PromQL: this server's families (finetune_mcp_*, finetuning_*). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(finetune_mcp_[a-z_]+|finetuning_[a-z_]+)\b/g)].map((m) => m[1]);
}

function kubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('deployment_bundle', () => {
  let t: TestClient;
  let server: HttpServerHandle;
  let scrape: string;
  let adapterDir: string;
  const out = (name: string) => join(t.home, 'out', name);

  beforeAll(async () => {
    t = await connectTestClient({ config: { allowed_roots: [ASSETS] } });
    await t.callOk(importModelTool, { source: join(ASSETS, 'stories260K.bin'), tokenizer: join(ASSETS, 'tok512.bin') });
    const adapter = writeAdapter(join(t.home, 'in', 'adapter'), { kv_dim: 32 });
    await t.callOk(registerModelTool, { name: 'stories-bot', version: '1.0.0', adapter_path: adapter });
    const { model_version: v } = await t.callOk(registerModelTool, { name: 'stories-bot', version: '1.1.0', adapter_path: adapter });
    adapterDir = v.artifact_dir;
    await t.callOk(promoteModelTool, { name: 'stories-bot', version: '1.0.0', alias: 'production', force: true, reason: 'first release' });
    await t.callOk(promoteModelTool, { name: 'stories-bot', version: '1.1.0', alias: 'production', force: true, reason: 'more data' });
    mkdirSync(join(t.home, 'out'));
    server = await serveHttp(t.services, { host: '127.0.0.1', port: 0, token: TOKEN });
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
    await openai.completions.create({ model: 'stories-bot@1.1.0', prompt: 'Once', max_tokens: 4 });
    scrape = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  /** Every metric the bundle's dashboard and rules name is a family in the scrape (histogram series by their family). */
  function expectAllScraped(exprs: string[]): void {
    const families = new Map([...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    const names = new Set(exprs.flatMap(metricNames));
    expect(names.size).toBeGreaterThan(12);
    const missing = [...names].filter((name) => {
      if (families.has(name)) return false;
      const family = name.replace(/_(bucket|sum|count)$/, '');
      return !(family !== name && ['histogram', 'summary'].includes(families.get(family) ?? ''));
    });
    expect(missing).toEqual([]);
    // The ones the issue names are there: jobs, tool calls, judge scores, serving latency and tokens, budgets, regressions.
    for (const wanted of ['finetuning_runs_total', 'finetune_mcp_tool_calls_total', 'finetune_mcp_judge_score_sum', 'finetune_mcp_serving_request_duration_seconds_bucket', 'finetune_mcp_serving_tokens_total', 'finetuning_budget_exceeded_total', 'finetune_mcp_improvement_regressions_total']) {
      expect(names).toContain(wanted);
    }
  }

  const dashboardExprs = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> }).panels.flatMap((p) => (p.targets ?? []).map((x) => x.expr));
  const ruleExprs = (groups: Array<{ rules: Array<{ expr: string; alert: string }> }>) => groups.flatMap((g) => g.rules.map((r) => r.expr));

  it('writes a compose stack: the endpoint, the vLLM variant with the adapter, Prometheus with the rules, Grafana with the dashboard', async () => {
    const bundle = await t.callOk(deploymentBundleTool, { version: 'stories-bot@1.1.0', target: 'compose', output_path: out('compose') });
    expect(bundle.served_model).toBe('stories-bot@1.1.0');
    const compose = parse(readFileSync(join(bundle.path, 'compose.yaml'), 'utf8')) as { services: Record<string, { command?: string[]; volumes?: string[]; profiles?: string[] }> };
    expect(compose.services.serve.command).toEqual(['serve-model', '--version', 'stories-bot@1.1.0', '--host', '0.0.0.0', '--port', '8000']);
    // Mounted where it was written: the workspace's records name absolute paths.
    expect(compose.services.serve.volumes).toEqual([`\${FINETUNE_MCP_HOME_ON_HOST:-${t.home}}:${t.home}`]);
    const vllm = compose.services.vllm.command!;
    expect(vllm).toContain('--enable-lora');
    expect(vllm[vllm.indexOf('--lora-modules') + 1]).toBe('stories-bot@1.1.0=/adapters/stories-bot-1-1-0');
    expect(vllm[vllm.indexOf('--max-lora-rank') + 1]).toBe('8');
    expect(compose.services.vllm.profiles).toEqual(['vllm']);
    expect(readFileSync(join(bundle.path, 'adapter', 'adapter_model.safetensors'))).toEqual(readFileSync(join(adapterDir, 'adapter_model.safetensors')));
    const prometheus = parse(readFileSync(join(bundle.path, 'prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
    expect(prometheus.scrape_configs[0].static_configs[0].targets).toEqual(['serve:8000']);

    const rules = parse(readFileSync(bundle.rules_file, 'utf8')) as { groups: Array<{ rules: Array<{ expr: string; alert: string }> }> };
    expect(rules.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual(expect.arrayContaining(['FinetuneJobFailed', 'FinetuneBudgetExceeded', 'FinetuneQualityRegression']));
    expectAllScraped([...dashboardExprs(bundle.dashboard_file), ...ruleExprs(rules.groups)]);

    const rollback = readFileSync(join(bundle.path, 'ROLLBACK.md'), 'utf8');
    expect(rollback).toContain('rollback_model');
    expect(rollback).toContain('"alias": "production"');
    expect(rollback).toContain('"to_version": "1.0.0"');
  });

  it('writes Kubernetes manifests that kustomize renders: endpoint, ServiceMonitor, PrometheusRule, dashboard ConfigMap; vLLM apart', async () => {
    const bundle = await t.callOk(deploymentBundleTool, { version: 'stories-bot@1.1.0', target: 'kubernetes', output_path: out('k8s') });
    const rule = parse(readFileSync(bundle.rules_file, 'utf8')) as { kind: string; spec: { groups: Array<{ rules: Array<{ expr: string; alert: string }> }> } };
    expect(rule.kind).toBe('PrometheusRule');
    expectAllScraped([...dashboardExprs(bundle.dashboard_file), ...ruleExprs(rule.spec.groups)]);
    const vllm = parseAllDocuments(readFileSync(join(bundle.path, 'vllm.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; spec: { template?: { spec: { containers: Array<{ args: string[] }> } } } });
    const args = vllm[0].spec.template!.spec.containers[0].args;
    expect(args[args.indexOf('--lora-modules') + 1]).toBe(`stories-bot@1.1.0=${adapterDir}`);
    if (kubectl()) {
      const rendered = parseAllDocuments(execFileSync('kubectl', ['kustomize', bundle.path], { encoding: 'utf8' })).map((d) => d.toJS() as { kind: string; metadata: { labels?: Record<string, string> } });
      expect(rendered.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PrometheusRule', 'Service', 'ServiceMonitor']);
      expect(rendered.find((d) => d.kind === 'ConfigMap')!.metadata.labels).toEqual({ grafana_dashboard: '1' });
    }
  });

  it('refuses an unknown version, a bad target and an existing folder, writing nothing', async () => {
    expect(errorCode(await t.call('deployment_bundle', { version: 'stories-bot@9.0.0', target: 'compose', output_path: out('x') }))).toBe('NOT_FOUND');
    const nomad = await t.call('deployment_bundle', { version: 'stories-bot@1.1.0', target: 'nomad', output_path: out('x') });
    expect(nomad.isError).toBe(true);
    expect(resultText(nomad)).toMatch(/target[\s\S]*kubernetes[\s\S]*compose|kubernetes.*compose/);
    expect(existsSync(out('x'))).toBe(false);
    expect(errorCode(await t.call('deployment_bundle', { version: 'stories-bot@1.1.0', target: 'compose', output_path: out('compose') }))).toBe('STATE_CONFLICT');
  });
});
