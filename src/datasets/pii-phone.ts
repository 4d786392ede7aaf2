import { createRequire } from 'node:module';
import type * as PhoneLib from 'libphonenumber-js/core';
import type { CountryCode, MetadataJson } from 'libphonenumber-js/core';

/** National formats tried by default: the EU and EEA countries, plus GB, CH and US. */
export const DEFAULT_PII_REGIONS = [
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO',
  'SK', 'SI', 'ES', 'SE', 'IS', 'LI', 'NO', 'GB', 'CH', 'US',
] as const;

/**
 * 'max' has every number type's pattern, so isValid() rejects unassigned ranges; 'min' checks only
 * lengths and leading digits (bench/pii.ts measures both: max is the default, see docs/datasets.md).
 */
export type PhoneMetadata = 'max' | 'min';

interface Library {
  lib: typeof PhoneLib;
  metadata: MetadataJson;
}

const libraries = new Map<PhoneMetadata, Library>();

/** libphonenumber-js is loaded on first use (~50 ms), so servers that never redact never pay for it. */
function library(kind: PhoneMetadata): Library {
  let found = libraries.get(kind);
  if (!found) {
    const require = createRequire(import.meta.url);
    found = { lib: require('libphonenumber-js/core') as typeof PhoneLib, metadata: require(`libphonenumber-js/metadata.${kind}.json`) as MetadataJson };
    libraries.set(kind, found);
  }
  return found;
}

/** Region codes libphonenumber has no numbering plan for (config validation names them). */
export function unsupportedRegions(regions: readonly string[]): string[] {
  const { lib, metadata } = library('max');
  return regions.filter((r) => !lib.isSupportedCountry(r as CountryCode, metadata));
}

/**
 * A phone-number candidate: an optional +, then digits in groups split by one space, dot, hyphen or
 * slash, with parenthesised groups such as (0) or (030). Greedy and without a trailing condition,
 * so a rejected run is never retried in shorter pieces.
 */
export const PHONE_CANDIDATE = /(?<![\w+\-/]|\d[.,])\+?(?:\(\d{1,5}\) ?|\d)(?:[ \u00a0.\-/]?(?:\(\d{1,5}\)|\d))+/g;

/** Words before a number that make it an identifier of a thing, not a person's phone (en, de, fr, it, es, nl, pl, sv). */
const NOT_PERSONAL_CONTEXT = new RegExp(
  '\\b(order|invoice|part|p/?n|ref(erence)?|sku|serial|ticket|tracking|model|version|build|case|item|product|isbn|ean|po|account|acct|customer|port|pid|' +
    'konto(nummer)?|blz|bic|' +
    'bestell(ung|nummer)?|auftrag(snummer)?|rechnung(snummer)?|kunden(nummer)?|artikel(nummer)?|art\\.-nr|(ersatz|bau)?teil(enummer)?|vertrag(snummer)?|batch|lot|charge|issn|vorgang(snummer)?|' +
    'sendung(snummer)?|aktenzeichen|steuer(nummer)?|commande|facture|r[ée]f[ée]rence|ordine|fattura|pedido|factura|bestelling|factuur|' +
    'zam[óo]wieni[ea]|faktura|best[äa]llning)(?!\\p{L})' +
    // "Kundennummer lautet 0100…", "order is 2024…": one word may stand between.
    '\\s*(n[or]\\.?|n°|nr\\.?|num(ber|ero|éro)?|#|id)?\\s*(\\p{L}+\\s+)?[:#.]?\\s*$',
  'iu',
);

/** Words just before a bare run of digits that say it is a phone number. */
const PHONE_CONTEXT =
  /\b(phone|tel(efon|éfono|efone|efoon|éphone)?|mobil(e|e?nummer|ny)?|cell(ulare)?|handy|fax|call|ring|anruf\w*|whats ?app|nummer|numero|número|numéro|num[ée]ro de t[ée]l[ée]phone|portable|cellulare|móvil|movil|telefonnummer|puhelin|komórka)\b\.?\s*(\w+\s*)?[:#]?\s*$/i;

const DATE_LIKE = /^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$/;
/** A run that starts with a full date ("2024-03-15 14" of "2024-03-15 14:30"). */
const STARTS_WITH_DATE = /^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})(\D|$)/;
/** Thousands grouping: one digit, then groups of three ("3 850 809"). */
const THOUSANDS = /^\d([ \u00a0.]\d{3})+$/;
/** A currency or unit right after the number makes it an amount. */
const UNIT_AFTER = /^\s?(€|\$|£|%|(eur|usd|chf|gbp|pln|sek|dkk|nok|czk|huf|kg|km|mb|gb)\b)/i;
const NANP_SHAPE = /^(1[\s.-])?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}$/;
const CACHE_LIMIT = 4096;

interface Plan {
  code: CountryCode;
  /** National (trunk) prefix a nationally written number starts with; '' for none and for NANP, where it is optional. */
  prefix: string;
  nanp: boolean;
  /** Possible lengths of the national significant number. */
  lengths: Set<number>;
}

/** Each region's trunk prefix and number lengths, read once from the metadata. */
function numberingPlans({ lib, metadata }: Library, codes: readonly CountryCode[]): Plan[] {
  const all = new lib.Metadata(metadata);
  return codes.map((code) => {
    all.selectNumberingPlan(code);
    // nationalPrefix() and callingCode() exist on the plan object but are missing from its typings.
    const plan = all.numberingPlan as unknown as { nationalPrefix(): unknown; callingCode(): string; possibleLengths(): number[] };
    const nanp = plan.callingCode() === '1';
    // The minified metadata holds 0 where a country has no trunk prefix.
    const prefix = plan.nationalPrefix();
    return { code, nanp, prefix: !nanp && typeof prefix === 'string' ? prefix : '', lengths: new Set(plan.possibleLengths()) };
  });
}

/**
 * The accept function of the phone pattern: a candidate is a phone number when libphonenumber finds
 * it valid, written internationally (+ or 00) or in the national format of one of `regions`
 * (including that country's trunk prefix: "0170 1234567" in Germany, not "170 1234567"), and no
 * context says it is an order, invoice or part number, a date or a version.
 */
export function phoneAcceptor(regions: readonly string[], metadata: PhoneMetadata = 'max'): (match: string, text: string, index: number) => boolean {
  const codes = regions as readonly CountryCode[];
  const verdicts = new Map<string, boolean>();
  let plans: Plan[] | undefined;

  function libraryVerdict(candidate: string, digits: string, international: boolean): boolean {
    const loaded = library(metadata);
    const { lib, metadata: json } = loaded;
    if (international) {
      const parsed = lib.parsePhoneNumberFromString(candidate.replace(/^00/, '+'), json);
      if (!parsed) return false;
      // A written + is a strong sign: a number of a possible length for its country is enough.
      return candidate.startsWith('+') ? parsed.isPossible() : parsed.isValid();
    }
    plans ??= numberingPlans(loaded, codes);
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i];
      // Cheap checks first (the trunk prefix, the national number's possible lengths), then a full parse (~13 µs).
      if (plan.prefix && !digits.startsWith(plan.prefix)) continue;
      if (!plan.lengths.has(digits.length - plan.prefix.length) && !(plan.nanp && plan.lengths.has(digits.length - 1))) continue;
      const parsed = lib.parsePhoneNumberFromString(candidate, plan.code, json);
      // Every digit written is the trunk prefix or the national number (so no digits were dropped or
      // taken for a prefix the country does not have), and the number is in an assigned range.
      const national = parsed?.nationalNumber;
      if (national !== digits.slice(plan.prefix.length) && !(plan.nanp && `1${national}` === digits)) continue;
      if (!parsed?.isValid()) continue;
      // A dataset's numbers mostly come from a few countries: try the last country that matched first.
      if (i > 0) plans.unshift(...plans.splice(i, 1));
      return true;
    }
    return codes.includes('US' as CountryCode) && NANP_SHAPE.test(candidate) && !!lib.parsePhoneNumberFromString(candidate, 'US', json)?.isPossible();
  }

  return (match, text, index) => {
    const next = text[index + match.length];
    if (next !== undefined && /[\p{L}\p{N}_-]/u.test(next)) return false;
    const digits = match.replace(/\D/g, '');
    const international = match.startsWith('+') || digits.startsWith('00');
    if (digits.length < (international ? 8 : 7) || digits.length > (international ? 17 : 15)) return false;
    if (DATE_LIKE.test(match) || STARTS_WITH_DATE.test(match) || UNIT_AFTER.test(text.slice(index + match.length, index + match.length + 5))) return false;
    const groups = match.split(/[\s.\-/()]+/).filter(Boolean);
    if (groups.filter((g) => g.length === 1).length > 1 && !/\(0\)/.test(match)) return false;
    const before = text.slice(Math.max(0, index - 32), index);
    if (NOT_PERSONAL_CONTEXT.test(before)) return false;
    if (!international) {
      // Dots make versions, IPs and decimals, except in three or more groups of 2–4 digits after a trunk 0 or as a US 3-3-4.
      if (match.includes('.') && !(/^\d{2,4}(\.\d{2,4}){2,}$/.test(match) && (digits.startsWith('0') || NANP_SHAPE.test(match)))) return false;
      if (THOUSANDS.test(match)) return false;
      // A bare run ("9876543210") or a pair ("2019-2024", "660-549695", "1/2345678") is an id, a range, a sum or a
      // timestamp, unless it carries a trunk 0 or the words before it say phone.
      const separators = match.match(/[^\d()]+/g) ?? [];
      const weak = separators.length === 0 || (separators.length === 1 && /^[-/]$/.test(separators[0]));
      if (weak && !digits.startsWith('0') && !PHONE_CONTEXT.test(before)) return false;
    }
    let verdict = verdicts.get(match);
    if (verdict === undefined) {
      verdict = libraryVerdict(match, digits, international);
      if (verdicts.size >= CACHE_LIMIT) verdicts.clear();
      verdicts.set(match, verdict);
    }
    return verdict;
  };
}

/**
 * The E.164 forms a written number can stand for: the one it names when written internationally (+ or
 * 00), else one per region in whose national format it is a valid number. Erasure compares people's
 * numbers written in different formats this way.
 */
export function phoneE164(candidate: string, regions: readonly string[]): string[] {
  const { lib, metadata } = library('max');
  const trimmed = candidate.trim();
  if (trimmed.startsWith('+') || trimmed.replace(/\D/g, '').startsWith('00')) {
    const parsed = lib.parsePhoneNumberFromString(trimmed.replace(/^00/, '+'), metadata);
    return parsed?.isPossible() ? [parsed.number] : [];
  }
  const found = new Set<string>();
  for (const region of regions) {
    const parsed = lib.parsePhoneNumberFromString(trimmed, region as CountryCode, metadata);
    if (parsed?.isValid()) found.add(parsed.number);
  }
  return [...found];
}
