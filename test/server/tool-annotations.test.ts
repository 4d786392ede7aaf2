import { describe, expect, it } from 'vitest';
import { TOOLS } from '../../tools/index.js';

/**
 * What each tool really does, pinned: a client auto-approves read-only tools and warns on destructive and
 * open-world ones, so a hint that flatters a tool is a safety bug. A new tool, or a tool that starts
 * reaching the network, has to be placed here on purpose.
 */

/** Only read the workspace (or compute from it): nothing is written, nothing leaves the machine. */
const READ_ONLY = [
  'classify', 'compare_experiments', 'compare_versions', 'generate', 'get_improvement_policy', 'get_model_version', 'inspect_dataset', 'inspect_model', 'list_backends',
  'list_datasets', 'list_improvement_policies', 'list_jobs', 'list_model_versions', 'list_models', 'monitor_training', 'recommend_base_model', 'review_queue', 'score_outputs', 'server_info', 'validate_dataset',
];

/** Reach something outside this machine: a remote backend, a judge endpoint, the Hub, a trace store. */
const OPEN_WORLD = [
  'cancel_training', // cancels the provider's job
  'compare_models', // remote models and the judge endpoint
  'estimate_resources', // calibrate uploads the training file to Together for a price quote
  'evaluate_model', // remote models and the judge endpoint
  'extract_dataset', // reads traces from Phoenix
  'generate_dataset', // asks the generator model (an endpoint or an inference plugin)
  'import_model', // downloads from the Hugging Face Hub
  'judge_outputs', // the judge endpoint, Phoenix spans and annotation write-back
  'migrate_openai_finetune', // reads an OpenAI fine-tuning job
  'push_model', // commits to the Hugging Face Hub
  'resume_training', // submits to a remote backend
  'run_improvement_policy', // the judge endpoint, Phoenix spans, and a retraining job's backend
  'run_safety_probes', // a served model under test and the judge endpoint
  'start_training', // uploads data and submits to a remote backend
];

/** Remove or overwrite what the user had: records, files, an alias's target, a running job. */
const DESTRUCTIVE = ['cancel_training', 'delete_dataset', 'delete_job', 'delete_model', 'erase_subject', 'promote_model', 'rollback_model', 'run_improvement_policy'];

describe('tool annotations', () => {
  it.each(TOOLS.map((tool) => [tool.name, tool] as const))('%s says what it does', (name, tool) => {
    const { readOnlyHint, destructiveHint, openWorldHint } = tool.annotations;
    expect(readOnlyHint, 'readOnlyHint').toBe(READ_ONLY.includes(name));
    expect(openWorldHint, 'openWorldHint').toBe(OPEN_WORLD.includes(name));
    // destructiveHint means something only for a tool that writes; left out it defaults to true, so a writer states it.
    if (!readOnlyHint) expect(destructiveHint, 'destructiveHint').toBe(DESTRUCTIVE.includes(name));
  });

  it('names only tools that exist', () => {
    const names = new Set(TOOLS.map((tool) => tool.name));
    expect([...READ_ONLY, ...OPEN_WORLD, ...DESTRUCTIVE].filter((name) => !names.has(name))).toEqual([]);
  });
});
