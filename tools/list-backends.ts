import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

export const listBackendsTool = defineTool({
  name: 'list_backends',
  title: 'List training backends',
  description:
    'Lists the training backends (local ONNX Runtime trainer, OpenAI, Together, Modal, …) with what each supports: ' +
    'methods (sft, dpo, classification, embedding), approaches (lora, qlora, full), resume, cancel, devices, and whether it is usable now. ' +
    'Use it before configure_training to pick a backend; a disabled one says why and how to enable it.',
  input: {
    include_disabled: z.boolean().default(true).describe('Also list backends that are disabled here (with the reason). Default true.'),
  },
  output: {
    backends: z
      .array(
        z.object({
          name: z.string().describe('Backend (plugin) name to pass as `backend`, e.g. "local".'),
          status: z.enum(['enabled', 'disabled']).describe('Usable now or not.'),
          description: z.string().describe('What the backend is.'),
          methods: z.array(z.string()).describe('Training methods, e.g. ["sft", "dpo", "classification", "embedding"].'),
          approaches: z.array(z.string()).describe('lora, qlora, full.'),
          method_approaches: z.record(z.string(), z.array(z.string())).optional().describe('Approaches per method where fewer.'),
          resume: z.boolean().describe('Can resume from a checkpoint.'),
          cancel: z.boolean().describe('Can cancel a running job.'),
          devices: z.array(z.string()).describe('Devices or GPU types.'),
          remote: z.boolean().describe('Runs on remote machines.'),
          reason: z.string().optional().describe('Why it is disabled.'),
          fix: z.string().optional().describe('How to enable it.'),
        }),
      )
      .describe('One entry per training backend.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler({ include_disabled }, { services }) {
    const backends = services.plugins
      .list()
      .map((p) => {
        // A plugin that withholds its training backend with this config is, as a backend, disabled for that reason.
        const withheld = p.unavailable?.find((u) => u.kind === 'training_backend');
        return withheld ? { ...p, status: 'disabled' as const, reason: withheld.reason, fix: withheld.fix, provides: [...p.provides, 'training_backend' as const] } : p;
      })
      .filter((p) => p.provides.includes('training_backend') && (include_disabled || p.status === 'enabled'))
      .map((p) => {
        const t = p.capabilities.training;
        return {
          name: p.name,
          status: p.status,
          description: p.description,
          methods: t?.methods ?? [],
          approaches: t?.approaches ?? [],
          ...(t?.method_approaches ? { method_approaches: t.method_approaches } : {}),
          resume: t?.resume ?? false,
          cancel: t?.cancel ?? false,
          devices: t?.devices ?? [],
          remote: t?.remote ?? false,
          ...(p.reason ? { reason: p.reason } : {}),
          ...(p.fix ? { fix: p.fix } : {}),
        };
      });
    return { backends };
  },
  summarize: (o) => (o.backends.length ? o.backends.map((b) => `${b.name}: ${b.status} [${b.methods.join('/')}; ${b.approaches.join('/')}]`).join('\n') : 'No training backends.'),
});
