import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';
import type { Config } from '../../src/config.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'datasets');
export const fixture = (name: string) => join(FIXTURES, name);

/** A test client whose allowed roots include the dataset fixtures and the given extra folders. */
export async function datasetClient(extraRoots: string[] = [], datasets: Partial<Config['datasets']> = {}): Promise<TestClient> {
  const probe = await connectTestClient();
  const base = probe.services.config;
  await probe.close();
  return connectTestClient({ config: { allowed_roots: [FIXTURES, ...extraRoots], datasets: { ...base.datasets, ...datasets } } });
}
