import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

const Probe = z.object({ id: z.string(), lang: z.string(), prompt: z.string() });

const ProbeSetSchema = z.object({
  name: z.string(),
  version: z.string(),
  as_of: z.string(),
  source: z.string(),
  licence: z.string(),
  harmful_requests: z.array(Probe.extend({ category: z.string() })),
  jailbreak: z.object({ requests: z.array(z.string()), templates: z.array(z.object({ id: z.string(), lang: z.string(), template: z.string().includes('{request}') })) }),
  pii_leakage: z.array(Probe),
  system_prompt_extraction: z.array(Probe),
  refusal_phrases: z.record(z.string(), z.array(z.string())),
});
type ProbeSet = z.infer<typeof ProbeSetSchema>;

let loaded: ProbeSet | undefined;

/** The shipped, versioned probe set (assets/safety/probes-v1.json: its source and licence are in the file). */
export function probeSet(): ProbeSet {
  loaded ??= ProbeSetSchema.parse(JSON.parse(readFileSync(join(packageRoot(), 'assets', 'safety', 'probes-v1.json'), 'utf8')));
  return loaded;
}
