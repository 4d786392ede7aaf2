import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareVersionsTool } from '../../tools/compare-versions.js';
import { getModelVersionTool } from '../../tools/get-model-version.js';
import { listModelVersionsTool } from '../../tools/list-model-versions.js';
import { modelCardTool } from '../../tools/model-card.js';
import { promoteModelTool } from '../../tools/promote-model.js';
import { registerModelTool } from '../../tools/register-model.js';
import { rollbackModelTool } from '../../tools/rollback-model.js';
import type { ConfigOverrides } from '../../src/config.js';
import type { Gate } from '../../src/evaluation/gates.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { insertEvaluation as insertStoredEvaluation, makeSucceededJob, writeAdapter, writeDatasetVersion } from './records.js';

// Gates as a team playbook would set them; the registry reads them from the config.
const GATES: Gate[] = [
  { metric: 'bleu', comparator: '>=', threshold: 35 },
  { metric: 'rouge_l', comparator: '>=', threshold: 0.4 },
];

describe('model registry through MCP', () => {
  let t: TestClient;
  let adapterDir: string;

  beforeEach(async () => {
    t = await connectTestClient({ config: gatesConfig(GATES) });
    adapterDir = writeAdapter(join(mkdtempSync(join(t.home, 'in-')), 'adapter'));
  });
  afterEach(async () => t?.close());

  it('registers from a job with complete lineage: base model, dataset hash, config, job, metrics, evaluations', async () => {
    writeDatasetVersion(t.services, 'ds_stories', 'a'.repeat(64));
    const jobId = makeSucceededJob(t.services, { dataset_id: 'ds_stories', learning_rate: 3e-4, losses: [2.4, 1.7, 1.25] });
    const evalId = insertEvaluation(t, { bleu: 36.5, rouge_l: 0.43, perplexity: 3.2 });
    const { model_version: v } = await t.callOk(registerModelTool, { name: 'stories-bot', version: '1.0.0', job_id: jobId, evaluation_ids: [evalId], description: 'first cut' });
    expect(v.lineage).toMatchObject({
      base_model: 'mdl_stories260k',
      dataset_id: 'ds_stories',
      dataset_hash: 'a'.repeat(64),
      job_id: jobId,
      evaluation_ids: [evalId],
      adapter: { peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] },
      missing: [],
    });
    expect((v.lineage.config as { hyperparameters: { learning_rate: number } }).hyperparameters.learning_rate).toBe(3e-4);
    expect(v.metrics).toEqual({ loss: 1.25, bleu: 36.5, rouge_l: 0.43, perplexity: 3.2 });
    expect(v.source_kind).toBe('job');
    // The registry keeps its own copy: the job's folder may go, the version's weights stay.
    expect(readFileSync(join(v.artifact_dir, 'adapter_model.safetensors'))).toEqual(readFileSync(join(t.home, 'jobs', jobId, 'output', 'adapter', 'adapter_model.safetensors')));
  });

  it('names the missing lineage when registered from a bare adapter folder', async () => {
    const { model_version: v } = await t.callOk(registerModelTool, { name: 'stories-bot', version: '0.1.0', adapter_path: adapterDir });
    expect(v.lineage.base_model).toBe('stories260K');
    expect(v.lineage.missing).toEqual(['dataset_id', 'dataset_hash', 'config', 'job_id', 'evaluation_ids']);
    expect(v.source_kind).toBe('adapter');
  });

  it('validates semver and refuses a version that already exists (also by equal precedence)', async () => {
    for (const bad of ['1.0', 'v1.0.0', '01.0.0', '1.0.0-', '1.0.0-01']) {
      const r = await t.call('register_model', { name: 'm', version: bad, adapter_path: adapterDir });
      expect(errorCode(r), bad).toBe('INVALID_INPUT');
      expect(resultText(r)).toContain('semantic version');
    }
    await t.callOk(registerModelTool, { name: 'm', version: '1.0.0', adapter_path: adapterDir });
    const again = await t.call('register_model', { name: 'm', version: '1.0.0', adapter_path: adapterDir });
    expect(errorCode(again)).toBe('STATE_CONFLICT');
    const build = await t.call('register_model', { name: 'm', version: '1.0.0+build.5', adapter_path: adapterDir });
    expect(errorCode(build)).toBe('STATE_CONFLICT');
    // Another name may reuse the number; nothing half-written stays behind on refusal.
    await t.callOk(registerModelTool, { name: 'other', version: '1.0.0', adapter_path: adapterDir });
    const { versions } = await t.callOk(listModelVersionsTool, {});
    expect(versions.map((v) => `${v.name}@${v.version}`)).toEqual(['m@1.0.0', 'other@1.0.0']);
  });

  it('lists versions by semver precedence, not by string or time', async () => {
    for (const version of ['1.10.0', '1.2.0', '1.2.0-rc.1', '1.2.0-alpha', '1.2.0-rc.10', '0.9.9']) {
      await t.callOk(registerModelTool, { name: 'm', version, adapter_path: adapterDir });
    }
    const { versions } = await t.callOk(listModelVersionsTool, { name: 'm' });
    expect(versions.map((v) => v.version)).toEqual(['1.10.0', '1.2.0', '1.2.0-rc.10', '1.2.0-rc.1', '1.2.0-alpha', '0.9.9']);
  });

  it('refuses to promote past failing gates, promotes when forced with a reason, and records both', async () => {
    const weak = insertEvaluation(t, { bleu: 20.1, rouge_l: 0.45 });
    await t.callOk(registerModelTool, { name: 'm', version: '1.0.0', adapter_path: adapterDir, evaluation_ids: [weak] });
    const refused = await t.call('promote_model', { name: 'm', version: '1.0.0', alias: 'production' });
    expect(errorCode(refused)).toBe('GATE_FAILED');
    expect(resultText(refused)).toContain('bleu 20.1 (needs >= 35)');
    expect(resultText(refused)).not.toContain('rouge_l');

    const noReason = await t.call('promote_model', { name: 'm', version: '1.0.0', alias: 'production', force: true });
    expect(errorCode(noReason)).toBe('INVALID_INPUT');

    const forced = await t.callOk(promoteModelTool, { name: 'm', version: '1.0.0', alias: 'production', force: true, reason: 'Launch demo; BLEU set is out of domain' });
    expect(forced).toMatchObject({ changed: true, forced: true, from: null, to: '1.0.0' });
    expect(forced.gates.find((g) => g.metric === 'bleu')).toMatchObject({ passed: false, value: 20.1, threshold: 35 });
    const got = await t.callOk(getModelVersionTool, { name: 'm', alias: 'production' });
    expect(got.model_version.aliases).toEqual(['production']);
    expect(got.alias_history).toHaveLength(1);
    expect(got.alias_history[0]).toMatchObject({ action: 'promote', forced: true, reason: 'Launch demo; BLEU set is out of domain', to_version: '1.0.0' });
  });

  it('rolls back through the history with reasons, and refuses when there is nothing earlier', async () => {
    const good = insertEvaluation(t, { bleu: 40, rouge_l: 0.5 });
    for (const version of ['1.0.0', '1.1.0', '1.2.0']) {
      await t.callOk(registerModelTool, { name: 'm', version, adapter_path: adapterDir, evaluation_ids: [good] });
      const p = await t.callOk(promoteModelTool, { name: 'm', version, alias: 'production' });
      expect(p.forced).toBe(false);
    }
    const same = await t.callOk(promoteModelTool, { name: 'm', version: '1.2.0', alias: 'production' });
    expect(same.changed).toBe(false);

    const first = await t.callOk(rollbackModelTool, { name: 'm', alias: 'production', reason: 'latency regression' });
    expect([first.from, first.to]).toEqual(['1.2.0', '1.1.0']);
    const second = await t.callOk(rollbackModelTool, { name: 'm', alias: 'production', reason: 'refund answers wrong', detail: true });
    expect([second.from, second.to]).toEqual(['1.1.0', '1.0.0']);
    expect(second.alias_history!.map((e) => [e.action, e.from_version, e.to_version, e.reason])).toEqual([
      ['promote', null, '1.0.0', ''],
      ['promote', '1.0.0', '1.1.0', ''],
      ['promote', '1.1.0', '1.2.0', ''],
      ['rollback', '1.2.0', '1.1.0', 'latency regression'],
      ['rollback', '1.1.0', '1.0.0', 'refund answers wrong'],
    ]);
    const nothing = await t.call('rollback_model', { name: 'm', alias: 'production', reason: 'again' });
    expect(errorCode(nothing)).toBe('STATE_CONFLICT');
    const explicit = await t.callOk(rollbackModelTool, { name: 'm', alias: 'production', reason: 'fixed upstream', to_version: '1.2.0' });
    expect(explicit.to).toBe('1.2.0');
    const { versions } = await t.callOk(listModelVersionsTool, { name: 'm', alias: 'production' });
    expect(versions.map((v) => v.version)).toEqual(['1.2.0']);
    const unknownAlias = await t.call('rollback_model', { name: 'm', alias: 'staging', reason: 'x y z' });
    expect(errorCode(unknownAlias)).toBe('STATE_CONFLICT');
  });

  it('compares two versions: metric deltas with direction, lineage and hyperparameter changes', async () => {
    writeDatasetVersion(t.services, 'ds_a', 'a'.repeat(64));
    writeDatasetVersion(t.services, 'ds_b', 'b'.repeat(64));
    const jobA = makeSucceededJob(t.services, { dataset_id: 'ds_a', learning_rate: 1e-4, losses: [2, 1.5], seed: 1 });
    const jobB = makeSucceededJob(t.services, { dataset_id: 'ds_b', learning_rate: 3e-4, losses: [2, 1.2], seed: 2 });
    await t.callOk(registerModelTool, { name: 'm', version: '1.0.0', job_id: jobA, evaluation_ids: [insertEvaluation(t, { bleu: 30, perplexity: 4 })] });
    await t.callOk(registerModelTool, { name: 'm', version: '1.1.0', job_id: jobB, evaluation_ids: [insertEvaluation(t, { bleu: 33, perplexity: 3.5 })] });
    const c = await t.callOk(compareVersionsTool, { name: 'm', version_a: '1.0.0', version_b: '1.1.0' });
    expect(c.metrics).toEqual([
      { metric: 'bleu', a: 30, b: 33, delta: 3, better: 'b' },
      { metric: 'loss', a: 1.5, b: 1.2, delta: expect.closeTo(-0.3, 12), better: 'b' },
      { metric: 'perplexity', a: 4, b: 3.5, delta: -0.5, better: 'b' },
    ]);
    expect(c.lineage_differences.map((d) => d.field)).toEqual(['dataset_id', 'dataset_hash', 'job_id']);
    expect(c.hyperparameter_differences).toEqual([{ field: 'learning_rate', a: 1e-4, b: 3e-4 }]);
    expect(c.same_weights).toBe(false);
  });

  it('writes a model card from the lineage, metrics, gates and history', async () => {
    writeDatasetVersion(t.services, 'ds_stories', 'c'.repeat(64));
    const jobId = makeSucceededJob(t.services, { dataset_id: 'ds_stories' });
    const evalId = insertEvaluation(t, { bleu: 37.25, rouge_l: 0.41 });
    await t.callOk(registerModelTool, { name: 'stories-bot', version: '2.0.0', job_id: jobId, evaluation_ids: [evalId], description: 'Tells bedtime stories.' });
    await t.callOk(promoteModelTool, { name: 'stories-bot', version: '2.0.0', alias: 'staging' });
    const out = join(t.home, 'card', 'MODEL_CARD.md');
    const card = await t.callOk(modelCardTool, { name: 'stories-bot', alias: 'staging', output_path: out });
    expect(card.path).toBe(out);
    expect(readFileSync(out, 'utf8')).toBe(card.markdown);
    const md = card.markdown;
    expect(md).toContain('# stories-bot 2.0.0');
    expect(md).toContain('Tells bedtime stories.');
    expect(md).toContain('| base model | mdl_stories260k |');
    expect(md).toContain(`Dataset version \`ds_stories\`, content hash \`${'c'.repeat(64)}\``);
    expect(md).toContain('- Rows: rows 10, train 8, test 2.');
    expect(md).toContain('| learning_rate | 0.0002 |');
    expect(md).toContain('| bleu | 37.25 | higher |');
    expect(md).toContain('| bleu >= 35 | 37.25 | pass |');
    expect(md).toContain(`Evaluation \`${evalId}\``);
    expect(md).toMatch(/promote `staging` \(none\) → 2\.0\.0/);
    expect(md).toContain(`training job | ${jobId}`);
    const outside = await t.call('model_card', { name: 'stories-bot', version: '2.0.0', output_path: '/etc/card.md' });
    expect(errorCode(outside)).toBe('PATH_NOT_ALLOWED');
    expect(existsSync('/etc/card.md')).toBe(false);
  });

  it('exposes each version as a resource with its card', async () => {
    await t.callOk(registerModelTool, { name: 'm', version: '1.0.0', adapter_path: adapterDir });
    const { resourceTemplates } = await t.client.listResourceTemplates();
    expect(resourceTemplates.map((r) => r.uriTemplate)).toContain('finetune://registry/{name}/{version}');
    const { resources } = await t.client.listResources();
    expect(resources.map((r) => r.uri)).toContain('finetune://registry/m/1.0.0');
    const read = await t.client.readResource({ uri: 'finetune://registry/m/1.0.0' });
    const doc = JSON.parse((read.contents[0] as { text: string }).text) as { model_version: { version: string }; card: string };
    expect(doc.model_version.version).toBe('1.0.0');
    expect(doc.card).toContain('# m 1.0.0');
  });

  it('refuses unknown jobs, unsucceeded jobs, unknown evaluations and non-adapter folders with clear codes', async () => {
    expect(errorCode(await t.call('register_model', { name: 'm', version: '1.0.0', job_id: 'job_nope' }))).toBe('NOT_FOUND');
    expect(errorCode(await t.call('register_model', { name: 'm', version: '1.0.0', adapter_path: adapterDir, evaluation_ids: ['eval_nope'] }))).toBe('NOT_FOUND');
    const notAdapter = await t.call('register_model', { name: 'm', version: '1.0.0', adapter_path: t.home });
    expect(errorCode(notAdapter)).toBe('FILE_ERROR');
    expect(errorCode(await t.call('register_model', { name: 'm', version: '1.0.0' }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('register_model', { name: '../x', version: '1.0.0', adapter_path: adapterDir }))).toBe('INVALID_INPUT');
    expect(errorCode(await t.call('promote_model', { name: 'm', version: '9.9.9' }))).toBe('NOT_FOUND');
    const { versions } = await t.callOk(listModelVersionsTool, {});
    expect(versions).toEqual([]);
  });
});

function gatesConfig(gates: Gate[]): ConfigOverrides {
  return { evaluation: { gates } };
}

function insertEvaluation(t: TestClient, metrics: Record<string, number>): string {
  return insertStoredEvaluation(t.services, metrics);
}
