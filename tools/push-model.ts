import { z } from 'zod';
import { defineTool } from '../src/server/tool.js';

const PushSchema = z.object({
  hub_url: z.string().describe('Hub endpoint, e.g. "https://huggingface.co".'),
  repo: z.string().describe('Model repo, e.g. "my-org/stories-bot".'),
  revision: z.string().describe('Branch committed to, e.g. "main".'),
  commit_oid: z.string().describe('Commit id on the Hub, e.g. "3f1c…".'),
  commit_url: z.string().describe('Link to the commit.'),
  format: z.string().describe('What was pushed: "adapter" or an export format, e.g. "onnx".'),
  lineage_sha256: z.string().describe('Hash of the version\'s lineage and weights, named in the commit title.'),
  files: z.array(z.string()).describe('Paths committed, e.g. ["adapter_config.json","adapter_model.safetensors","README.md"].'),
  pushed_at: z.string().describe('When, ISO 8601.'),
});

export const pushModelTool = defineTool({
  name: 'push_model',
  title: 'Push a version to the Hugging Face Hub',
  description:
    'Commits a registered model version to a Hugging Face Hub model repo: its files (format "adapter": the PEFT adapter folder, ' +
    'which vLLM and transformers load with --lora-modules / PeftModel; or an export_model format such as "onnx") and its model card ' +
    'as README.md. Creates the repo (private unless private=false) or reuses an existing one. The commit title names the version ' +
    'and its lineage hash; calling again after a failure never commits twice (it finds the earlier commit). Needs HF_TOKEN with ' +
    'write access. The registry records each push; model_card lists them. Next: deployment_bundle, or serve-model to try it.',
  input: {
    version: z.string().describe('Registered version, "name@1.0.0" or "mv_01j…".'),
    repo: z.string().describe('Hub model repo, owner/name, e.g. "my-org/stories-bot".'),
    format: z.string().default('adapter').describe('"adapter" (default: the PEFT folder) or an export_model format: onnx, gguf, ollama, hf, vllm.'),
    private: z.boolean().default(true).describe('Create the repo private (default true); an existing repo keeps its visibility.'),
    revision: z.string().min(1).default('main').describe('Branch to commit to, e.g. "main".'),
  },
  output: {
    version_id: z.string().describe('The version pushed, e.g. "mv_01j…".'),
    repo_created: z.boolean().describe('Whether this call created the repo (false: it existed).'),
    reused_commit: z.boolean().describe('True when an earlier attempt had already committed this version: nothing new was committed.'),
    commit_title: z.string().describe('The commit title, e.g. "stories-bot@1.0.0 (adapter) lineage 3f1c9a0b2d4e".'),
    source_dir: z.string().describe('The local folder whose files were pushed.'),
    push: PushSchema.describe('This push.'),
    pushes: z.array(PushSchema).describe('Every push of this version recorded in the registry, oldest first.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(args, { services, signal }) {
    const { pushModel } = await import('../src/models/hub-push.js');
    return pushModel(services, { ...args, signal });
  },
  summarize: (o) =>
    `${o.reused_commit ? 'Already pushed' : 'Pushed'} ${o.push.files.length} files to ${o.push.repo}@${o.push.revision} (commit ${o.push.commit_oid.slice(0, 12)}${o.repo_created ? ', repo created' : ''}): ${o.push.commit_url}`,
});
