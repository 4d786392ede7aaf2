import type { Config } from './config.js';

/** The whole path on a tiny model, offline. Filled in as the stages land (see README "Status"). */
export async function runDemo(_config: Config, _argv: string[]): Promise<number> {
  process.stderr.write('The demo needs the datasets, runtime, trainer and evaluation stages; see README "Status".\n');
  return 1;
}
