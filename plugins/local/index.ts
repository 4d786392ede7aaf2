import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { definePlugin, PLUGIN_API_VERSION, type TrainingCapabilities } from '../../src/plugins/types.js';

const LocalConfigSchema = z.object({
  threads: z.number().int().min(1).max(256).optional().describe('ONNX Runtime intra-op threads per training worker, e.g. 2. Default: all cores.'),
});
type LocalPluginConfig = z.infer<typeof LocalConfigSchema>;

const capabilities: TrainingCapabilities = {
  methods: ['sft', 'dpo', 'classification', 'embedding'],
  // qlora: frozen linear weights held as NF4 (engine/quant/nf4-linear.ts); sft and dpo only
  approaches: ['lora', 'qlora', 'full'],
  method_approaches: { classification: ['lora', 'full'], embedding: ['lora', 'full'] },
  // SFT on preference rows trains on the chosen answers (plugins/local/trainer/dataset.ts); classification
  // and embedding train a head over the decoder (plugins/local/engine/heads/).
  tasks: { sft: ['chat', 'completion', 'text', 'preference'], dpo: ['preference'], classification: ['classification'], embedding: ['triplet', 'pair', 'scored_pair'] },
  resume: true,
  cancel: true,
  devices: ['cpu'],
  remote: false,
  inference: true,
  max_concurrent_jobs: 1,
};

/** Where onnxruntime-node keeps its native binding for this platform, without loading it. */
function ortBindingDir(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const bin = join(dirname(pkg), 'bin');
    for (const napi of existsSync(bin) ? readdirSync(bin) : []) {
      const dir = join(bin, napi, process.platform, process.arch);
      if (existsSync(join(dir, 'onnxruntime_binding.node'))) return dir;
    }
    return null;
  } catch {
    return null;
  }
}

/** Execution providers whose libraries ship beside the binding (CUDA and TensorRT are separate downloads). */
function bundledDevices(dir: string): string[] {
  const files = readdirSync(dir);
  const devices = ['cpu'];
  if (files.some((f) => f.includes('providers_cuda'))) devices.push('cuda');
  if (files.some((f) => f.includes('providers_tensorrt'))) devices.push('tensorrt');
  return devices;
}

/**
 * The embedded default backend: LoRA and full fine-tuning (SFT, DPO) on ONNX Runtime, each job in
 * its own detached worker process that outlives the server session.
 */
export const localPlugin = definePlugin<LocalPluginConfig>({
  meta: {
    name: 'local',
    version: '0.1.0',
    api_version: PLUGIN_API_VERSION,
    description: 'Local trainer on ONNX Runtime (CPU): LoRA or full fine-tuning with SFT, DPO, a classification head or an embedding loss, resumable, in a detached worker process.',
  },
  provides: ['training_backend', 'exporter', 'inference'],
  capabilities: { training: capabilities },
  configSchema: LocalConfigSchema,
  probe() {
    const dir = ortBindingDir();
    if (!dir) {
      return {
        available: false,
        reason: `onnxruntime-node has no native binding for ${process.platform}/${process.arch} in node_modules.`,
        fix: 'Reinstall dependencies (npm install) on a supported platform (linux, darwin or win32 on x64/arm64).',
      };
    }
    capabilities.devices = bundledDevices(dir);
    return { available: true, details: { binding: dir, devices: capabilities.devices } };
  },
  async create(ctx) {
    const { LocalTrainingBackend } = await import('./trainer/backend.js');
    const { LocalInference } = await import('./inference.js');
    return {
      training_backend: new LocalTrainingBackend({ logger: ctx.logger, workers: ctx.workers, ...(ctx.config.threads ? { threads: ctx.config.threads } : {}) }),
      exporter: {
        format: 'onnx',
        // The ONNX graph builder (onnx-proto) loads only when a model is exported.
        export: async (request) => (await import('./export/onnx.js')).exportOnnx(request),
      },
      inference: new LocalInference(),
    };
  },
});
