import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Renderer } from '../../plugins/local/trainer/render.js';
import { FinetuneError } from '../../src/errors.js';
import { cleanDatasetTool } from '../../tools/clean-dataset.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { inspectDatasetTool } from '../../tools/inspect-dataset.js';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { splitDatasetTool } from '../../tools/split-dataset.js';
import { validateDatasetTool } from '../../tools/validate-dataset.js';
import { resultText } from '../helpers/mcp.js';
import { fixture, useDatasetClient } from './helpers.js';

/** Issue 12 item 5: binary feedback (KTO) rows are their own task, never SFT chat with the label dropped. */
type Message = { role: string; content: string };
type Feedback = { prompt: Message[]; completion: Message[]; label: boolean };
const KTO = fixture('kto_en_demo.head40.json');
const source = JSON.parse(readFileSync(KTO, 'utf8')) as Array<{ messages: Message[]; label: boolean }>;

describe('binary feedback (KTO) data', () => {
  const env = useDatasetClient('ftm-ds-kto-');

  it("imports LLaMA-Factory's KTO demo as binary_feedback rows that keep every label", async () => {
    const out = await env.t.callOk(prepareDatasetTool, { path: KTO });
    expect(out).toMatchObject({ task_type: 'binary_feedback', format: 'kto', counts: { rows: 40 } });
    // SOURCE.md: labels true 25, false 15.
    expect(out.validation.labels).toEqual({ true: 25, false: 15 });
    const page = await env.t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id, limit: 40 });
    page.rows.forEach(({ row }, i) => {
      const r = row as unknown as Feedback;
      expect(r.label).toBe(source[i].label);
      expect([...r.prompt, ...r.completion]).toEqual(source[i].messages.map(({ role, content }) => ({ role, content })));
      expect(r.completion).toHaveLength(1);
      expect(r.completion[0].role).toBe('assistant');
    });
    // Derived versions keep the labels; splits keep the good/bad balance.
    const cleaned = await env.t.callOk(cleanDatasetTool, { dataset_id: out.dataset_id });
    expect(cleaned.counts.rows).toBe(40);
    const split = await env.t.callOk(splitDatasetTool, { dataset_id: cleaned.dataset_id, train: 0.6, validation: 0.2, test: 0.2 });
    expect(split.strata).toBeDefined();
    expect(Object.keys(split.strata!).sort()).toEqual(['false', 'true']);
  });

  it("reads TRL's unpaired {prompt, completion, label} rows too", async () => {
    const path = join(env.scratch, 'trl-kto.jsonl');
    const rows = [
      { prompt: 'The sky is', completion: ' blue.', label: true },
      { prompt: [{ role: 'user', content: 'The sky is' }], completion: [{ role: 'assistant', content: ' green.' }], label: false },
    ];
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = await env.t.callOk(prepareDatasetTool, { path });
    expect(out).toMatchObject({ task_type: 'binary_feedback', format: 'kto', counts: { rows: 2 } });
    const page = await env.t.callOk(inspectDatasetTool, { dataset_id: out.dataset_id });
    expect(page.rows.map((r) => r.row)).toEqual([
      { prompt: [{ role: 'user', content: 'The sky is' }], completion: [{ role: 'assistant', content: ' blue.' }], label: true },
      { prompt: [{ role: 'user', content: 'The sky is' }], completion: [{ role: 'assistant', content: ' green.' }], label: false },
    ]);
  });

  it('never drops a label silently: read as chat, every labelled row is an error and the import is refused', async () => {
    const asChat = await env.t.call(prepareDatasetTool.name, { path: KTO, format: 'chat' });
    expect(asChat.isError).toBe(true);
    expect(resultText(asChat)).toMatch(/40 record\(s\).*meaning_field_dropped/s);
    const validated = await env.t.callOk(validateDatasetTool, { path: KTO, format: 'chat' });
    expect(validated.summary.by_code.meaning_field_dropped).toBe(40);
    expect(validated.issues[0]).toMatchObject({ code: 'meaning_field_dropped', field: 'label', severity: 'error' });
    expect(validated.issues[0].fix).toMatch(/format "kto"/);
    // A non-boolean label is an error too.
    const path = join(env.scratch, 'bad-label.jsonl');
    writeFileSync(path, `${JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }], label: true })}\n${JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Go away' }], label: 'bad' })}\n`);
    const bad = await env.t.callOk(validateDatasetTool, { path });
    expect(bad.issues.map((i) => i.code)).toContain('invalid_feedback_label');
  });

  it('is refused for training where no backend trains KTO, with the options', async () => {
    const out = await env.t.callOk(prepareDatasetTool, { path: KTO });
    const configured = await env.t.call(configureTrainingTool.name, { base_model: 'stories260K', dataset_id: out.dataset_id, method: 'sft', backend: 'local' });
    expect(configured.isError).toBe(true);
    expect(resultText(configured)).toMatch(/binary_feedback/);
    const renderer = new Renderer({ encode: (s) => [...s].map((c) => c.charCodeAt(0)), bos_token_id: null, eos_token_id: 0, pad_token_id: null, applyChatTemplate: () => '' });
    const row = { prompt: [{ role: 'user', content: 'Hi' }], completion: [{ role: 'assistant', content: 'Go away' }], label: false };
    let error: unknown;
    try {
      renderer.sft(row, 'binary_feedback', { file: 'train.jsonl', line: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FinetuneError);
    expect((error as FinetuneError).code).toBe('CAPABILITY_UNSUPPORTED');
    expect((error as FinetuneError).recovery).toMatch(/KTO.*preference rows.*labelled true only/s);
  });
});
