import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPolicy } from '../../src/training/config-schema.js';
import { JobLedger, type JobPolicy } from '../../src/training/ledger.js';
import { resolveHyperparameters } from '../../src/training/templates.js';
import { Workspace } from '../../src/workspace/workspace.js';

/** A fresh workspace on a temp folder with the ledger on it; `cleanup()` removes both. */
export function tempLedger(): { workspace: Workspace; ledger: JobLedger; home: string; cleanup(): void } {
  const home = mkdtempSync(join(tmpdir(), 'ftm-training-'));
  const workspace = Workspace.open({ root: home });
  return {
    workspace,
    ledger: new JobLedger(workspace.db),
    home,
    cleanup() {
      workspace.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Stores a small config straight in the ledger (no dataset checks) and returns its id. */
export function insertTestConfig(ledger: JobLedger, backend = 'fake', policy: Partial<JobPolicy> = {}): string {
  const config_id = `cfg_test${Math.random().toString(36).slice(2, 10)}`;
  ledger.insertConfig({
    config_id,
    base_model: 'mdl_test',
    dataset_id: 'ds_test',
    method: 'sft',
    approach: 'lora',
    backend,
    template: 'smoke',
    hyperparameters: resolveHyperparameters('smoke', {}),
    backend_options: {},
    policy: { ...defaultPolicy(), ...policy },
    parent_config_id: null,
  });
  return config_id;
}
