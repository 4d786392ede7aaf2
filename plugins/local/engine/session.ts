import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { FinetuneError } from '../../../src/errors.js';
import type { Graph } from '../onnx/graph.js';

/** onnxruntime-node, imported on first use so the server starts light. */
let ortModule: Promise<typeof Ort> | undefined;
export function loadOrt(): Promise<typeof Ort> {
  ortModule ??= import('onnxruntime-node').then((m) => ((m as unknown as { default?: typeof Ort }).default ?? m) as typeof Ort);
  return ortModule;
}

interface SessionOptions {
  threads?: number;
  provider?: string;
  /** Writes an ONNX Runtime profile (JSON) with this file prefix. */
  profile_prefix?: string;
  /** Initializer bytes above which weights go to an external data file (protobuf caps a model at 2 GB). */
  external_data_threshold?: number;
  /**
   * Let idle intra-op threads spin (ORT's own default). Off by default here: on a 2-core VM shared
   * with a server and other work, a LoRA step at 2 threads measured ~190 ms without spinning against
   * ~290 ms with it (stories260K, batch 8 × 256).
   */
  allow_spinning?: boolean;
  /** Set by createSessionFromGraph for graphs holding NF4 weights (MatMulBnb4). */
  keep_quantized?: boolean;
}

/** Below the 2 GB protobuf limit with room for the graph itself. */
const EXTERNAL_DATA_THRESHOLD = 1.5 * 1024 ** 3;

/**
 * Creates a session for a built graph: from memory when it fits in one protobuf, else from a
 * model file whose weights live in an ONNX external data file beside it (removed once loaded).
 */
export async function createSessionFromGraph(graph: Graph, given: SessionOptions): Promise<{ session: Ort.InferenceSession; provider: string }> {
  const options = graph.nodes.some((n) => n.opType === 'MatMulBnb4') ? { ...given, keep_quantized: true } : given;
  if (graph.initializerBytes <= (options.external_data_threshold ?? EXTERNAL_DATA_THRESHOLD)) return createSession(graph.toModel(), options);
  const dir = mkdtempSync(join(tmpdir(), 'finetune-mcp-onnx-'));
  try {
    const { model, chunks } = graph.toModelWithExternalData('weights.bin');
    const fd = openSync(join(dir, 'weights.bin'), 'w');
    try {
      for (const chunk of chunks) writeSync(fd, chunk);
    } finally {
      closeSync(fd);
    }
    const modelPath = join(dir, 'model.onnx');
    const mfd = openSync(modelPath, 'w');
    try {
      writeSync(mfd, model);
    } finally {
      closeSync(mfd);
    }
    return await createSession(modelPath, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Providers the installed onnxruntime-node offers, cpu first: the bundled ones, plus cuda when its
 * provider library was installed beside the binding (the binding reports cuda as not bundled even
 * then: its files come from a separate download, never in the npm tarball).
 */
export async function availableProviders(): Promise<string[]> {
  const ort = await loadOrt();
  const list = (ort as unknown as { listSupportedBackends?: () => Array<{ name: string; bundled: boolean }> }).listSupportedBackends?.() ?? [];
  const names = list.filter((b) => b.bundled || (b.name === 'cuda' && cudaFilesInstalled())).map((b) => b.name);
  return names.includes('cpu') ? names : ['cpu', ...names];
}

function cudaFilesInstalled(): boolean {
  try {
    const bin = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin');
    return readdirSync(bin).some((napi) => existsSync(join(bin, napi, process.platform, process.arch, 'libonnxruntime_providers_cuda.so')));
  } catch {
    return false;
  }
}

/** The provider to use: the one asked for when this build offers it, else a clear refusal. */
export async function resolveProvider(provider: string | undefined): Promise<string> {
  const wanted = provider ?? 'cpu';
  const offered = await availableProviders();
  if (!offered.includes(wanted)) {
    throw new FinetuneError('CAPABILITY_UNSUPPORTED', `execution provider "${wanted}" is not offered by the installed onnxruntime-node (offered: ${offered.join(', ')})`, {
      recovery: `Use provider ${offered.join(' or ')}; CUDA needs onnxruntime-node installed with its CUDA files.`,
      details: { field: 'provider' },
    });
  }
  return wanted;
}

async function createSession(model: Uint8Array | string, options: SessionOptions): Promise<{ session: Ort.InferenceSession; provider: string }> {
  const ort = await loadOrt();
  const provider = await resolveProvider(options.provider);
  const sessionOptions: Ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // ONNX Runtime's warnings (unused initializers after fusion…) are noise for users; errors still surface
    logSeverityLevel: 3,
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    ...(options.profile_prefix ? { enableProfiling: true, profileFilePrefix: options.profile_prefix } : {}),
    extra: {
      ...(options.allow_spinning ? {} : { session: { intra_op: { allow_spinning: '0' } } }),
      // NF4 weights (quant/nf4-linear.ts) are dequantised by nodes whose inputs are all constants:
      // constant folding would store them back as float32 initializers
      ...(options.keep_quantized ? { optimization: { disable_specified_optimizers: 'ConstantFolding' } } : {}),
    },
  };
  try {
    const session = typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
    return { session, provider };
  } catch (error) {
    const message = (error as Error).message;
    if (/bad_alloc|out of memory|Failed to allocate/i.test(message)) throw new FinetuneError('OUT_OF_MEMORY', `ONNX Runtime could not allocate the model: ${message}`, { cause: error });
    // the graph is fine: the machine lacks the GPU, its driver or the provider's libraries
    if (/WebGPU adapter|No supported adapters|Failed to load shared library|libcudart|libcudnn|libcublas/i.test(message)) {
      throw new FinetuneError('CAPABILITY_UNSUPPORTED', `execution provider "${provider}" could not start on this machine: ${message}`, {
        recovery:
          provider === 'webgpu'
            ? 'WebGPU found no adapter: install the GPU driver and the Vulkan loader (libvulkan1) with the vendor ICD, or use provider cpu.'
            : 'Install the CUDA 12 runtime, cuBLAS and cuDNN libraries ONNX Runtime asks for on the loader path, or use provider cpu.',
        details: { field: 'provider' },
        cause: error,
      });
    }
    throw new FinetuneError('INTERNAL', `ONNX Runtime rejected the generated graph: ${message}`, { cause: error });
  }
}
