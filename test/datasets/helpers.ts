import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import type { ConfigOverrides } from '../../src/config.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'datasets');
export const fixture = (name: string) => join(FIXTURES, name);

/** A test client whose allowed roots include the dataset fixtures and the given extra folders. */
export async function datasetClient(extraRoots: string[] = [], datasets: ConfigOverrides['datasets'] = {}): Promise<TestClient> {
  return connectTestClient({ config: { allowed_roots: [FIXTURES, ...extraRoots], datasets } });
}

/**
 * For a describe block: a scratch folder and a dataset client whose roots include it, made before
 * the block's tests and removed after them. Tests read `env.t` and `env.scratch`.
 */
export function useDatasetClient(prefix: string): { t: TestClient; scratch: string } {
  const env = {} as { t: TestClient; scratch: string };
  beforeAll(async () => {
    env.scratch = mkdtempSync(join(tmpdir(), prefix));
    env.t = await datasetClient([env.scratch]);
  });
  afterAll(async () => {
    await env.t?.close();
    if (env.scratch) rmSync(env.scratch, { recursive: true, force: true });
  });
  return env;
}
