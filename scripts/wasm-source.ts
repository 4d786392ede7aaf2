/** The fingerprint module's WebAssembly text and its compilation (by the build script and the test that checks it). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

export const WAT_PATH = fileURLToPath(new URL('../src/datasets/wasm/fingerprint.wat', import.meta.url));
export const WASM_MODULE_PATH = fileURLToPath(new URL('../src/datasets/wasm/fingerprint-wasm.ts', import.meta.url));

export async function compileWat(): Promise<Uint8Array> {
  const toolkit = await wabt();
  const parsed = toolkit.parseWat('fingerprint.wat', readFileSync(WAT_PATH, 'utf8'));
  try {
    parsed.validate();
    return parsed.toBinary({ write_debug_names: false }).buffer;
  } finally {
    parsed.destroy();
  }
}
