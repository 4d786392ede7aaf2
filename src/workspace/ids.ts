import { randomBytes } from 'node:crypto';

/** Record kinds and the prefix of their ids, so an id says what it names (`ds_…`, `job_…`). */
const ID_PREFIXES = {
  dataset: 'ds',
  config: 'cfg',
  plan: 'plan',
  job: 'job',
  model: 'mdl',
  model_version: 'mv',
  evaluation: 'eval',
  comparison: 'cmp',
  human_eval: 'he',
  experiment: 'exp',
  consent: 'cns',
  review_queue: 'rq',
  judge_run: 'jrun',
  improvement_policy: 'pol',
  improvement_cycle: 'cyc',
  erasure: 'ers',
  safety_report: 'safe',
} as const;

export type RecordKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** A sortable id: prefix, 10 chars of time, 10 random chars (Crockford base32). */
export function newId(kind: RecordKind, now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = Array.from(randomBytes(10), (b) => ALPHABET[b % 32]).join('');
  return `${ID_PREFIXES[kind]}_${time}${random}`;
}
