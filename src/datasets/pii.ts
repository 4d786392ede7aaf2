import { isIP } from 'node:net';
import { DEFAULT_PII_REGIONS, PHONE_CANDIDATE, phoneAcceptor } from './pii-phone.js';

/** PII kinds found and redacted; each is replaced by a typed placeholder such as [EMAIL]. */
export const PII_KINDS = ['email', 'phone', 'credit_card', 'iban', 'ip_address'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

export interface PiiPattern {
  name: string;
  regex: RegExp;
  placeholder: string;
  /** Confirms a candidate (checksums, digit counts, context); false keeps the text as it is. */
  accept?: (match: string, text: string, index: number) => boolean;
}

interface PiiFinding {
  kind: string;
  /** Offset of the value in the original text (the value itself is never reported). */
  start: number;
  length: number;
}

/** Luhn checksum (ISO/IEC 7812): payment card numbers pass it. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** IBAN check digits (ISO 13616, mod 97 = 1). */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = ch >= 'A' && ch <= 'Z' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/** Card numbers: 13–19 digits, a known issuer prefix (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay) and Luhn. */
function cardNumber(match: string): boolean {
  const digits = match.replace(/[\s-]/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  const issuer = /^(4|5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720)|3[47]|6011|65|64[4-9]|35|30[0-5]|36|38|62)/.test(digits);
  return issuer && luhnValid(digits);
}

function ipAddress(match: string, text: string, index: number): boolean {
  if (isIP(match) === 0) return false;
  // A dotted quad after a version word is a version ("firmware 1.2.3.4"), not an address.
  if (isIP(match) === 4 && /(\bv|\b(version|firmware|release|build|update|upgrade)\s*:?\s*)$/i.test(text.slice(Math.max(0, index - 12), index))) return false;
  return true;
}

const BUILTIN_PII: Record<Exclude<PiiKind, 'phone'>, PiiPattern> = {
  email: { name: 'email', placeholder: '[EMAIL]', regex: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  iban: { name: 'iban', placeholder: '[IBAN]', regex: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g, accept: (m) => ibanValid(m) },
  credit_card: { name: 'credit_card', placeholder: '[CREDIT_CARD]', regex: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g, accept: (m) => cardNumber(m) },
  ip_address: {
    name: 'ip_address',
    placeholder: '[IP_ADDRESS]',
    regex: /(?<![\w.:])(?:(?:\d{1,3}\.){3}\d{1,3}|(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?)(?![\w:]|\.\d)/g,
    accept: ipAddress,
  },
};

/** Phone numbers: international ones of every country, national ones in the formats of `regions` (libphonenumber). */
function phonePattern(regions: readonly string[] = DEFAULT_PII_REGIONS): PiiPattern {
  return { name: 'phone', placeholder: '[PHONE]', regex: new RegExp(PHONE_CANDIDATE), accept: phoneAcceptor(regions) };
}

/** Built-in kinds first (most specific first), then the configured patterns; `regions` are the national phone formats tried. */
export function piiPatterns(
  kinds: readonly PiiKind[],
  custom: Array<{ name: string; pattern: string; placeholder?: string }>,
  regions: readonly string[] = DEFAULT_PII_REGIONS,
): PiiPattern[] {
  const order: PiiKind[] = ['email', 'iban', 'credit_card', 'ip_address', 'phone'];
  return [
    ...order.filter((k) => kinds.includes(k)).map((k) => (k === 'phone' ? phonePattern(regions) : BUILTIN_PII[k])),
    ...custom.map((c) => ({ name: c.name, regex: new RegExp(c.pattern, 'g'), placeholder: c.placeholder ?? `[${c.name.toUpperCase()}]` })),
  ];
}

/** Replaces every accepted match by its placeholder; earlier patterns win overlaps. */
export function redact(text: string, patterns: PiiPattern[]): { text: string; findings: PiiFinding[] } {
  const taken: Array<{ start: number; end: number; placeholder: string; kind: string }> = [];
  for (const p of patterns) {
    p.regex.lastIndex = 0;
    for (const m of text.matchAll(p.regex)) {
      const start = m.index ?? 0;
      const end = start + m[0].length;
      if (m[0].length === 0 || taken.some((t) => start < t.end && end > t.start)) continue;
      if (p.accept && !p.accept(m[0], text, start)) continue;
      taken.push({ start, end, placeholder: p.placeholder, kind: p.name });
    }
  }
  if (!taken.length) return { text, findings: [] };
  taken.sort((a, b) => a.start - b.start);
  let out = '';
  let cursor = 0;
  for (const t of taken) {
    out += text.slice(cursor, t.start) + t.placeholder;
    cursor = t.end;
  }
  out += text.slice(cursor);
  return { text: out, findings: taken.map((t) => ({ kind: t.kind, start: t.start, length: t.end - t.start })) };
}
