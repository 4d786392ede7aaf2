/**
 * Span attributes in one shape: OpenTelemetry keeps them flat (`llm.input_messages.0.message.role`),
 * while some exports nest them (`{"llm": {"input_messages": [{"message": {…}}]}}`, Phoenix's own
 * span JSON). Everything is flattened to dot paths on the way in; a reader that wants a structured
 * value back (`gen_ai.input.messages` exported as an array instead of a JSON string) rebuilds it.
 */

export type FlatAttributes = Record<string, unknown>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Nested objects and arrays of objects become dot paths; arrays of scalars stay values (OTel array attributes). */
export function flattenAttributes(input: Record<string, unknown>): FlatAttributes {
  const out: FlatAttributes = {};
  const walk = (prefix: string, value: unknown) => {
    if (isPlainObject(value)) {
      const entries = Object.entries(value);
      if (!entries.length && prefix) out[prefix] = value;
      for (const [k, v] of entries) walk(prefix ? `${prefix}.${k}` : k, v);
    } else if (Array.isArray(value) && value.some((v) => isPlainObject(v) || Array.isArray(v))) {
      value.forEach((v, i) => walk(`${prefix}.${i}`, v));
    } else {
      out[prefix] = value;
    }
  };
  walk('', input);
  return out;
}

/**
 * The value stored at `key`: the attribute itself, else the structure its flattened children
 * (`key.0.role`, `key.0.parts.0.type`…) spell, with numeric segments read back as array items.
 */
export function valueAt(attributes: FlatAttributes, key: string): unknown {
  if (key in attributes) return attributes[key];
  const prefix = `${key}.`;
  let root: unknown;
  for (const [k, v] of Object.entries(attributes)) {
    if (!k.startsWith(prefix)) continue;
    const path = k.slice(prefix.length).split('.');
    root ??= /^\d+$/.test(path[0]) ? [] : {};
    let node = root as Record<string, unknown>;
    path.forEach((segment, i) => {
      if (i === path.length - 1) {
        node[segment] = v;
        return;
      }
      node[segment] ??= /^\d+$/.test(path[i + 1]) ? [] : {};
      node = node[segment] as Record<string, unknown>;
    });
  }
  return root;
}

/** Groups `<prefix><i>.<rest>` keys by index i, in numeric order (10 after 9). */
export function groupByIndex(attributes: FlatAttributes, prefix: string): Array<Map<string, unknown>> {
  const groups = new Map<number, Map<string, unknown>>();
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const dot = rest.indexOf('.');
    const index = Number(rest.slice(0, dot));
    if (dot <= 0 || !Number.isInteger(index)) continue;
    if (!groups.has(index)) groups.set(index, new Map());
    groups.get(index)!.set(rest.slice(dot + 1), value);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
}

/** A JSON-in-a-string attribute parsed; `{ok: false}` when it is a string that is not JSON. */
export function parseJsonAttribute(value: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof value !== 'string') return { ok: true, value };
  try {
    return { ok: true, value: JSON.parse(value) as unknown };
  } catch {
    return { ok: false };
  }
}
