/**
 * Phone-number PII detection: precision and recall on the labelled sets (test/fixtures/pii-phones),
 * with libphonenumber's max and min metadata, and redaction speed on real dataset texts (the
 * fixtures' Alpaca, DPO, tool-call, identity and cookbook files) and on phone-dense support chats,
 * against the regex-only detector it replaced (measured in the same run).
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PII_KINDS, piiPatterns, redact, type PiiPattern } from '../src/datasets/pii.js';
import { DEFAULT_PII_REGIONS, PHONE_CANDIDATE, phoneAcceptor, type PhoneMetadata } from '../src/datasets/pii-phone.js';
import { loadLabelled, scorePhones } from '../test/datasets/pii-labelled.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', 'test', 'fixtures');

/** The phone detector before libphonenumber (US/UK shapes and a trunk-0 rule), kept here as the reference. */
const REGEX_ONLY: PiiPattern = {
  name: 'phone',
  placeholder: '[PHONE]',
  regex: /(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]\d{2,6}){1,4}(?![\w-]|\.\d)/g,
  accept: (match, text, index) => {
    const digits = match.replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 15) return false;
    if (/^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$/.test(match.trim())) return false;
    const context = /(order|invoice|part|ref(erence)?|sku|serial|ticket|tracking|model|version|build|case|item|product|isbn|po)\s*(no\.?|num(ber)?|#|id)?\s*[:#]?\s*$/i;
    if (context.test(text.slice(Math.max(0, index - 24), index))) return false;
    if (match.trimStart().startsWith('+')) return digits.length >= 8;
    if (/^\d+(\.\d+)+$/.test(match)) return false;
    const nanp = /^\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}$/.test(match);
    const trunk = /^0\d/.test(match.replace(/^\(/, '')) && digits.length >= 9 && digits.length <= 11 && /[\s-]/.test(match);
    return nanp || trunk;
  },
};

const phone = (metadata: PhoneMetadata): PiiPattern => ({ name: 'phone', placeholder: '[PHONE]', regex: new RegExp(PHONE_CANDIDATE), accept: phoneAcceptor(DEFAULT_PII_REGIONS, metadata) });
const others = piiPatterns(PII_KINDS.filter((k) => k !== 'phone'), []);
const detectors: Array<[string, PiiPattern[]]> = [
  ['libphonenumber, max metadata (default)', [...others, phone('max')]],
  ['libphonenumber, min metadata', [...others, phone('min')]],
  ['regex only (before)', [...others, REGEX_ONLY]],
];

const require = createRequire(import.meta.url);
for (const kind of ['max', 'min']) {
  process.stdout.write(`metadata.${kind}.json: ${(statSync(require.resolve(`libphonenumber-js/metadata.${kind}.json`)).size / 1024).toFixed(0)} KiB\n`);
}

process.stdout.write('\nprecision / recall (phone findings; a card or IBAN found as its own kind is not a phone)\n');
for (const set of ['labelled', 'heldout']) {
  const items = loadLabelled(join(fixtures, 'pii-phones', `${set}.jsonl`));
  for (const [name, patterns] of detectors) {
    const s = scorePhones(items, patterns);
    const fmt = Object.entries(s.by_format).map(([f, [hit, all]]) => `${f} ${hit}/${all}`).join(', ');
    process.stdout.write(`  ${set.padEnd(8)} ${name.padEnd(40)} precision ${s.precision.toFixed(3)} recall ${s.recall.toFixed(3)} (${s.found}/${s.positives}; ${fmt}; ${s.false_positives.length} false positives)\n`);
    if (name.includes('default') && (s.missed.length || s.false_positives.length)) {
      process.stdout.write(`      missed: ${s.missed.map((m) => m.value).join(' | ') || '-'}; false positives: ${s.false_positives.map((f) => f.value).join(' | ') || '-'}\n`);
    }
  }
}

/** Every string in a JSON value (a row's texts, as clean_dataset redacts them field by field). */
function strings(value: unknown, out: string[]): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
  return out;
}

const realTexts: string[] = [];
for (const file of ['alpaca_en_demo.json', 'dpo_en_demo.head40.json', 'glaive_toolcall_en_demo.head30.json', 'identity.json', 'toy_chat_fine_tuning.jsonl']) {
  const body = readFileSync(join(fixtures, 'datasets', file), 'utf8');
  if (file.endsWith('.jsonl')) for (const line of body.split('\n').filter(Boolean)) strings(JSON.parse(line), realTexts);
  else strings(JSON.parse(body), realTexts);
}
/** Support chats where every message holds a number: a phone, an order number, a date or an amount. */
const denseTexts = Array.from({ length: 20000 }, (_, i) => {
  const n = String(1000000 + ((i * 7919) % 8999999));
  const pick = [`Please call me on 0170 ${n}.`, `Order 2024-${i % 1000}-${n.slice(0, 4)} from 15.03.2024.`, `Mein Festnetz: 030 ${n}, danke!`, `Total ${n.slice(0, 3)} ${n.slice(3, 6)} € for ticket ${n}.`];
  return `Hello, this is about my account. ${pick[i % 4]} Thanks for the quick help with the refund.`;
});

process.stdout.write('\nredaction speed, all PII kinds (best of 7 passes, the detectors alternating so load on the machine hits each alike)\n');
for (const [label, texts] of [['fixture datasets (Alpaca, DPO, tool calls, identity, cookbook)', realTexts], ['phone-dense support chats', denseTexts]] as const) {
  const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
  const best = detectors.map(() => Infinity);
  const phones = detectors.map(() => 0);
  for (let round = 0; round < 7; round++) {
    detectors.forEach(([, patterns], d) => {
      const start = performance.now();
      let found = 0;
      for (const t of texts) found += redact(t, patterns).findings.filter((f) => f.kind === 'phone').length;
      best[d] = Math.min(best[d], performance.now() - start);
      phones[d] = found;
    });
  }
  const reference = best[detectors.length - 1];
  process.stdout.write(`${label}: ${texts.length} texts, ${(bytes / 1e6).toFixed(2)} MB\n`);
  detectors.forEach(([name], d) => {
    process.stdout.write(`  ${name.padEnd(40)} ${(bytes / 1e6 / (best[d] / 1000)).toFixed(1).padStart(6)} MB/s  ${(best[d] / reference).toFixed(2)}× the regex-only time  ${phones[d]} phones\n`);
  });
}
