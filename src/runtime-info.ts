// The server reports only runtimes it uses itself. TensorFlow.js is a dev dependency that tests use
// as an independent autodiff oracle; the server never loads it, so server_info does not report it.

interface OnnxRuntimeInfo {
  available: boolean;
  providers: string[];
  version?: string;
  error?: string;
}

let onnxInfo: Promise<OnnxRuntimeInfo> | undefined;

/**
 * Execution providers the installed onnxruntime-node offers (imports it: call only when asked).
 * Read once per process: server_info answers from memory after its first call.
 */
export async function onnxExecutionProviders(): Promise<OnnxRuntimeInfo> {
  const info = await (onnxInfo ??= probeOnnxRuntime());
  return { ...info, providers: [...info.providers] };
}

async function probeOnnxRuntime(): Promise<OnnxRuntimeInfo> {
  try {
    const ort = (await import('onnxruntime-node')) as typeof import('onnxruntime-node');
    const listed = (ort as unknown as { listSupportedBackends?: () => Array<{ name: string; bundled: boolean }> }).listSupportedBackends?.() ?? [];
    const providers = listed.filter((b) => b.bundled).map((b) => b.name);
    return { available: true, providers: providers.length ? providers : ['cpu'], version: ort.env.versions?.common };
  } catch (error) {
    return { available: false, providers: [], error: (error as Error).message };
  }
}
