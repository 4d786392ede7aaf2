import { FinetuneError } from '../errors.js';
import { phoneE164 } from '../datasets/pii-phone.js';
import { piiPatterns, redact } from '../datasets/pii.js';

export const IDENTIFIER_KINDS = ['email', 'phone', 'name', 'custom'] as const;
type IdentifierKind = (typeof IDENTIFIER_KINDS)[number];

export interface SubjectIdentifier {
  kind: IdentifierKind;
  value: string;
}

/** Finds a data subject's identifiers in text; returns the exact substrings that name them. */
export interface SubjectMatcher {
  find(text: string): string[];
  /** Identifier counts by kind, for the log (never the values). */
  kinds: Record<string, number>;
  /** Short literals that every written form of some identifier contains: cheap SQL pre-filters. */
  probes: string[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const WORD_EDGE_BEFORE = '(?<![\\p{L}\\p{N}_])';
const WORD_EDGE_AFTER = '(?![\\p{L}\\p{N}_])';

/**
 * Builds the matcher: e-mail addresses case-insensitively, phone numbers (found by the PII detector) by their E.164 form whatever their written format, names
 * case-insensitively with any run of white space between their words, custom values literally
 * (case-insensitive). `regions` are the national phone formats tried (datasets.pii.regions).
 */
export function subjectMatcher(identifiers: SubjectIdentifier[], regions: readonly string[]): SubjectMatcher {
  const literal: RegExp[] = [];
  const phones = new Set<string>();
  const probes = new Set<string>();
  const kinds: Record<string, number> = {};
  identifiers.forEach((id, index) => {
    const value = id.value.trim();
    const field = `identifiers[${index}].value`;
    kinds[id.kind] = (kinds[id.kind] ?? 0) + 1;
    if (id.kind === 'phone') {
      const e164 = phoneE164(value, regions);
      if (!e164.length) {
        throw new FinetuneError('INVALID_INPUT', `${field} is not a phone number libphonenumber can read in any configured region.`, {
          recovery: 'Write it internationally (e.g. "+49 30 1234567"), or add its country to datasets.pii.regions, or pass it as kind "custom" to match it literally.',
          details: { field },
        });
      }
      for (const n of e164) {
        phones.add(n);
        probes.add(n.slice(-3));
      }
      return;
    }
    if (id.kind === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
      throw new FinetuneError('INVALID_INPUT', `${field} is not an e-mail address.`, { recovery: 'Pass the address alone (e.g. "anna@example.com"), or use kind "custom".', details: { field } });
    }
    const words = value.split(/\s+/).filter(Boolean);
    if (!words.length || value.length < 3) {
      throw new FinetuneError('INVALID_INPUT', `${field} is too short to identify anyone (${value.length} characters).`, { recovery: 'Pass the full address, number or name.', details: { field } });
    }
    const body = id.kind === 'name' ? words.map(escape).join('\\s+') : escape(value);
    literal.push(new RegExp(`${WORD_EDGE_BEFORE}${body}${WORD_EDGE_AFTER}`, 'giu'));
    probes.add(words.reduce((a, b) => (b.length > a.length ? b : a)));
  });
  const phoneFinder = phones.size ? piiPatterns(['phone'], [], regions) : [];

  return {
    kinds,
    probes: [...probes],
    find(text) {
      const found = new Set<string>();
      for (const re of literal) for (const m of text.matchAll(re)) found.add(m[0]);
      if (phoneFinder.length) {
        for (const f of redact(text, phoneFinder).findings) {
          const written = text.slice(f.start, f.start + f.length);
          if (phoneE164(written, regions).some((n) => phones.has(n))) found.add(written);
        }
      }
      return [...found];
    },
  };
}

/**
 * A function replacing every written form in `surfaces` (case-insensitively) by a marker that names
 * no one. The pattern is built once: an erasure applies it to every line of every affected file.
 */
export function scrubber(surfaces: readonly string[]): (text: string) => string {
  if (!surfaces.length) return (text) => text;
  const re = new RegExp([...surfaces].sort((a, b) => b.length - a.length).map(escape).join('|'), 'giu');
  return (text) => text.replace(re, '[ERASED]');
}
