import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { markdownPrompt } from '../../src/server/prompt.js';
import { toFinetuneError } from '../../src/errors.js';
import { enableToolsTool } from '../../tools/enable-tools.js';
import { TOOLS } from '../../tools/index.js';
import { PROMPTS } from '../../prompts/index.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

let t: TestClient | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Arguments for a prompt: the required ones, or every one. */
const SAMPLE: Record<string, string> = {
  data_path: './data/support.jsonl',
  model_name: 'support-bot',
  base_model: 'Qwen/Qwen2.5-7B-Instruct',
  goal: 'answer refund questions',
  task: 'chat',
  languages: 'de,en',
  licence: 'commercial',
  hardware: '1x24GB',
  dataset_id: 'ds_01example',
  version: '1.2.0',
  alias: 'production',
  reason: 'refund answers regressed',
  kind: 'safety',
  description: 'it quoted another customer\'s address',
  subject: 'jane@example.com',
  request: 'erasure',
  source: './prod-outputs.jsonl',
  rubric: 'helpfulness',
  min_score: '0.8',
};

const textOf = (result: { messages: Array<{ content: { type: string; text?: string } }> }) => result.messages.map((m) => m.content.text ?? '').join('\n');

describe('MCP prompts', () => {
  it('prompts/list shows the eight prompts, each with described arguments', async () => {
    t = await connectTestClient();
    const { prompts } = await t.client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(
      ['choose_base_model', 'data_subject_request', 'fine_tune_workflow', 'improve_from_production', 'incident', 'release_checklist', 'rollback', 'runbook'].sort(),
    );
    for (const p of prompts) {
      expect(p.description!.length, p.name).toBeGreaterThan(40);
      for (const a of p.arguments ?? []) expect(a.description, `${p.name}.${a.name}`).toBeTruthy();
    }
  });

  it('prompts/get runbook names real tools and the gates of this server\'s config', async () => {
    t = await connectTestClient({ config: { evaluation: { gates: [{ metric: 'macro_f1', comparator: '>=', threshold: 0.82 }, { metric: 'perplexity', comparator: '<=', threshold: 12 }] } } });
    const text = textOf(await t.client.getPrompt({ name: 'runbook', arguments: { data_path: './data/tickets.jsonl', model_name: 'ticket-router' } }));
    expect(text).toContain('- macro_f1 >= 0.82');
    expect(text).toContain('- perplexity <= 12');
    expect(text).not.toMatch(/bleu >= 35/); // the defaults are replaced, not rendered from a copy
    expect(text).toContain('`validate_dataset {path: "./data/tickets.jsonl"}`');
    expect(text).toContain('`promote_model {name: "ticket-router", version, alias: "staging"}`');
    expect(text).toMatch(/`recommend_base_model`/); // no base model given: choose one
    expect(text).not.toContain('{{');
  });

  it('every tool a prompt names (in backticks) is a registered tool, with required or all arguments', async () => {
    t = await connectTestClient();
    const registered = new Set([...TOOLS.map((tool) => tool.name), enableToolsTool.name]);
    for (const prompt of PROMPTS) {
      const names = Object.keys(prompt.args);
      const required = names.filter((n) => !prompt.args[n].safeParse(undefined).success);
      for (const chosen of [required, names]) {
        const text = textOf(await t.client.getPrompt({ name: prompt.name, arguments: Object.fromEntries(chosen.map((n) => [n, SAMPLE[n]])) }));
        expect(text, prompt.name).not.toContain('{{');
        expect(text, prompt.name).not.toContain('undefined');
        const spans = [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1].split(/[\s{]/)[0]);
        expect(spans.length, prompt.name).toBeGreaterThan(0);
        for (const name of spans) expect(registered.has(name), `${prompt.name} names '${name}'`).toBe(true);
      }
    }
  });

  it('choose_base_model passes its arguments to recommend_base_model; incident and data_subject_request follow their kind', async () => {
    t = await connectTestClient();
    const choose = textOf(await t.client.getPrompt({ name: 'choose_base_model', arguments: { task: 'chat', languages: 'de, en', licence: 'commercial', hardware: '1x24GB' } }));
    expect(choose).toContain('`recommend_base_model {task: "chat", languages: ["de","en"], licence: "commercial", hardware: "1x24GB"}`');
    const safety = textOf(await t.client.getPrompt({ name: 'incident', arguments: { model_name: 'bot', kind: 'safety', description: 'leaked an address' } }));
    expect(safety).toMatch(/roll back now, before analysis/);
    expect(safety).toContain('rubric "safety"');
    const quality = textOf(await t.client.getPrompt({ name: 'incident', arguments: { model_name: 'bot', kind: 'quality', description: 'worse refunds' } }));
    expect(quality).toMatch(/decide with the user whether to roll back/);
    const erasure = textOf(await t.client.getPrompt({ name: 'data_subject_request', arguments: { subject: 'jane@example.com' } }));
    expect(erasure).toMatch(/`erase_subject \{identifiers: .*dry_run: true\}`/);
    expect(erasure).toMatch(/tainted/);
    const access = textOf(await t.client.getPrompt({ name: 'data_subject_request', arguments: { subject: 'jane@example.com', request: 'access' } }));
    expect(access).toMatch(/Answer an access request/);
    expect(access).not.toMatch(/without dry_run/);
  });

  it('a prompt file with a placeholder it does not fill stops start-up, naming the file and line', () => {
    const error = (() => {
      try {
        markdownPrompt({ name: 'x', title: 'x', description: 'x', args: { model_name: z.string() }, file: '../test/fixtures/prompts/misspelt-placeholder.md', fills: ['model_name'], fill: (a) => a });
      } catch (e) {
        return toFinetuneError(e);
      }
      throw new Error('accepted');
    })();
    expect(error.message).toMatch(/misspelt-placeholder\.md line 1: \{\{modle_name\}\} is not a placeholder of 'x' \(it has: model_name\)/);
  });

  it('the prompt files ship with the package', () => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Array<{ files: Array<{ path: string }> }>;
    const files = new Set(packed[0].files.map((f) => f.path));
    for (const file of ['runbook.md', 'choose-base-model.md', 'release-checklist.md', 'rollback.md', 'incident.md', 'data-subject-request.md', 'improve-from-production.md']) {
      expect(files.has(`prompts/${file}`), file).toBe(true);
    }
    expect(files.has('assets/catalogue/base-models.json')).toBe(true);
  });
});
