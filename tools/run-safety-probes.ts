import { z } from 'zod';
import { SAFETY_SUITES, saveSafetyReport } from '../src/safety/store.js';
import { defineTool } from '../src/server/tool.js';
import { FinetuneError } from '../src/errors.js';

const Outcome = z.object({
  id: z.string().describe('Probe id, e.g. "harm-de-03", "jb-en-fiction/harm-en-01", "train-line-12".'),
  lang: z.string().optional().describe('Language of the probe.'),
  failed: z.boolean().describe('A leak, a (near-)verbatim completion, an extracted system prompt or a compliance.'),
  detail: z.string().describe('Why, by kind and count; personal values are never shown.'),
  output: z.string().describe('The output, personal values replaced by [KIND], cut at 300 characters.'),
});

const Suite = z.object({
  probes: z.number().describe('Probes run.'),
  failed: z.number().describe('Probes that failed.'),
  scored_by: z.string().describe('How: detectors, canaries, a judge, or the refusal-phrase heuristic (named as such).'),
  metrics: z.record(z.string(), z.number()).describe('safety.* metrics of the suite.'),
  skipped: z.string().optional().describe('Why the suite did not run.'),
  outcomes: z.array(Outcome).describe('Each probe (failed ones first when detail is false).'),
});

export const runSafetyProbesTool = defineTool({
  name: 'run_safety_probes',
  title: 'Run safety probes against a model',
  description:
    'Probes a model (a registered version, a job, a base model or a served "<plugin>:<model>") and stores a safety report that ' +
    'safety.* gates in evaluation.gates read at promote_model. Suites: pii_leakage (leading prompts, and the prompts of training rows ' +
    'whose answers held personal values; outputs scanned with the dataset PII detectors and against canaries: salted hashes of the ' +
    "training data's personal values, reported by kind, never by value), memorization (training prompts: does the model repeat the " +
    'training answer verbatim or near-verbatim), system_prompt_extraction (when the training data shares a system prompt), ' +
    'harmful_requests and jailbreak (a shipped, versioned English/German set; scored by the configured judge, or by refusal phrases, ' +
    'marked as a heuristic). Next: promote_model (gates), or compare reports of the alias holder.',
  input: {
    version: z.string().optional().describe('A registered version, "name@1.0.0" or "mv_01j…".'),
    job_id: z.string().optional().describe("Or a training job's adapter, e.g. \"job_01j…\"."),
    model_id: z.string().optional().describe('Or a base model "mdl_…" or a served model "<plugin>:<model>".'),
    suites: z.array(z.enum(SAFETY_SUITES)).optional().describe(`Suites to run; default all: ${SAFETY_SUITES.join(', ')}.`),
    languages: z.array(z.enum(['en', 'de'])).optional().describe('Probe languages; default ["en", "de"].'),
    max_new_tokens: z.number().int().min(1).max(1024).default(64).describe('Tokens generated per probe.'),
    max_memorization_rows: z.number().int().min(1).max(1000).default(32).describe('Training rows probed for memorisation.'),
    judge: z.string().default('auto').describe('Who decides refusal: "auto" (the configured judge, else the heuristic), "heuristic", "endpoint", or a model "<plugin>:<model>".'),
    against_alias: z.string().optional().describe('Also probe the version this alias of the same name points to (e.g. "production") with the same suites, and compare side by side. Needs version.'),
    detail: z.boolean().default(false).describe('Return every probe; default: failed probes and three passed ones per suite.'),
  },
  output: {
    report_id: z.string().describe('Stored report, e.g. "safe_01j…".'),
    model: z.string().describe('What was probed.'),
    training_dataset_id: z.string().nullable().describe('The training data canaries and memorisation probes came from.'),
    probe_set: z.string().describe('The shipped probe set and its version.'),
    metrics: z.record(z.string(), z.number()).describe('All safety.* metrics, e.g. {"safety.canary_leaks": 0, "safety.harmful_refusal_rate": 0.9}.'),
    suites: z.record(z.string(), Suite).describe('Per suite: probes, failures, how scored, metrics, outcomes.'),
    against: z
      .object({
        version: z.string().describe('The alias holder probed, e.g. "desk@1.0.0".'),
        report_id: z.string().describe('Its stored report.'),
        metrics: z.record(z.string(), z.number()).describe('Its safety.* metrics.'),
        worse: z.array(z.string()).describe('Metrics on which the probed model is worse than the alias holder.'),
      })
      .optional()
      .describe('The regression check against the alias holder, when against_alias was given.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(input, ctx) {
    if (!input.version && !input.job_id && !input.model_id) {
      throw new FinetuneError('INVALID_INPUT', 'Name the model to probe: version ("name@1.0.0"), job_id, or model_id (a base model or "<plugin>:<model>").', { details: { field: 'version' } });
    }
    if (input.against_alias && !input.version) {
      throw new FinetuneError('INVALID_INPUT', 'against_alias compares two versions of one name: pass version too (e.g. "desk@1.1.0").', { details: { field: 'version' } });
    }
    // Loaded on the first call: the evaluation runners and the registry stay out of server start-up.
    const [{ runSafetyProbes }, { registryOf }] = await Promise.all([import('../src/safety/probes.js'), import('../src/registry/index.js')]);
    const probeAndStore = async (args: typeof input) => {
      const run = await runSafetyProbes(ctx, args);
      const id = ctx.services.workspace.newId('safety_report');
      saveSafetyReport(ctx.services.workspace.db, { id, model: run.model.label, version_id: run.model.version_id, job_id: run.model.job_id, dataset_id: run.datasetId, suites: run.suites, metrics: run.metrics, at: new Date().toISOString() });
      return { id, run };
    };
    const { id, run } = await probeAndStore(input);
    let against;
    if (input.against_alias) {
      const registry = registryOf(ctx.services);
      const name = registry.get({ version_id: run.model.version_id! }).name;
      const holder = registry.get({ name, alias: input.against_alias });
      const other = await probeAndStore({ ...input, version: holder.version_id, job_id: undefined, model_id: undefined });
      const worse = Object.keys(run.metrics).filter((m) => (m.endsWith('refusal_rate') ? run.metrics[m] < other.run.metrics[m] : run.metrics[m] > other.run.metrics[m]));
      against = { version: `${holder.name}@${holder.version}`, report_id: other.id, metrics: other.run.metrics, worse };
    }
    const suites = Object.fromEntries(
      Object.entries(run.suites).map(([name, s]) => {
        const failed = s.outcomes.filter((o) => o.failed);
        return [name, { ...s, outcomes: input.detail ? s.outcomes : [...failed, ...s.outcomes.filter((o) => !o.failed).slice(0, 3)] }];
      }),
    );
    return { report_id: id, model: run.model.label, training_dataset_id: run.datasetId, probe_set: run.probe_set, metrics: run.metrics, suites, ...(against ? { against } : {}) };
  },
  summarize: (o) =>
    `Safety report ${o.report_id} for ${o.model}: ` +
    Object.entries(o.suites)
      .map(([name, s]) => (s.skipped ? `${name} skipped (${s.skipped})` : `${name} ${s.failed}/${s.probes} failed`))
      .join('; ') +
    `. ${Object.entries(o.metrics).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`).join(', ')}.` +
    (o.against ? ` Against ${o.against.version} (${o.against.report_id}): ${o.against.worse.length ? `worse on ${o.against.worse.join(', ')}` : 'no worse on any metric'}.` : ''),
});
