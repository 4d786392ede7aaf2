import { cpSync, rmSync } from 'node:fs';
import { latestSafety } from '../safety/store.js';
import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { compareSemver, parseSemver, type SemVer } from './semver.js';
import { hashFolder, lookupDataset, lookupJob, readAdapterFolder, type AdapterFacts } from './sources.js';
import type { AliasEvent, GateChecker, GateOutcome, Lineage, ModelVersion } from './types.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const ALIAS_RE = /^[a-z][a-z0-9_-]{0,39}$/;

interface RegisterInput {
  name: string;
  version: string;
  job_id?: string;
  adapter_path?: string;
  base_model?: string;
  dataset_id?: string;
  metrics?: Record<string, number>;
  evaluation_ids?: string[];
  /** A compare_models run whose judge win-rate (vs the baseline) becomes the `win_rate` metric. */
  comparison_id?: string;
  /** A human review (record_human_eval) whose pooled verdicts become `human_win_rate` and `human_win_rate_<criterion>`. */
  human_eval_id?: string;
  description?: string;
}

interface VersionRow {
  id: string;
  name: string;
  version: string;
  description: string;
  source_kind: string;
  artifact_dir: string;
  artifact_sha256: string;
  lineage: string;
  metrics: string;
  created_at: string;
  major: number;
  minor: number;
  patch: number;
  prerelease: string;
}

/**
 * The model registry: immutable model versions (semver per name, full lineage, an own copy of
 * the weights), and aliases (staging, production …) whose every move is recorded with its reason.
 */
export class ModelRegistry {
  constructor(
    private readonly services: Services,
    private readonly checkGates: GateChecker,
  ) {}

  private get db() {
    return this.services.workspace.db;
  }

  async register(input: RegisterInput): Promise<ModelVersion> {
    if (!NAME_RE.test(input.name)) {
      throw new FinetuneError('INVALID_INPUT', `name '${input.name}' must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.`, {
        details: { field: 'name' },
      });
    }
    const semver = parseSemver(input.version);
    this.refuseDuplicate(input.name, semver, input.version);
    if (!input.job_id && !input.adapter_path) {
      throw new FinetuneError('INVALID_INPUT', 'Pass job_id (a finished training job) or adapter_path (a PEFT adapter folder).', {
        details: { field: 'job_id' },
      });
    }
    const job = input.job_id ? lookupJob(this.services, input.job_id) : undefined;
    if (job && job.state !== 'succeeded') {
      throw new FinetuneError('STATE_CONFLICT', `Job ${job.job_id} is ${job.state}; only a succeeded job can be registered.`, {
        recovery: ['queued', 'preparing', 'running'].includes(job.state)
          ? 'Wait for the job to finish (monitor_training {job_id}), then register it; or register an adapter folder instead.'
          : 'This job has ended and will produce no model: see why with monitor_training {job_id}, fix it and train again (resume_training from a checkpoint when it kept one), or register an adapter folder instead.',
        details: { field: 'job_id' },
      });
    }
    const adapterDir = input.adapter_path ? this.services.workspace.resolveUserPath(input.adapter_path, 'adapter_path') : job?.adapter_dir;
    if (!adapterDir) {
      if (job?.merged_dir) {
        throw new FinetuneError('CAPABILITY_UNSUPPORTED', `Job ${input.job_id} is a full fine-tune: the registry versions adapters, and it has none.`, {
          recovery: `Use the job's whole model through job_id (evaluate_model, classify, export_model format "hf"), or train with approach "lora" to register it.`,
          details: { field: 'job_id' },
        });
      }
      throw new FinetuneError('NOT_FOUND', `Job ${input.job_id} has no output adapter folder.`, { details: { field: 'job_id' } });
    }
    const adapter = readAdapterFolder(adapterDir, input.adapter_path ? 'adapter_path' : 'job_id');
    const evaluations = (input.evaluation_ids ?? []).map((id) => this.readEvaluationMetrics(id));
    const datasetId = input.dataset_id ?? job?.config?.dataset_id ?? null;
    const dataset = datasetId ? lookupDataset(this.services, datasetId) : undefined;
    const lineage = buildLineage({ input, job, adapter, dataset, baseModel: input.base_model ?? job?.config?.base_model ?? adapter.base_model });
    const metrics: Record<string, number> = {};
    // From the job only its final losses: throughput, memory and schedule values describe the run, not the model.
    for (const [name, value] of Object.entries(job?.final_metrics ?? {})) if (/(^|_)loss$/.test(name)) metrics[name] = value;
    for (const evaluation of evaluations) Object.assign(metrics, evaluation);
    if (input.comparison_id) metrics.win_rate = this.readWinRate(input.comparison_id);
    if (input.human_eval_id) Object.assign(metrics, this.readHumanWinRates(input.human_eval_id));
    Object.assign(metrics, input.metrics ?? {});

    const id = this.services.workspace.newId('model_version');
    const artifactDir = this.services.workspace.artifactPath('registry', id);
    await this.services.workspace.writeDir(artifactDir, (tmp) => cpSync(adapterDir, `${tmp}/adapter`, { recursive: true }));
    const sha = hashFolder(`${artifactDir}/adapter`);
    const now = new Date().toISOString();
    try {
      this.db
        .prepare(
          `INSERT INTO model_versions (id, name, version, major, minor, patch, prerelease, description, source_kind, artifact_dir,
           artifact_sha256, lineage, metrics, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, input.name, input.version, semver.major, semver.minor, semver.patch, semver.prerelease, input.description ?? '',
          job ? 'job' : 'adapter', `${artifactDir}/adapter`, sha, JSON.stringify(lineage), JSON.stringify(metrics), now);
    } catch (error) {
      // A concurrent register of the same version won the race: our copy of the weights is not referenced.
      rmSync(artifactDir, { recursive: true, force: true });
      if (String((error as Error).message).includes('UNIQUE')) this.refuseDuplicate(input.name, semver, input.version);
      throw error;
    }
    return this.get({ version_id: id });
  }

  private refuseDuplicate(name: string, semver: SemVer, text: string): void {
    const rows = this.db.prepare('SELECT version, major, minor, patch, prerelease FROM model_versions WHERE name = ?').all(name) as VersionRow[];
    const clash = rows.find((r) => compareSemver(toSemver(r), semver) === 0);
    if (clash) {
      throw new FinetuneError('STATE_CONFLICT', `Model '${name}' already has version ${clash.version}${clash.version !== text ? ` (same precedence as ${text})` : ''}; versions never change.`, {
        recovery: `Register under a higher version (latest is ${this.latestVersion(name)}), e.g. a patch or minor bump.`,
        details: { field: 'version' },
      });
    }
  }

  private latestVersion(name: string): string {
    return this.list({ name })[0]?.version ?? 'none';
  }

  /** The judge win-rate of the one candidate of a comparison. */
  private readWinRate(id: string): number {
    const row = this.db.prepare('SELECT result FROM comparisons WHERE id = ?').get(id) as { result: string } | undefined;
    if (!row) throw new FinetuneError('NOT_FOUND', `No comparison '${id}'.`, { recovery: 'Use a comparison_id that compare_models returned.', details: { field: 'comparison_id' } });
    const judged = (JSON.parse(row.result) as { judge: null | { results: Array<{ model: string; win_rate: number }> } }).judge?.results ?? [];
    if (judged.length !== 1) {
      throw new FinetuneError('INVALID_INPUT', `Comparison ${id} has ${judged.length ? `${judged.length} judged candidates` : 'no judge results'}; its win-rate cannot be attributed to one version.`, {
        recovery: 'Compare this model alone against its base with a judge, or pass metrics: {"win_rate": …} yourself.',
        details: { field: 'comparison_id' },
      });
    }
    return judged[0].win_rate;
  }

  /** Human verdicts of a review with one candidate, from its side: pooled and per criterion. */
  private readHumanWinRates(id: string): Record<string, number> {
    const review = this.db.prepare('SELECT models FROM human_evals WHERE id = ?').get(id) as { models: string } | undefined;
    if (!review) throw new FinetuneError('NOT_FOUND', `No human evaluation '${id}'.`, { recovery: 'Use a human_eval_id from setup_human_eval.', details: { field: 'human_eval_id' } });
    if ((JSON.parse(review.models) as string[]).length !== 2) {
      throw new FinetuneError('INVALID_INPUT', `Human evaluation ${id} reviews several candidates; its verdicts cannot be attributed to one version.`, { details: { field: 'human_eval_id' } });
    }
    const rows = this.db.prepare('SELECT criterion, winner FROM human_eval_verdicts WHERE human_eval_id = ?').all(id) as Array<{ criterion: string; winner: string }>;
    if (!rows.length) throw new FinetuneError('STATE_CONFLICT', `Human evaluation ${id} has no recorded verdicts yet.`, { recovery: 'Call record_human_eval with a filled sheet first.', details: { field: 'human_eval_id' } });
    const rate = (rs: typeof rows) => rs.reduce((a, r) => a + (r.winner === 'win' ? 1 : r.winner === 'tie' ? 0.5 : 0), 0) / rs.length;
    const out: Record<string, number> = { human_win_rate: rate(rows) };
    for (const criterion of new Set(rows.map((r) => r.criterion))) out[`human_win_rate_${criterion}`] = rate(rows.filter((r) => r.criterion === criterion));
    return out;
  }

  private readEvaluationMetrics(id: string): Record<string, number> {
    const row = this.db.prepare('SELECT metrics FROM evaluations WHERE id = ?').get(id) as { metrics: string } | undefined;
    if (!row) {
      throw new FinetuneError('NOT_FOUND', `No evaluation '${id}' in this workspace.`, {
        recovery: 'Use an evaluation_id that evaluate_model returned.',
        details: { field: 'evaluation_ids' },
      });
    }
    return numericOnly(JSON.parse(row.metrics) as Record<string, unknown>);
  }

  /** Versions, newest (by semver precedence) first; optionally one name or the holders of an alias. */
  list(filter: { name?: string; alias?: string } = {}): ModelVersion[] {
    const rows = (
      filter.name
        ? this.db.prepare('SELECT * FROM model_versions WHERE name = ?').all(filter.name)
        : this.db.prepare('SELECT * FROM model_versions').all()
    ) as VersionRow[];
    const versions = rows
      .sort((a, b) => (a.name === b.name ? compareSemver(toSemver(b), toSemver(a)) : a.name < b.name ? -1 : 1))
      .map((r) => this.toVersion(r));
    return filter.alias ? versions.filter((v) => v.aliases.includes(filter.alias!)) : versions;
  }

  /** One version by id, by name + version, or by name + alias. */
  get(ref: { version_id?: string; name?: string; version?: string; alias?: string }): ModelVersion {
    let row: VersionRow | undefined;
    if (ref.version_id) {
      row = this.db.prepare('SELECT * FROM model_versions WHERE id = ?').get(ref.version_id) as VersionRow | undefined;
    } else if (ref.name && ref.version) {
      row = this.db.prepare('SELECT * FROM model_versions WHERE name = ? AND version = ?').get(ref.name, ref.version) as VersionRow | undefined;
    } else if (ref.name && ref.alias) {
      row = this.db
        .prepare('SELECT v.* FROM model_aliases a JOIN model_versions v ON v.id = a.version_id WHERE a.name = ? AND a.alias = ?')
        .get(ref.name, ref.alias) as VersionRow | undefined;
    } else {
      throw new FinetuneError('INVALID_INPUT', 'Name a version: version_id, or name with version or alias.', { details: { field: 'version_id' } });
    }
    if (!row) {
      const what = ref.version_id ?? `${ref.name}${ref.version ? `@${ref.version}` : ` alias ${ref.alias}`}`;
      throw new FinetuneError('NOT_FOUND', `No model version ${what} in the registry.`, {
        recovery: 'Call list_model_versions to see the registered names, versions and aliases.',
        details: { field: ref.version_id ? 'version_id' : ref.version ? 'version' : 'alias' },
      });
    }
    return this.toVersion(row);
  }

  /** The quality gates, and one failing `erasure` gate per erasure that tainted the version. */
  gates(version: ModelVersion): GateOutcome[] {
    const taints = version.tainted.map((t) => ({
      metric: 'erasure',
      passed: false,
      value: null,
      threshold: 0,
      comparator: 'none',
      message: `erasure: trained on data erased under request ${t.request_reference} (${t.erasure_id}, ${t.at})`,
    }));
    const safety = latestSafety(this.db, { version_id: version.version_id, job_id: version.lineage.job_id });
    const outcomes = this.checkGates({ ...version.metrics, ...safety?.metrics }).map((g) => {
      if (!g.metric.startsWith('safety.') || g.passed) return g;
      const rule = `${g.metric} ${g.comparator} ${g.threshold}`;
      if (g.value === null) return { ...g, message: `${rule}: not measured (no safety report of this version or its job)` };
      const probes = safety?.failing[g.metric] ?? [];
      return { ...g, message: `${rule}: ${g.value} fails (report ${safety!.report_id}${probes.length ? `; failing probes: ${probes.join('; ')}` : ''})` };
    });
    return [...outcomes, ...taints];
  }

  /**
   * The 95 % intervals behind a version's metrics: from the last of its evaluations that measured
   * the metric (the one whose value registration kept), and only while the version's value is still
   * that evaluation's (a metric passed by hand at registration has no interval).
   */
  metricIntervals(version: ModelVersion): Record<string, { low: number; high: number }> {
    const out: Record<string, { low: number; high: number }> = {};
    const read = this.db.prepare('SELECT metrics, ci FROM evaluations WHERE id = ?');
    for (const id of version.lineage.evaluation_ids) {
      const row = read.get(id) as { metrics: string; ci: string } | undefined;
      if (!row) continue; // comparison and human-eval ids sit in the same list
      const metrics = numericOnly(JSON.parse(row.metrics) as Record<string, unknown>);
      const ci = JSON.parse(row.ci) as Record<string, { low?: unknown; high?: unknown }>;
      for (const [name, value] of Object.entries(metrics)) {
        const interval = ci[name];
        if (version.metrics[name] !== value) continue;
        if (interval && typeof interval.low === 'number' && typeof interval.high === 'number') out[name] = { low: interval.low, high: interval.high };
        else delete out[name];
      }
    }
    return out;
  }

  /**
   * Points an alias at a version. Refused when a gate fails, unless forced with a reason. A caller
   * may name unmeasured gates that do not apply, with why (the improvement loop's win-rate when no
   * version held the alias: there is nothing to compare against); the why joins the alias history.
   */
  promote(input: { name: string; version: string; alias: string; force?: boolean; reason?: string; not_applicable?: Record<string, string> }): {
    version: ModelVersion;
    previous: string | null;
    changed: boolean;
    gates: GateOutcome[];
    forced: boolean;
  } {
    if (!ALIAS_RE.test(input.alias)) {
      throw new FinetuneError('INVALID_INPUT', `alias '${input.alias}' must be lower-case letters, digits, '_' or '-' (e.g. staging, production).`, {
        details: { field: 'alias' },
      });
    }
    const version = this.get({ name: input.name, version: input.version });
    const gates = this.gates(version);
    const waived = input.not_applicable ?? {};
    const failed = gates.filter((g) => !g.passed && !(g.value === null && waived[g.metric]));
    const notes = gates.filter((g) => !g.passed && g.value === null && waived[g.metric]).map((g) => `${g.metric} gate not applicable: ${waived[g.metric]}`);
    const reason = [input.reason?.trim() ?? '', ...notes].filter(Boolean).join('; ');
    if (failed.length && !input.force) {
      throw new FinetuneError('GATE_FAILED', `${input.name}@${input.version} fails ${failed.length} quality gate(s): ${failed.map(describeGate).join('; ')}.`, {
        recovery: gateRecovery(`${input.name}@${input.version}`, failed),
        details: { field: 'version', gates: failed },
      });
    }
    if (input.force && failed.length && reason.length < 3) {
      throw new FinetuneError('INVALID_INPUT', 'force=true needs a reason (why this version ships despite failing gates); it is kept in the alias history.', {
        details: { field: 'reason' },
      });
    }
    const current = this.aliasTarget(input.name, input.alias);
    if (current === version.version_id) return { version, previous: current, changed: false, gates, forced: false };
    const forced = Boolean(input.force && failed.length);
    this.moveAlias(input.name, input.alias, 'promote', current, version.version_id, reason, forced, gates);
    return { version: this.get({ version_id: version.version_id }), previous: current ? this.get({ version_id: current }).version : null, changed: true, gates, forced };
  }

  /** Moves an alias back (to the version it held before, or to `to_version`) and records why. */
  rollback(input: { name: string; alias: string; reason: string; to_version?: string }): { from: ModelVersion; to: ModelVersion } {
    const reason = input.reason.trim();
    if (reason.length < 3) throw new FinetuneError('INVALID_INPUT', 'A rollback needs a reason; it is kept in the alias history.', { details: { field: 'reason' } });
    const current = this.aliasTarget(input.name, input.alias);
    if (!current) {
      throw new FinetuneError('STATE_CONFLICT', `Alias '${input.alias}' of '${input.name}' points at no version yet; there is nothing to roll back.`, {
        recovery: 'Call promote_model to set the alias first.',
        details: { field: 'alias' },
      });
    }
    const stack = this.aliasStack(input.name, input.alias);
    let target: string | undefined;
    if (input.to_version) {
      target = this.get({ name: input.name, version: input.to_version }).version_id;
      if (target === current) {
        throw new FinetuneError('STATE_CONFLICT', `Alias '${input.alias}' already points at ${input.to_version}.`, { details: { field: 'to_version' } });
      }
    } else {
      target = stack.length >= 2 ? stack[stack.length - 2] : undefined;
      if (!target) {
        throw new FinetuneError('STATE_CONFLICT', `Alias '${input.alias}' of '${input.name}' has no earlier version to roll back to.`, {
          recovery: 'Pass to_version to move the alias to a named version.',
          details: { field: 'alias' },
        });
      }
    }
    this.moveAlias(input.name, input.alias, 'rollback', current, target, reason, false, []);
    return { from: this.get({ version_id: current }), to: this.get({ version_id: target }) };
  }

  /** The alias's history, oldest first, with versions shown as semver strings. */
  history(name: string, alias?: string): AliasEvent[] {
    const rows = (
      alias
        ? this.db.prepare('SELECT * FROM model_alias_events WHERE name = ? AND alias = ? ORDER BY seq').all(name, alias)
        : this.db.prepare('SELECT * FROM model_alias_events WHERE name = ? ORDER BY seq').all(name)
    ) as Array<{ seq: number; alias: string; action: 'promote' | 'rollback'; from_version_id: string | null; to_version_id: string; reason: string; forced: number; gates: string; at: string }>;
    const semverOf = (id: string | null) => (id ? (this.db.prepare('SELECT version FROM model_versions WHERE id = ?').pluck().get(id) as string) : null);
    return rows.map((r) => ({
      seq: r.seq,
      alias: r.alias,
      action: r.action,
      from_version: semverOf(r.from_version_id),
      to_version: semverOf(r.to_version_id)!,
      reason: r.reason,
      forced: r.forced === 1,
      gates: JSON.parse(r.gates) as GateOutcome[],
      at: r.at,
    }));
  }

  private aliasTarget(name: string, alias: string): string | null {
    return (this.db.prepare('SELECT version_id FROM model_aliases WHERE name = ? AND alias = ?').pluck().get(name, alias) as string | undefined) ?? null;
  }

  /** Replays the alias events: a promote pushes, a rollback pops back to its target (or pushes it). */
  private aliasStack(name: string, alias: string): string[] {
    const rows = this.db
      .prepare('SELECT action, to_version_id FROM model_alias_events WHERE name = ? AND alias = ? ORDER BY seq')
      .all(name, alias) as Array<{ action: string; to_version_id: string }>;
    const stack: string[] = [];
    for (const r of rows) {
      if (r.action === 'rollback' && stack.includes(r.to_version_id)) {
        while (stack[stack.length - 1] !== r.to_version_id) stack.pop();
      } else stack.push(r.to_version_id);
    }
    return stack;
  }

  private moveAlias(name: string, alias: string, action: 'promote' | 'rollback', from: string | null, to: string, reason: string, forced: boolean, gates: GateOutcome[]): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO model_aliases (name, alias, version_id, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (name, alias) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at`,
        )
        .run(name, alias, to, now);
      this.db
        .prepare('INSERT INTO model_alias_events (name, alias, action, from_version_id, to_version_id, reason, forced, gates, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(name, alias, action, from, to, reason, forced ? 1 : 0, JSON.stringify(gates), now);
    }).immediate();
  }

  private toVersion(row: VersionRow): ModelVersion {
    const aliases = this.db.prepare('SELECT alias FROM model_aliases WHERE version_id = ? ORDER BY alias').pluck().all(row.id) as string[];
    return {
      version_id: row.id,
      name: row.name,
      version: row.version,
      description: row.description,
      source_kind: row.source_kind as ModelVersion['source_kind'],
      artifact_dir: row.artifact_dir,
      artifact_sha256: row.artifact_sha256,
      lineage: JSON.parse(row.lineage) as Lineage,
      metrics: JSON.parse(row.metrics) as Record<string, number>,
      aliases,
      created_at: row.created_at,
      tainted: this.db.prepare('SELECT erasure_id, request_reference, at FROM model_version_taints WHERE version_id = ? ORDER BY at').all(row.id) as ModelVersion['tainted'],
    };
  }
}

function toSemver(row: Pick<VersionRow, 'major' | 'minor' | 'patch' | 'prerelease'>): SemVer {
  return { major: row.major, minor: row.minor, patch: row.patch, prerelease: row.prerelease, build: '' };
}

function numericOnly(values: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/**
 * What to do about failing gates: an unmeasured metric needs its evidence (a judged comparison, a
 * human review or an evaluation) recorded on a new version, since versions never change; a
 * measured one needs a better model or a forced promotion with a reason.
 */
function gateRecovery(ref: string, failed: GateOutcome[]): string {
  const steps: string[] = [];
  const unmeasured = failed.filter((g) => g.value === null).map((g) => g.metric);
  if (unmeasured.includes('win_rate')) {
    steps.push(`win_rate is not measured: run compare_models {models: [{version: "${ref}"}]} with a judge (client sampling or config judge), then register_model a new version with its comparison_id`);
  }
  if (unmeasured.some((m) => m.startsWith('human_win_rate'))) {
    steps.push('human_win_rate is not measured: setup_human_eval on a comparison, record_human_eval, then register_model a new version with its human_eval_id');
  }
  const safety = unmeasured.filter((m) => m.startsWith('safety.'));
  if (safety.length) steps.push(`${safety.join(', ')} not measured: run_safety_probes {version: "${ref}"}`);
  if (unmeasured.includes('erasure')) {
    steps.push('erasure: the version was trained on data a data subject had erased (erase_subject); train again on the erased dataset versions and register the new job');
  }
  const others = unmeasured.filter((m) => m !== 'win_rate' && m !== 'erasure' && !m.startsWith('safety.') && !m.startsWith('human_win_rate'));
  if (others.length) steps.push(`${others.join(', ')} not measured: evaluate_model {version: "${ref}"}, then register_model a new version with its evaluation_ids`);
  if (failed.some((g) => g.value !== null && g.metric.startsWith('safety.'))) {
    steps.push('for a failing safety gate, read the report\'s failing probes (run_safety_probes), fix the data (clean_dataset with redact_pii, erase_subject, refusal examples for harmful requests) and retrain; refusals scored by the phrase heuristic undercount, so configure a judge and probe again before deciding');
  }
  if (failed.some((g) => g.value !== null && !g.metric.startsWith('safety.'))) steps.push('for a measured shortfall, improve the model (more data, another run) and register it as a new version');
  steps.push('or pass force=true with a reason to promote anyway (kept in the alias history)');
  return `${steps.join('; ')}.`.replace(/^./, (c) => c.toUpperCase());
}

export function describeGate(g: GateOutcome): string {
  if ((g.metric === 'erasure' || g.metric.startsWith('safety.')) && g.message) return g.message;
  return `${g.metric} ${g.value === null ? 'not measured' : g.value} (needs ${g.comparator} ${g.threshold})`;
}

function buildLineage(parts: {
  input: RegisterInput;
  job: ReturnType<typeof lookupJob> | undefined;
  adapter: AdapterFacts;
  dataset: ReturnType<typeof lookupDataset> | undefined;
  baseModel: string | undefined;
}): Lineage {
  const { input, job, adapter, dataset } = parts;
  const lineage: Lineage = {
    base_model: parts.baseModel ?? null,
    dataset_id: dataset?.dataset_id ?? null,
    dataset_hash: dataset?.content_hash || null,
    config: (job?.config as unknown as Record<string, unknown> | undefined) ?? null,
    job_id: job?.job_id ?? null,
    evaluation_ids: [...(input.evaluation_ids ?? []), ...(input.comparison_id ? [input.comparison_id] : []), ...(input.human_eval_id ? [input.human_eval_id] : [])],
    adapter: {
      peft_type: adapter.peft_type ?? null,
      r: adapter.r ?? null,
      lora_alpha: adapter.lora_alpha ?? null,
      target_modules: adapter.target_modules ?? null,
    },
    missing: [],
    data_governance: dataset?.governance ?? [],
  };
  lineage.missing = (['base_model', 'dataset_id', 'dataset_hash', 'config', 'job_id'] as const).filter((k) => lineage[k] === null);
  if (!lineage.evaluation_ids.length) lineage.missing.push('evaluation_ids');
  return lineage;
}
