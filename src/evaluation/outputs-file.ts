import { existsSync } from 'node:fs';
import { readLines } from '../datasets/line-reader.js';
import { FinetuneError } from '../errors.js';
import type { EvalCase } from './cases.js';
import type { ModelOutputs } from './compare.js';

/**
 * Reads outputs produced elsewhere for a comparison: JSONL rows
 * `{prompt | messages, reference?, outputs: {"<model>": "<text>", …}}`, every row naming the same models.
 */
export async function readOutputsFile(path: string, signal?: AbortSignal, limit = Number.POSITIVE_INFINITY): Promise<{ cases: EvalCase[]; models: ModelOutputs[] }> {
  if (!existsSync(path)) throw new FinetuneError('FILE_ERROR', `outputs_path '${path}' does not exist.`, { details: { field: 'outputs_path', file: path } });
  const cases: EvalCase[] = [];
  let labels: string[] | undefined;
  const outputs = new Map<string, string[]>();
  const bad = (line: number, what: string) =>
    new FinetuneError('DATASET_INVALID', `Row at ${path}:${line} ${what}.`, {
      recovery: 'Each row needs prompt (or messages), optional reference, and outputs: {"<model>": "<text>"} with the same models on every row.',
      details: { file: path, line, field: 'outputs_path' },
    });
  for await (const raw of readLines(path, { maxLineBytes: 8 << 20, signal })) {
    if (cases.length >= limit) break;
    const text = raw.bytes.toString('utf8').trim();
    if (!text) continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw bad(raw.line, `is not valid JSON (${(error as Error).message})`);
    }
    const out = row.outputs as Record<string, unknown> | undefined;
    if (!out || typeof out !== 'object' || Array.isArray(out)) throw bad(raw.line, 'has no outputs object');
    const names = Object.keys(out).sort();
    if (names.length < 2) throw bad(raw.line, 'names fewer than two models in outputs');
    if (labels && names.join('\0') !== labels.join('\0')) throw bad(raw.line, `names models ${names.join(', ')}, not ${labels.join(', ')} as the first row`);
    labels ??= names;
    for (const name of names) {
      if (typeof out[name] !== 'string') throw bad(raw.line, `has a non-text output for ${name}`);
      if (!outputs.has(name)) outputs.set(name, []);
      outputs.get(name)!.push(out[name] as string);
    }
    const messages = Array.isArray(row.messages)
      ? (row.messages as Array<{ role: 'system' | 'user' | 'assistant'; content: string }>)
      : [{ role: 'user' as const, content: String(row.prompt ?? row.question ?? '') }];
    const prompt = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    if (!prompt) throw bad(raw.line, 'has no prompt (or messages with a user turn)');
    cases.push({ line: raw.line, task: 'completion', messages, prompt, reference: typeof row.reference === 'string' ? row.reference : '' });
  }
  if (!cases.length || !labels) throw new FinetuneError('DATASET_INVALID', `${path} has no rows.`, { details: { file: path, field: 'outputs_path' } });
  return { cases, models: labels.map((label) => ({ label, outputs: outputs.get(label)! })) };
}
