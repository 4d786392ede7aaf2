/**
 * The Grafana dashboard and Prometheus alert rules of a deployment bundle, written over the metrics
 * this server exports (src/observability/metrics.ts); a test scrapes a running server's /metrics and
 * checks every name they use is there.
 */

interface Panel {
  title: string;
  /** PromQL, one per series. */
  targets: Array<{ expr: string; legend: string }>;
  unit?: string;
  kind?: 'timeseries' | 'stat';
}

interface Row {
  title: string;
  panels: Panel[];
}

/** `$model` is the dashboard's model variable (a served version). */
const ROWS: Row[] = [
  {
    title: 'Serving (OpenAI-compatible endpoint)',
    panels: [
      {
        title: 'Request latency p50 / p95',
        unit: 's',
        targets: [0.5, 0.95].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le, model) (rate(finetune_mcp_serving_request_duration_seconds_bucket{model=~"$model"}[5m])))`,
          legend: `p${q * 100} {{model}}`,
        })),
      },
      { title: 'Requests per second', unit: 'reqps', targets: [{ expr: 'sum by (model, route) (rate(finetune_mcp_serving_request_duration_seconds_count{model=~"$model"}[5m]))', legend: '{{model}} {{route}}' }] },
      { title: 'Tokens per second in and out', unit: 'short', targets: [{ expr: 'sum by (model, kind) (rate(finetune_mcp_serving_tokens_total{model=~"$model"}[5m]))', legend: '{{model}} {{kind}}' }] },
      { title: 'Errors per second by code', unit: 'reqps', targets: [{ expr: 'sum by (model, code) (rate(finetune_mcp_serving_errors_total{model=~"$model"}[5m]))', legend: '{{model}} {{code}}' }] },
      { title: 'Requests waiting for the engine', kind: 'stat', targets: [{ expr: 'sum(finetune_mcp_serving_queued_requests)', legend: 'queued' }] },
    ],
  },
  {
    title: 'Training jobs',
    panels: [
      { title: 'Running jobs', kind: 'stat', targets: [{ expr: 'sum by (backend) (finetuning_running_jobs)', legend: '{{backend}}' }] },
      { title: 'Finished runs by status (1h)', targets: [{ expr: 'sum by (status) (increase(finetuning_runs_total[1h]))', legend: '{{status}}' }] },
      { title: 'Run duration p90', unit: 's', targets: [{ expr: 'histogram_quantile(0.9, sum by (le, backend) (rate(finetuning_duration_seconds_bucket[6h])))', legend: '{{backend}}' }] },
      { title: 'Training throughput', unit: 'short', targets: [{ expr: 'finetuning_tokens_per_second', legend: '{{job_id}}' }] },
      { title: 'Jobs stopped by a budget (24h)', kind: 'stat', targets: [{ expr: 'sum by (budget) (increase(finetuning_budget_exceeded_total[24h]))', legend: '{{budget}}' }] },
    ],
  },
  {
    title: 'Tool calls',
    panels: [
      { title: 'Tool calls per minute by outcome', targets: [{ expr: 'sum by (tool, outcome) (rate(finetune_mcp_tool_calls_total[5m])) * 60', legend: '{{tool}} {{outcome}}' }] },
      { title: 'Open MCP sessions', kind: 'stat', targets: [{ expr: 'sum(finetune_mcp_http_sessions)', legend: 'sessions' }] },
    ],
  },
  {
    title: 'Quality (LLM judge, improvement loop)',
    panels: [
      {
        title: 'Mean judge score by rubric (1h)',
        unit: 'percentunit',
        targets: [{ expr: 'sum by (rubric) (rate(finetune_mcp_judge_score_sum[1h])) / sum by (rubric) (rate(finetune_mcp_judge_score_count[1h]))', legend: '{{rubric}}' }],
      },
      { title: 'Judge failures (share of rows, 1h)', unit: 'percentunit', targets: [{ expr: 'sum(rate(finetune_mcp_judged_outputs_total{outcome="failed"}[1h])) / sum(rate(finetune_mcp_judged_outputs_total[1h]))', legend: 'failed' }] },
      { title: 'Judge cost (USD, 24h)', kind: 'stat', targets: [{ expr: 'sum(increase(finetune_mcp_judge_cost_usd_total[24h]))', legend: 'USD' }] },
      { title: 'Improvement cycles by decision (24h)', targets: [{ expr: 'sum by (policy, decision) (increase(finetune_mcp_improvement_cycles_total[24h]))', legend: '{{policy}} {{decision}}' }] },
    ],
  },
];

/** A Grafana dashboard (schema 39) over a Prometheus data source chosen at import (`${DS_PROMETHEUS}`). */
export function grafanaDashboard(title: string, servedModel: string): Record<string, unknown> {
  const datasource = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
  const panels: unknown[] = [];
  let y = 0;
  let id = 1;
  for (const row of ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
    row.panels.forEach((p, i) => {
      const w = p.kind === 'stat' ? 6 : 12;
      panels.push({
        id: id++,
        type: p.kind ?? 'timeseries',
        title: p.title,
        datasource,
        gridPos: { h: 8, w, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 },
        fieldConfig: { defaults: { unit: p.unit ?? 'short' }, overrides: [] },
        options: {},
        targets: p.targets.map((t, k) => ({ refId: String.fromCharCode(65 + k), datasource, expr: t.expr, legendFormat: t.legend })),
      });
    });
    y += Math.ceil(row.panels.length / 2) * 8;
  }
  return {
    __inputs: [{ name: 'DS_PROMETHEUS', label: 'Prometheus', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
    title,
    uid: `finetune-mcp-${servedModel.replace(/[^A-Za-z0-9-]/g, '-')}`.slice(0, 40),
    tags: ['finetune-mcp'],
    schemaVersion: 39,
    version: 1,
    editable: true,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [
        {
          name: 'model',
          label: 'Served model',
          type: 'query',
          datasource,
          query: 'label_values(finetune_mcp_serving_request_duration_seconds_count, model)',
          current: { text: servedModel, value: servedModel },
          includeAll: true,
          allValue: '.*',
          multi: true,
          refresh: 2,
        },
      ],
    },
    panels,
  };
}

/** Prometheus alerting rules (rule-file `groups`): job failed, budget exceeded, quality regression, and the endpoint's health. */
export function alertRuleGroups(servedModel: string): Array<{ name: string; rules: Array<Record<string, unknown>> }> {
  const model = `model="${servedModel}"`;
  return [
    {
      name: 'finetune-mcp-training',
      rules: [
        {
          alert: 'FinetuneJobFailed',
          expr: 'sum by (backend) (increase(finetuning_runs_total{status="failed"}[15m])) > 0',
          labels: { severity: 'warning' },
          annotations: { summary: 'A training job failed on {{ $labels.backend }}', description: 'list_jobs {status: "failed"} and monitor_training name the job and its error; resume_training continues from its last checkpoint.' },
        },
        {
          alert: 'FinetuneBudgetExceeded',
          expr: 'sum by (backend, budget) (increase(finetuning_budget_exceeded_total[15m])) > 0',
          labels: { severity: 'warning' },
          annotations: { summary: 'A training job was stopped: its {{ $labels.budget }} budget is used up', description: 'Raise max_cost_usd / max_runtime_s with resume_training, or plan a smaller run.' },
        },
      ],
    },
    {
      name: 'finetune-mcp-quality',
      rules: [
        {
          alert: 'FinetuneQualityRegression',
          expr: 'sum by (policy) (increase(finetune_mcp_improvement_regressions_total[1h])) > 0',
          labels: { severity: 'warning' },
          annotations: { summary: 'Improvement policy {{ $labels.policy }} retrained a model that did worse than production', description: 'get_improvement_policy shows the cycle; production was not changed.' },
        },
        {
          alert: 'FinetuneJudgeScoreDropped',
          expr: '(sum by (rubric) (rate(finetune_mcp_judge_score_sum[1h])) / sum by (rubric) (rate(finetune_mcp_judge_score_count[1h]))) < 0.8 * (sum by (rubric) (rate(finetune_mcp_judge_score_sum[1d] offset 1d)) / sum by (rubric) (rate(finetune_mcp_judge_score_count[1d] offset 1d)))',
          for: '30m',
          labels: { severity: 'warning' },
          annotations: { summary: 'Judge scores on {{ $labels.rubric }} fell by over 20 % against yesterday', description: 'A quality regression in production: compare the served version with the previous one (compare_versions) and roll back (rollback_model) if it is the cause.' },
        },
      ],
    },
    {
      name: 'finetune-mcp-serving',
      rules: [
        {
          alert: 'FinetuneServingErrors',
          expr: `sum(rate(finetune_mcp_serving_errors_total{${model},code!~"invalid_value|missing_required_parameter|model_not_found"}[5m])) / sum(rate(finetune_mcp_serving_request_duration_seconds_count{${model}}[5m])) > 0.05`,
          for: '10m',
          labels: { severity: 'critical' },
          annotations: { summary: `Over 5 % of requests to ${servedModel} fail (server errors and 429s)`, description: 'See the server log (stderr); a lasting 429 rate means serving.max_concurrent / max_queued are too low for the traffic.' },
        },
        {
          alert: 'FinetuneServingSlow',
          expr: `histogram_quantile(0.95, sum by (le) (rate(finetune_mcp_serving_request_duration_seconds_bucket{${model}}[5m]))) > 30`,
          for: '15m',
          labels: { severity: 'warning' },
          annotations: { summary: `p95 latency of ${servedModel} is over 30 s`, description: 'Lower max_tokens, add replicas, or serve with the vLLM variant on a GPU.' },
        },
      ],
    },
  ];
}
