import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FinetuneError } from '../errors.js';
import { textFields } from './row-text.js';
import { inheritedManifest, type DatasetService, type RunContext } from './service.js';
import { hashText, nearHash, type Hash64 } from './fingerprint.js';
import { CountColumn, HashTable } from './stats.js';
import { SPLIT_NAMES, type CanonicalRow, type DatasetManifest, type DatasetRecord, type SplitName, type TaskType } from './types.js';
import { JsonlWriter } from './version-writer.js';
import { mulberry32 } from '../random.js';

interface SplitOptions {
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

interface LeakageReport {
  /** Rows whose exact content also appears in another split. */
  exact: Record<string, number>;
  /** Rows equal to a row of another split up to case, punctuation and whitespace. */
  normalized: Record<string, number>;
  examples: Array<{ kind: 'exact' | 'normalized'; split: SplitName; line: number; other_split: SplitName; other_line: number }>;
}

interface SplitResult {
  record: DatasetRecord;
  groups: number;
  strata?: Record<string, Record<SplitName, number>>;
  leakage: LeakageReport;
}


/** Reads a value by a JSON path such as "label", "messages[0].content" or "messages.0.content". */
function valueAt(row: unknown, path: string): unknown {
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
  // Labels keep their proportions in every split by default: classes, and the good/bad balance of feedback.
  const stratifyBy = options.stratify_by ?? (task === 'classification' || task === 'binary_feedback' ? 'label' : undefined);

  // Pass 1: the group and stratum of every row. Groups are keyed by a 64-bit hash of their value and
  // rows kept as 4-byte group numbers, so a split of millions of rows stays in bounded memory.
  const expected = parent.manifest.counts.rows;
  let groupIds: HashTable | undefined = new HashTable(3, expected);
  const groupOfRow = new CountColumn(expected);
  const groupStratum = new CountColumn();
  const groupSize = new CountColumn();
  const strataIds = new Map<string, number>();
  for await (const { line, row } of service.rows(parent.id, undefined, run.signal)) {
    let groupKey: Hash64;
    if (options.group_by) {
      const value = valueAt(row, options.group_by);
      if (value === undefined) throw missingField('group_by', options.group_by, line);
      groupKey = hashText(keyOf(value));
    } else groupKey = normalizedKey(task, row);
    const at = groupIds.slot(groupKey.hi, groupKey.lo);
    if (groupIds.added) {
      groupIds.words[at + 2] = groupSize.length;
      let stratum = '';
      if (stratifyBy) {
        const value = valueAt(row, stratifyBy);
        if (value === undefined) throw missingField('stratify_by', stratifyBy, line);
        stratum = keyOf(value);
      }
      let stratumId = strataIds.get(stratum);
      if (stratumId === undefined) strataIds.set(stratum, (stratumId = strataIds.size));
      groupStratum.push(stratumId);
      groupSize.push(0);
    }
    const group = groupIds.words[at + 2];
    groupSize.set(group, groupSize.at(group) + 1);
    groupOfRow.push(group);
  }
  groupIds = undefined; // pass 2 has its own tables
  const strataNames = [...strataIds.keys()];
  const splitOfGroup = dealGroups(
    Array.from(groupStratum.values(), (id) => strataNames[id]),
    groupSize.values(),
    ratios,
    options.seed,
  );

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
    const seenExact = new HashTable(4, expected);
    const seenNear = new HashTable(4, expected);
    try {
      let index = 0;
      for await (const { row } of service.rows(parent.id, undefined, run.signal)) {
        const group = groupOfRow.at(index++);
        const split = SPLIT_NAMES[splitOfGroup[group]];
        const stratum = strataNames[groupStratum.at(group)];
        all.write(row);
        writers[split].write(row);
        counts[split]++;
        if (stratifyBy) (strata[stratum] ??= { train: 0, validation: 0, test: 0 })[split]++;
        noteLeak(leakage, 'exact', seenExact, hashText(JSON.stringify(row)), split, counts[split]);
        noteLeak(leakage, 'normalized', seenNear, normalizedKey(task, row), split, counts[split]);
      }
    } catch (error) {
      for (const w of [all, ...Object.values(writers)]) w.dispose();
      throw error;
    }
    const hashes = [all.close(), ...SPLIT_NAMES.map((s) => writers[s].close())];
    const now = new Date().toISOString();
    manifest = {
      ...inheritedManifest(service, parent, id),
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

function normalizedKey(task: TaskType, row: CanonicalRow): Hash64 {
  return nearHash(textFields(task, row));
}

/** Deals shuffled groups per stratum to the split with the largest remaining shortfall against its target. */
function dealGroups(groupStratum: string[], groupSize: ArrayLike<number>, ratios: Record<SplitName, number>, seed: number): number[] {
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

/** Notes a row's key (exact or near hash); a key first seen in another split is a leak. `seen`: hash → [split index, line]. */
function noteLeak(report: LeakageReport, kind: 'exact' | 'normalized', seen: HashTable, key: Hash64, split: SplitName, line: number): void {
  const at = seen.slot(key.hi, key.lo);
  if (seen.added) {
    seen.words[at + 2] = SPLIT_NAMES.indexOf(split);
    seen.words[at + 3] = line;
    return;
  }
  const firstSplit = SPLIT_NAMES[seen.words[at + 2]];
  if (firstSplit === split) return;
  const pair = `${firstSplit}-${split}`;
  report[kind][pair] = (report[kind][pair] ?? 0) + 1;
  if (report.examples.length < 20) report.examples.push({ kind, split, line, other_split: firstSplit, other_line: seen.words[at + 3] });
}
