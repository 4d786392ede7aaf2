import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

export const deploymentBundleTool = defineTool({
  name: 'deployment_bundle',
  title: 'Write deployment and operations files for a version',
  description:
    'Writes a folder that runs a registered version in production: a Docker Compose stack ("compose") or Kubernetes manifests ' +
    '(kustomize: Deployment, Service, ServiceMonitor, PrometheusRule, dashboard ConfigMap) serving it with the built-in ' +
    'OpenAI-compatible endpoint (finetune-mcp serve-model), a vLLM variant with the LoRA adapter for a GPU, a Grafana dashboard ' +
    'and Prometheus alert rules over the metrics this server exports (jobs, budgets, tool calls, judge scores, serving latency, ' +
    'tokens and errors), and ROLLBACK.md naming rollback_model. Nothing is started. Next: follow the README.md in the folder.',
  input: {
    version: z.string().describe('Registered version, "name@1.0.0" or "mv_01j…".'),
    target: z.enum(['kubernetes', 'compose']).describe('"compose" (Docker Compose with Prometheus and Grafana) or "kubernetes" (manifests for kubectl apply -k).'),
    output_path: z.string().optional().describe('New folder to write (under an allowed root), e.g. "./deploy/stories-bot"; default in the workspace.'),
  },
  output: {
    path: z.string().describe('The bundle folder (absolute).'),
    target: z.enum(['kubernetes', 'compose']).describe('What the bundle runs on.'),
    served_model: z.string().describe('The model id clients send, e.g. "stories-bot@1.0.0".'),
    dashboard_file: z.string().describe('The Grafana dashboard JSON (absolute path).'),
    rules_file: z.string().describe('The Prometheus alert rules (absolute path).'),
    files: z.array(z.object({ name: z.string().describe('Path in the folder, e.g. "compose.yaml".'), bytes: z.number().describe('Size in bytes.') })).describe('Files written.'),
    next: z.string().describe('The command that starts it.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { services }) {
    const { writeDeploymentBundle } = await import('../src/deployment/bundle.js');
    return writeDeploymentBundle(services, args);
  },
  summarize: (o) => `Wrote a ${o.target} bundle for ${o.served_model} to ${o.path} (${o.files.length} files). Next: ${o.next}`,
});
