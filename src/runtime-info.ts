import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function installed(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Which TensorFlow.js backend would serve here, best first: native GPU, native CPU, wasm, pure JS.
 * Read from what is installed, without importing TensorFlow.js itself (it is heavy).
 */
export function tensorflowBackend(): { backend: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu' | 'none'; package?: string } {
  const order = [
    ['@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'],
    ['@tensorflow/tfjs-node', 'tensorflow'],
    ['@tensorflow/tfjs-backend-wasm', 'wasm'],
    ['@tensorflow/tfjs', 'cpu'],
  ] as const;
  for (const [pkg, backend] of order) if (installed(pkg)) return { backend, package: pkg };
  return { backend: 'none' };
}

/** Execution providers the installed onnxruntime-node offers (imports it: call only when asked). */
export async function onnxExecutionProviders(): Promise<{ available: boolean; providers: string[]; version?: string; error?: string }> {
  try {
    const ort = (await import('onnxruntime-node')) as typeof import('onnxruntime-node');
    const listed = (ort as unknown as { listSupportedBackends?: () => Array<{ name: string; bundled: boolean }> }).listSupportedBackends?.() ?? [];
    const providers = listed.filter((b) => b.bundled).map((b) => b.name);
    return { available: true, providers: providers.length ? providers : ['cpu'], version: ort.env.versions?.common };
  } catch (error) {
    return { available: false, providers: [], error: (error as Error).message };
  }
}
