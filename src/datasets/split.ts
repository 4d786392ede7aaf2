import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FinetuneError } from '../errors.js';
import { textFields } from './row-text.js';
import type { DatasetService, RunContext } from './service.js';
import { hashKey, hashText, nearHash } from './fingerprint.js';
import { SPLIT_NAMES, type CanonicalRow, type DatasetManifest, type DatasetRecord, type SplitName, type TaskType } from './types.js';
import { JsonlWriter } from './version-writer.js';
import { mulberry32 } from '../random.js';

export interface SplitOptions {
  dataset_id: string;
  train: number;
  validation: number;
  test: number;
  seed: number;
  /** JSON path of the field whose values keep their proportions in every split, e.g. "label". */
  stratify_by?: string;
  /** JSON path of the field whose rows stay together, e.g. "messages[0].content"; default: the row's normalised content. */
  group_by?: string;
}

export interface LeakageReport {
  /** Rows whose exact content also appears in another split. */
  exact: Record<string, number>;
  /** Rows equal to a row of another split up to case, punctuation and whitespace. */
  normalized: Record<string, number>;
  examples: Array<{ kind: 'exact' | 'normalized'; split: SplitName; line: number; other_split: SplitName; other_line: number }>;
}

export interface SplitResult {
  record: DatasetRecord;
  groups: number;
  strata?: Record<string, Record<SplitName, number>>;
  leakage: LeakageReport;
}


/** Reads a value by a JSON path such as "label", "messages[0].content" or "messages.0.content". */
export function valueAt(row: unknown, path: string): unknown {
  const parts = path.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean);
  let node: unknown = row;
  for (const part of parts) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

const keyOf = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * Splits a version into train/validation/test: groups (never divided) are shuffled with the seed and
 * dealt, per stratum, to the split furthest below its target, so counts match the ratios as closely
 * as the groups allow. By default a group is all rows with the same normalised content, so exact and
 * near duplicates can never leak across splits.
 */
export async function splitDataset(service: DatasetService, options: SplitOptions, run: RunContext = {}): Promise<SplitResult> {
  const ratios = { train: options.train, validation: options.validation, test: options.test };
  const sum = ratios.train + ratios.validation + ratios.test;
  if (Math.abs(sum - 1) > 1e-6 || Object.values(ratios).some((r) => r < 0)) {
    throw new FinetuneError('INVALID_INPUT', `Split ratios must be ≥ 0 and sum to 1; train ${ratios.train} + validation ${ratios.validation} + test ${ratios.test} = ${sum}.`, {
      recovery: 'Pass ratios such as train 0.8, validation 0.1, test 0.1 (or 0.7/0.15/0.15).',
      details: { field: 'train' },
    });
  }
  const parent = service.get(options.dataset_id);
  if (parent.manifest.counts.train !== undefined) {
    throw new FinetuneError('INVALID_INPUT', `Dataset '${parent.id}' is already split.`, { recovery: `Split its parent '${parent.parent_id}' instead.`, details: { field: 'dataset_id' } });
  }
  const task = parent.task_type;
  const stratifyBy = options.stratify_by ?? (task === 'classification' ? 'label' : undefined);

  // Pass 1: the group and stratum of every row.
  const groupIds = new Map<string, number>();
  const groupOfRow: number[] = [];
  const groupStratum: string[] = [];
  const groupSize: number[] = [];
  for await (const { line, row } of service.rows(parent.id, undefined, run.signal)) {
    const groupValue = options.group_by ? valueAt(row, options.group_by) : normalizedKey(task, row);
    if (options.group_by && groupValue === undefined) throw missingField('group_by', options.group_by, line);
    const key = keyOf(groupValue);
    let group = groupIds.get(key);
    if (group === undefined) {
      group = groupIds.size;
      groupIds.set(key, group);
      let stratum = '';
      if (stratifyBy) {
        const value = valueAt(row, stratifyBy);
        if (value === undefined) throw missingField('stratify_by', stratifyBy, line);
        stratum = keyOf(value);
      }
      groupStratum.push(stratum);
      groupSize.push(0);
    }
    groupSize[group]++;
    groupOfRow.push(group);
  }
  groupIds.clear();
  const splitOfGroup = dealGroups(groupStratum, groupSize, ratios, options.seed);

  // Pass 2: write the files and look for leakage across them.
  const id = service.workspace.newId('dataset');
  const target = service.workspace.artifactPath('datasets', id);
  const counts = { train: 0, validation: 0, test: 0 };
  const strata: Record<string, Record<SplitName, number>> = {};
  const leakage: LeakageReport = { exact: {}, normalized: {}, examples: [] };
  let manifest: DatasetManifest | undefined;
  await service.workspace.writeDir(target, async (dir) => {
    const all = new JsonlWriter(dir, 'rows.jsonl');
    const writers = Object.fromEntries(SPLIT_NAMES.map((s) => [s, new JsonlWriter(dir, `${s}.jsonl`)])) as Record<SplitName, JsonlWriter>;
    const seenExact = new Map<string, { split: SplitName; line: number }>();
    const seenNear = new Map<string, { split: SplitName; line: number }>();
    try {
      let index = 0;
      for await (const { row } of service.rows(parent.id, undefined, run.signal)) {
        const split = SPLIT_NAMES[splitOfGroup[groupOfRow[index]]];
        const stratum = groupStratum[groupOfRow[index]];
        index++;
        all.write(row);
        writers[split].write(row);
        counts[split]++;
        if (stratifyBy) (strata[stratum] ??= { train: 0, validation: 0, test: 0 })[split]++;
        noteLeak(leakage, 'exact', seenExact, hashKey(hashText(JSON.stringify(row))), split, counts[split]);
        noteLeak(leakage, 'normalized', seenNear, normalizedKey(task, row), split, counts[split]);
      }
    } catch (error) {
      for (const w of [all, ...Object.values(writers)]) w.dispose();
      throw error;
    }
    const hashes = [all.close(), ...SPLIT_NAMES.map((s) => writers[s].close())];
    const now = new Date().toISOString();
    manifest = {
      dataset_id: id,
      parent_id: parent.id,
      task_type: task,
      ...(parent.manifest.name ? { name: parent.manifest.name } : {}),
      source: parent.manifest.source,
      content_hash: createHash('sha256').update(hashes.join('\n')).digest('hex'),
      counts: { rows: all.rows, ...counts },
      token_stats: parent.manifest.token_stats,
      splits: { ratios, seed: options.seed, ...(stratifyBy ? { stratify_by: stratifyBy } : {}), ...(options.group_by ? { group_by: options.group_by } : {}) },
      created_at: now,
      lineage: [...parent.manifest.lineage, { operation: 'split', dataset_id: id, parent_id: parent.id, at: now, params: { ...ratios, seed: options.seed, stratify_by: stratifyBy ?? null, group_by: options.group_by ?? null } }],
      report: { groups: splitOfGroup.length, leakage, ...(stratifyBy ? { strata } : {}) },
    };
    service.workspace.writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  });
  const record = service.insert(manifest!, 'split', target);
  return { record, groups: splitOfGroup.length, ...(stratifyBy ? { strata } : {}), leakage };
}

function missingField(option: string, path: string, line: number): FinetuneError {
  return new FinetuneError('INVALID_INPUT', `${option} '${path}' is missing in row ${line}.`, {
    recovery: 'Use a JSON path present in every canonical row (inspect_dataset shows them), e.g. "label" or "messages[0].content".',
    details: { field: option, line },
  });
}

function normalizedKey(task: TaskType, row: CanonicalRow): string {
  return hashKey(nearHash(textFields(task, row)));
}

/** Deals shuffled groups per stratum to the split with the largest remaining shortfall against its target. */
export function dealGroups(groupStratum: string[], groupSize: number[], ratios: Record<SplitName, number>, seed: number): number[] {
  const random = mulberry32(seed);
  const byStratum = new Map<string, number[]>();
  groupStratum.forEach((s, g) => {
    let list = byStratum.get(s);
    if (!list) byStratum.set(s, (list = []));
    list.push(g);
  });
  const assignment = new Array<number>(groupStratum.length);
  const weights = SPLIT_NAMES.map((s) => ratios[s]);
  for (const stratum of [...byStratum.keys()].sort()) {
    const groups = byStratum.get(stratum)!;
    for (let i = groups.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [groups[i], groups[j]] = [groups[j], groups[i]];
    }
    const total = groups.reduce((n, g) => n + groupSize[g], 0);
    const targets = weights.map((w) => w * total);
    const filled = [0, 0, 0];
    for (const g of groups) {
      let best = -1;
      let bestGap = -Infinity;
      for (let s = 0; s < 3; s++) {
        if (weights[s] === 0) continue;
        const gap = targets[s] - filled[s];
        if (gap > bestGap + 1e-9) {
          best = s;
          bestGap = gap;
        }
      }
      assignment[g] = best;
      filled[best] += groupSize[g];
    }
  }
  return assignment;
}

function noteLeak(report: LeakageReport, kind: 'exact' | 'normalized', seen: Map<string, { split: SplitName; line: number }>, key: string, split: SplitName, line: number): void {
  const first = seen.get(key);
  if (!first) {
    seen.set(key, { split, line });
    return;
  }
  if (first.split === split) return;
  const pair = `${first.split}-${split}`;
  report[kind][pair] = (report[kind][pair] ?? 0) + 1;
  if (report.examples.length < 20) report.examples.push({ kind, split, line, other_split: first.split, other_line: first.line });
}
