import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

/** YAML without folded lines (PromQL and commands stay on one line each). */
const yaml = (value: unknown) => stringify(value, { lineWidth: 0 });
import { resolveModel } from '../evaluation/model-ref.js';
import { FinetuneError } from '../errors.js';
import { registryOf } from '../registry/index.js';
import type { ModelVersion } from '../registry/types.js';
import type { Services } from '../services.js';
import { PACKAGE_VERSION } from '../version.js';
import { filesIn } from '../workspace/folder-files.js';
import { alertRuleGroups, grafanaDashboard } from './observability-files.js';

interface BundleArgs {
  version: string;
  target: 'kubernetes' | 'compose';
  output_path?: string;
}

/** What the files need to know about the version and where its pieces are. */
interface Plan {
  version: ModelVersion;
  /** The id clients send as `model`, e.g. "stories-bot@1.0.0" (the same on the built-in endpoint and vLLM). */
  served: string;
  /** A name safe for Kubernetes objects and compose projects, e.g. "stories-bot-1-0-0". */
  slug: string;
  base_dir: string;
  home: string;
  lora_rank: number;
  /** The alias this version holds, for the rollback note (e.g. "production"), else null. */
  alias: string | null;
  previous: string | null;
}

const PORT = 8000;
const VLLM_PORT = 8001;
const VLLM_IMAGE = 'vllm/vllm-openai:v0.11.2';
/** vLLM takes these --max-lora-rank values; the smallest one at or above the adapter's rank is used. */
const VLLM_RANKS = [8, 16, 32, 64, 128, 256, 320, 512];

/**
 * deployment_bundle: a folder with what operators need to run a version: the Grafana dashboard and
 * Prometheus alert rules over this server's metrics, a compose stack or Kubernetes manifests
 * (kustomize) serving it with the built-in OpenAI-compatible endpoint (`serve-model`) and, for the
 * adapter, a vLLM variant (`--enable-lora --lora-modules`), the adapter itself, and a rollback
 * note naming rollback_model. Written to a temp folder and renamed into place.
 */
export async function writeDeploymentBundle(services: Services, args: BundleArgs) {
  const plan = planBundle(services, args.version);
  const id = `deploy-${args.target}-${plan.slug}-${Date.now().toString(36)}`;
  const target = args.output_path ? services.workspace.resolveUserPath(args.output_path, 'output_path') : services.workspace.artifactPath('exports', id);
  if (existsSync(target)) {
    throw new FinetuneError('STATE_CONFLICT', `output_path '${target}' already exists; a bundle never overwrites.`, { recovery: 'Pass a new folder name.', details: { field: 'output_path' } });
  }
  const dashboard = JSON.stringify(grafanaDashboard(`finetune-mcp: ${plan.served}`, plan.served), null, 2);
  const rules = { groups: alertRuleGroups(plan.served) };
  const files: Record<string, string> = args.target === 'compose' ? composeFiles(plan, dashboard, rules) : kubernetesFiles(plan, dashboard, rules);
  files['ROLLBACK.md'] = rollbackNote(plan, args.target);
  files['README.md'] = readme(plan, args.target);
  await services.workspace.writeDir(target, (dir) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    if (args.target === 'compose') cpSync(plan.version.artifact_dir, join(dir, 'adapter'), { recursive: true });
  });
  return {
    path: target,
    target: args.target,
    served_model: plan.served,
    dashboard_file: join(target, 'grafana-dashboard.json'),
    rules_file: join(target, args.target === 'compose' ? 'prometheus-rules.yaml' : 'prometheus-rule.yaml'),
    files: filesIn(target),
    next: args.target === 'compose' ? `cd ${target} && cp .env.example .env (set FINETUNE_MCP_TOKEN) && docker compose up -d` : `kubectl apply -k ${target} (after the PVC holds the workspace and the Secret the token; README.md)`,
  };
}

function planBundle(services: Services, ref: string): Plan {
  const resolved = resolveModel(services, { version: ref }, 'version');
  const version = registryOf(services).get({ version_id: resolved.version_id! });
  const served = `${version.name}@${version.version}`;
  const r = typeof version.lineage.adapter?.r === 'number' ? version.lineage.adapter.r : 8;
  const alias = version.aliases[0] ?? null;
  const history = alias ? registryOf(services).history(version.name, alias) : [];
  const previous = history.length ? (history.at(-1)!.from_version ?? null) : null;
  return {
    version,
    served,
    slug: served.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 50),
    base_dir: resolved.base_dir,
    home: services.workspace.root,
    lora_rank: VLLM_RANKS.find((v) => v >= r) ?? r,
    alias,
    previous,
  };
}

function vllmArgs(plan: Plan, basePath: string, adapterPath: string): string[] {
  return ['--model', basePath, '--served-model-name', `${plan.slug}-base`, '--enable-lora', '--lora-modules', `${plan.served}=${adapterPath}`, '--max-lora-rank', String(plan.lora_rank), '--port', String(VLLM_PORT)];
}

function composeFiles(plan: Plan, dashboard: string, rules: unknown): Record<string, string> {
  const serveCommand = ['serve-model', '--version', plan.served, '--host', '0.0.0.0', '--port', String(PORT)];
  // The workspace records absolute paths (models, adapters), so it is mounted where it was written.
  const workspace = '${FINETUNE_MCP_HOME_ON_HOST:-' + plan.home + '}:' + plan.home;
  const compose = {
    name: plan.slug,
    services: {
      serve: {
        build: { context: '.', args: { FINETUNE_MCP_PACKAGE: `finetune-mcp@${PACKAGE_VERSION}` } },
        command: serveCommand,
        environment: {
          FINETUNE_MCP_HOME: plan.home,
          FINETUNE_MCP_TOKEN: '${FINETUNE_MCP_TOKEN:?set FINETUNE_MCP_TOKEN in .env}',
          // Prometheus reaches the server as serve:8000; other Host names get 403 (DNS rebinding).
          FINETUNE_MCP_ALLOWED_HOSTS: 'serve',
        },
        volumes: [workspace],
        ports: [`127.0.0.1:${PORT}:${PORT}`],
        healthcheck: { test: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${PORT}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`], interval: '30s', timeout: '5s', retries: 3 },
        restart: 'unless-stopped',
      },
      vllm: {
        profiles: ['vllm'],
        image: VLLM_IMAGE,
        command: [...vllmArgs(plan, '/models/base', `/adapters/${plan.slug}`), '--api-key', '${FINETUNE_MCP_TOKEN:?set FINETUNE_MCP_TOKEN in .env}'],
        volumes: [`${plan.base_dir}:/models/base:ro`, `./adapter:/adapters/${plan.slug}:ro`],
        ports: [`127.0.0.1:${VLLM_PORT}:${VLLM_PORT}`],
        deploy: { resources: { reservations: { devices: [{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }] } } },
        ipc: 'host',
      },
      prometheus: {
        image: 'prom/prometheus:v3.5.0',
        volumes: ['./prometheus.yml:/etc/prometheus/prometheus.yml:ro', './prometheus-rules.yaml:/etc/prometheus/rules/finetune-mcp.yaml:ro', './secrets/finetune-mcp-token:/etc/prometheus/finetune-mcp-token:ro'],
        ports: ['127.0.0.1:9090:9090'],
      },
      grafana: {
        image: 'grafana/grafana:12.1.0',
        volumes: ['./grafana/provisioning:/etc/grafana/provisioning:ro', './grafana-dashboard.json:/var/lib/grafana/dashboards/finetune-mcp.json:ro'],
        ports: ['127.0.0.1:3000:3000'],
      },
    },
  };
  const prometheus = {
    global: { scrape_interval: '15s', evaluation_interval: '30s' },
    rule_files: ['/etc/prometheus/rules/finetune-mcp.yaml'],
    scrape_configs: [
      { job_name: 'finetune-mcp', metrics_path: '/metrics', authorization: { type: 'Bearer', credentials_file: '/etc/prometheus/finetune-mcp-token' }, static_configs: [{ targets: [`serve:${PORT}`] }] },
    ],
  };
  // The dashboard's ${DS_PROMETHEUS} input is the provisioned data source's uid.
  const provisionedDashboard = dashboard.replaceAll('${DS_PROMETHEUS}', 'prometheus');
  return {
    'compose.yaml': yaml(compose),
    Dockerfile: dockerfile(),
    '.env.example': '# The bearer token of the endpoint (16+ characters); Prometheus reads the same from secrets/finetune-mcp-token.\nFINETUNE_MCP_TOKEN=\n# Where the workspace (registry, models) is on this machine, if not where it was written (it is mounted at that path inside).\n# FINETUNE_MCP_HOME_ON_HOST=\n',
    'prometheus.yml': yaml(prometheus),
    'prometheus-rules.yaml': yaml(rules),
    'grafana-dashboard.json': provisionedDashboard,
    'grafana/provisioning/datasources/prometheus.yaml': yaml({ apiVersion: 1, datasources: [{ name: 'Prometheus', uid: 'prometheus', type: 'prometheus', access: 'proxy', url: 'http://prometheus:9090', isDefault: true }] }),
    'grafana/provisioning/dashboards/finetune-mcp.yaml': yaml({ apiVersion: 1, providers: [{ name: 'finetune-mcp', type: 'file', options: { path: '/var/lib/grafana/dashboards' } }] }),
  };
}

function dockerfile(): string {
  return [
    '# The built-in endpoint: Node 20 with finetune-mcp installed (the full image has the compilers better-sqlite3 needs).',
    '# FINETUNE_MCP_PACKAGE may name a tarball from `npm pack` copied beside this file (/bundle/finetune-mcp-<version>.tgz) instead of the registry package.',
    'FROM node:20-bookworm',
    'ARG FINETUNE_MCP_PACKAGE',
    'COPY . /bundle',
    'RUN npm install -g "$FINETUNE_MCP_PACKAGE" && npm cache clean --force',
    'USER node',
    'ENTRYPOINT ["finetune-mcp"]',
    '',
  ].join('\n');
}

function kubernetesFiles(plan: Plan, dashboard: string, rules: { groups: unknown }): Record<string, string> {
  const labels = { 'app.kubernetes.io/name': 'finetune-mcp', 'app.kubernetes.io/instance': plan.slug };
  const serveLabels = { ...labels, 'app.kubernetes.io/component': 'serve' };
  const token = { name: 'FINETUNE_MCP_TOKEN', valueFrom: { secretKeyRef: { name: 'finetune-mcp-token', key: 'token' } } };
  const serve = workload(`${plan.slug}-serve`, serveLabels, PORT, {
    name: 'serve',
    image: `finetune-mcp:${PACKAGE_VERSION}`,
    args: ['serve-model', '--version', plan.served, '--host', '0.0.0.0', '--port', String(PORT)],
    // A variable is expanded in a later one ($(POD_IP)) only when it comes first.
    env: [
      { name: 'FINETUNE_MCP_HOME', value: plan.home },
      token,
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      // Prometheus scrapes the pod by IP, clients reach the Service by name; other Host names get 403.
      { name: 'FINETUNE_MCP_ALLOWED_HOSTS', value: `$(POD_IP),${plan.slug}-serve,${plan.slug}-serve.$(POD_NAMESPACE).svc` },
    ],
    readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 30 },
    resources: { requests: { cpu: '2', memory: '2Gi' }, limits: { memory: '8Gi' } },
    // The workspace records absolute paths (models, adapters): the claim is mounted where it was written.
    volumeMounts: [{ name: 'workspace', mountPath: plan.home }],
  });
  const vllm = workload(`${plan.slug}-vllm`, { ...labels, 'app.kubernetes.io/component': 'vllm' }, VLLM_PORT, {
    name: 'vllm',
    image: VLLM_IMAGE,
    args: [...vllmArgs(plan, plan.base_dir, plan.version.artifact_dir), '--api-key', '$(FINETUNE_MCP_TOKEN)'],
    env: [token],
    resources: { limits: { 'nvidia.com/gpu': 1 } },
    volumeMounts: [{ name: 'workspace', mountPath: plan.home, readOnly: true }],
  });
  const monitor = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: `${plan.slug}-serve`, labels },
    spec: { selector: { matchLabels: serveLabels }, endpoints: [{ port: 'http', path: '/metrics', interval: '30s', authorization: { type: 'Bearer', credentials: { name: 'finetune-mcp-token', key: 'token' } } }] },
  };
  const rule = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: plan.slug, labels }, spec: rules };
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['serve.yaml', 'servicemonitor.yaml', 'prometheus-rule.yaml'],
    // kube-prometheus-stack's Grafana sidecar loads dashboards from ConfigMaps with this label.
    configMapGenerator: [{ name: `${plan.slug}-dashboard`, files: ['grafana-dashboard.json'], options: { labels: { grafana_dashboard: '1' } } }],
    generatorOptions: { disableNameSuffixHash: true },
  };
  const docs = (items: unknown[]) => items.map((item) => yaml(item)).join('---\n');
  return {
    'kustomization.yaml': yaml(kustomization),
    'serve.yaml': docs(serve),
    'vllm.yaml': docs(vllm),
    'servicemonitor.yaml': yaml(monitor),
    'prometheus-rule.yaml': yaml(rule),
    'grafana-dashboard.json': dashboard,
  };
}

/** A Deployment of one container on the workspace claim, and its Service on the container's `http` port. */
function workload(name: string, labels: Record<string, string>, port: number, container: Record<string, unknown>): unknown[] {
  const volumes = [{ name: 'workspace', persistentVolumeClaim: { claimName: 'finetune-mcp-workspace' } }];
  const pod = { metadata: { labels }, spec: { containers: [{ ...container, ports: [{ name: 'http', containerPort: port }] }], volumes } };
  return [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels }, spec: { replicas: 1, selector: { matchLabels: labels }, template: pod } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { selector: labels, ports: [{ name: 'http', port, targetPort: 'http' }] } },
  ];
}

function rollbackNote(plan: Plan, target: BundleArgs['target']): string {
  const { name } = plan.version;
  const alias = plan.alias ?? 'production';
  const redeploy =
    target === 'compose'
      ? `Write a bundle for that version (\`deployment_bundle {"version": "${name}@<previous>", "target": "compose"}\`) and \`docker compose up -d\` in its folder, or edit \`--version\` in compose.yaml and run \`docker compose up -d serve\`.`
      : `Write a bundle for that version (\`deployment_bundle {"version": "${name}@<previous>", "target": "kubernetes"}\`) and \`kubectl apply -k\` it, or \`kubectl rollout undo deployment/${plan.slug}-serve\` if the previous Deployment revision served it.`;
  return [
    `# Rolling back ${plan.served}`,
    '',
    `This bundle serves ${plan.served}${plan.alias ? ` (alias \`${plan.alias}\`)` : ''}. If it misbehaves (the FinetuneQualityRegression, FinetuneJudgeScoreDropped or FinetuneServingErrors alerts fire):`,
    '',
    `1. Move the alias back in the registry with the MCP tool \`rollback_model\`:`,
    '',
    `   \`\`\`json`,
    `   {"name": "${name}", "alias": "${alias}", "reason": "what went wrong"${plan.previous ? `, "to_version": "${plan.previous}"` : ''}}`,
    '   ```',
    '',
    `   or from a shell: \`finetune-mcp rollback_model --name ${name} --alias ${alias} --reason "what went wrong"\`. It answers with the version the alias now names${plan.previous ? ` (before this one: ${plan.previous})` : ''}; the move is kept in the alias history (model_card).`,
    `2. Serve that version: ${redeploy}`,
    '3. Check: `GET /v1/models` lists the version you rolled back to, and the alerts resolve.',
    '',
  ].join('\n');
}

function readme(plan: Plan, target: BundleArgs['target']): string {
  const common = [
    `# Deployment bundle: ${plan.served}`,
    '',
    `Written by finetune-mcp ${PACKAGE_VERSION} (deployment_bundle) for model version ${plan.version.version_id}. Clients call it as an OpenAI-compatible API with \`model: "${plan.served}"\` and the bearer token (FINETUNE_MCP_TOKEN) as the API key, on the built-in endpoint (\`finetune-mcp serve-model\`, CPU, port ${PORT}) or on vLLM with the LoRA adapter (GPU, port ${VLLM_PORT}).`,
    '',
    '- `grafana-dashboard.json`: serving latency, tokens and errors by model; training jobs; tool calls; judge scores and improvement cycles.',
    '- Prometheus alert rules: a job failed, a budget stopped a job, a quality regression (improvement policy or falling judge scores), serving errors and latency.',
    '- `ROLLBACK.md`: what to do when this version misbehaves (rollback_model).',
    '',
  ];
  const specific =
    target === 'compose'
      ? [
          '## Run (Docker Compose)',
          '',
          '1. `cp .env.example .env` and set FINETUNE_MCP_TOKEN (16+ characters); `mkdir -p secrets && printf %s "$TOKEN" > secrets/finetune-mcp-token` for Prometheus.',
          `2. The \`serve\` container mounts the workspace that holds the registry, the base model and the adapter (FINETUNE_MCP_HOME_ON_HOST, default ${plan.home}) at ${plan.home}, the path its records name; the image is built from \`Dockerfile\` (set FINETUNE_MCP_PACKAGE to a tarball from \`npm pack\` if the package is not on your registry).`,
          '3. `docker compose up -d` starts the endpoint, Prometheus (:9090, with the rules) and Grafana (:3000, dashboard provisioned).',
          `4. The vLLM variant (GPU): \`docker compose --profile vllm up -d vllm\`; it serves the base from ${plan.base_dir} and this adapter (\`adapter/\`) as \`${plan.served}\`.`,
          '',
        ]
      : [
          '## Run (Kubernetes, kustomize)',
          '',
          `1. A PersistentVolumeClaim \`finetune-mcp-workspace\` holding the workspace (a copy of ${plan.home}: registry, base model, adapter; mounted at that same path, which its records name) and a Secret: \`kubectl create secret generic finetune-mcp-token --from-literal=token=...\`.`,
          `2. An image \`finetune-mcp:${PACKAGE_VERSION}\` with the package installed (\`npm install -g finetune-mcp\` on node:20-bookworm).`,
          '3. `kubectl apply -k .` creates the endpoint (Deployment + Service), a ServiceMonitor and a PrometheusRule (Prometheus Operator / kube-prometheus-stack) and the dashboard ConfigMap (label grafana_dashboard=1 for the Grafana sidecar).',
          '4. The vLLM variant (a GPU node): `kubectl apply -f vllm.yaml`; it mounts the same claim read-only and serves the adapter as the same model id.',
          '',
        ];
  return [...common, ...specific].join('\n');
}
