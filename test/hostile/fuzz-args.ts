import { mulberry32 } from '../../src/random.js';

/** The part of a tool's listed JSON Schema (draft-07, as tools/list gives it) the generator reads. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

/** What one argument set tries: valid-shaped values, or one kind of hostility. */
export const ARG_KINDS = ['valid', 'wrong_types', 'missing_required', 'huge_string', 'nul_bytes', 'paths', 'unicode', 'numbers', 'deep_nesting', 'extra_fields'] as const;
export type ArgKind = (typeof ARG_KINDS)[number];

export interface FuzzPools {
  /** Paths to try: hostile files in the scratch folder, traversal, system files. */
  paths: string[];
  /** Record ids seen in earlier results (ds_…, mdl_…, job_…), so later calls reach past NOT_FOUND. */
  ids: string[];
}

const UNICODE_JUNK = ['\u202e\u0627\u0644', '\ud800', '\udfff\ud800', '🤖'.repeat(50), 'e\u0301'.repeat(30), '\ufeff\u200b\u2028\u2029', '𝕏'.repeat(40), '\u0000\u0001\u001f\u007f'];
const HUGE_NUMBERS = [-1, -1e308, 1e308, 2 ** 53 + 1, -(2 ** 31), 2 ** 63, 0.5, -0.000001, 1e-320, 0];
const MB = 1024 * 1024;

/** A seeded generator of argument sets from a tool's input schema: the same seed gives the same calls. */
export class ArgGenerator {
  private readonly next: () => number;

  constructor(
    readonly seed: number,
    readonly pools: FuzzPools,
  ) {
    this.next = mulberry32(seed);
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A seeded Fisher-Yates shuffle (a copy). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One argument set of `kind` for an object schema. */
  args(schema: JsonSchema, kind: ArgKind): Record<string, unknown> {
    const props = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    const out: Record<string, unknown> = {};
    const names = Object.keys(props);
    for (const name of names) if (required.has(name) || this.chance(0.5)) out[name] = this.valid(props[name], name);
    // The hostile kinds change one or a few fields of an otherwise valid-shaped set: mostly fields of the
    // type the value passes for (strings for paths and text, numbers for numbers), so it reaches the handler.
    const ofType = (t: string) => names.filter((n) => [props[n].type, ...(props[n].anyOf ?? []).map((a) => a.type)].flat().includes(t));
    const typed = { huge_string: ofType('string'), nul_bytes: ofType('string'), paths: ofType('string'), unicode: ofType('string'), numbers: [...ofType('number'), ...ofType('integer')] }[kind as string];
    const from = typed?.length && this.chance(0.8) ? typed : names;
    const targets = from.length ? Array.from({ length: this.int(1, Math.min(3, from.length)) }, () => this.pick(from)) : [];
    switch (kind) {
      case 'valid':
        break;
      case 'wrong_types':
        for (const t of targets) out[t] = this.pick([42, -1, true, null, 'text', [], [1, 'a'], {}, { a: { b: 1 } }]);
        break;
      case 'missing_required':
        for (const r of required) if (this.chance(0.7)) delete out[r];
        break;
      case 'huge_string':
        for (const t of targets.slice(0, 1)) out[t] = this.pick(['a', 'é', '/', '{"']).repeat(MB / 2) + 'x'.repeat(MB / 2);
        break;
      case 'nul_bytes':
        for (const t of targets) out[t] = this.pick(['\u0000', 'a\u0000b', `${this.pick(this.pools.paths)}\u0000.jsonl`, 'ds_abc\u0000']);
        break;
      case 'paths':
        for (const t of targets) out[t] = this.pick(this.pools.paths);
        break;
      case 'unicode':
        for (const t of targets) out[t] = this.pick(UNICODE_JUNK);
        break;
      case 'numbers':
        for (const t of targets) out[t] = this.pick(HUGE_NUMBERS);
        break;
      case 'deep_nesting':
        for (const t of targets.slice(0, 1)) out[t] = nested(this.pick([100, 1000, 2000]), this.chance(0.5));
        break;
      case 'extra_fields':
        out[`__proto__x`] = 1;
        out.constructor = { prototype: { polluted: true } };
        out[this.pick(['', ' ', 'a'.repeat(1000), '\u0000'])] = this.pick(this.pools.paths);
        break;
    }
    return out;
  }

  /** A value of the schema's shape (random within its bounds). */
  valid(schema: JsonSchema, name = '', depth = 0): unknown {
    if (schema.const !== undefined) return schema.const;
    if (schema.enum) return this.pick(schema.enum);
    const union = schema.anyOf ?? schema.oneOf;
    if (union) return this.valid(this.pick(union), name, depth);
    const type = Array.isArray(schema.type) ? this.pick(schema.type) : schema.type;
    switch (type) {
      case 'boolean':
        return this.chance(0.5);
      case 'integer':
      case 'number': {
        const lo = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1e-6 : 0);
        const hi = Math.min(schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1e-6 : lo + 100), lo + 1000);
        const value = lo + this.next() * (hi - lo);
        return type === 'integer' ? Math.max(Math.ceil(lo), Math.min(Math.floor(hi), Math.round(value))) : value;
      }
      case 'string':
        return this.string(schema, name);
      case 'array': {
        if (depth > 3) return [];
        const n = this.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, (schema.minItems ?? 0) + 3));
        return Array.from({ length: n }, () => this.valid(schema.items ?? {}, name, depth + 1));
      }
      case 'object': {
        if (depth > 3) return {};
        if (schema.properties) return Object.fromEntries(Object.entries(schema.properties).filter(([k]) => schema.required?.includes(k) || this.chance(0.5)).map(([k, s]) => [k, this.valid(s, k, depth + 1)]));
        return { [this.pick(['project', 'note', 'limit', 'x'])]: this.pick(['a', 1, true, null]) };
      }
      default:
        return this.pick(['x', 1, null, { a: 1 }]);
    }
  }

  private string(schema: JsonSchema, name: string): string {
    if (schema.pattern?.startsWith('^ds_')) return this.idLike('ds_');
    if (/(^|_)id$/.test(name) || ['base_model', 'version'].includes(name)) {
      const prefix = { dataset_id: 'ds_', model_id: 'mdl_', base_model: 'mdl_', job_id: 'job_', config_id: 'cfg_', plan_id: 'plan_' }[name];
      if (prefix) return this.idLike(prefix);
    }
    if (/path|source|tokenizer|file/.test(name) && this.chance(0.8)) return this.pick(this.pools.paths);
    const min = schema.minLength ?? 0;
    const max = Math.min(schema.maxLength ?? 24, min + 24);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789._-';
    const s = Array.from({ length: this.int(min, max) }, () => alphabet[this.int(0, alphabet.length - 1)]).join('');
    return s.length >= min ? s : s.padEnd(min, 'a');
  }

  private idLike(prefix: string): string {
    const seen = this.pools.ids.filter((id) => id.startsWith(prefix));
    if (seen.length && this.chance(0.7)) return this.pick(seen);
    return `${prefix}${this.int(0, 36 ** 6).toString(36)}`;
  }
}

/** An object (or array) nested `depth` levels deep, built without recursion. */
export function nested(depth: number, arrays: boolean): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value };
  return value;
}

/** Record ids (ds_…, mdl_…, job_…, cfg_…, plan_…) anywhere in a result, for later calls. */
export function idsIn(value: unknown): string[] {
  const text = JSON.stringify(value) ?? '';
  return [...new Set(text.match(/\b(?:ds|mdl|job|cfg|plan|mv|cmp|he|exp)_[0-9a-z]{6,40}\b/g) ?? [])];
}
