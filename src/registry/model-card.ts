import type { GovernanceRecord } from '../datasets/types.js';
import { describeGate } from './registry.js';
import { betterLabel } from './metric-direction.js';
import type { ModelPush } from './pushes.js';
import type { AliasEvent, GateOutcome, ModelVersion } from './types.js';

interface CardInputs {
  version: ModelVersion;
  gates: GateOutcome[];
  history: AliasEvent[];
  /** The training dataset's manifest when it is still in the workspace. */
  dataset_manifest?: Record<string, unknown>;
  evaluations: Array<{ id: string; dataset: string; examples: number; created_at: string }>;
  /** The newest safety report of the version or its job (run_safety_probes), if any. */
  safety?: { report_id: string; at: string; metrics: Record<string, number> } | null;
  /** Where push_model committed this version. */
  pushes?: ModelPush[];
}

/** A Markdown model card written only from recorded facts: lineage, metrics, gates, alias history. */
export function renderModelCard(inputs: CardInputs): string {
  const { version: v, gates, history, dataset_manifest: manifest } = inputs;
  const lines: string[] = [];
  lines.push(`# ${v.name} ${v.version}`, '');
  if (v.description) lines.push(v.description, '');
  lines.push(
    `| field | value |`,
    `| --- | --- |`,
    `| version id | \`${v.version_id}\` |`,
    `| registered | ${v.created_at} |`,
    `| aliases | ${v.aliases.length ? v.aliases.join(', ') : 'none'} |`,
    `| base model | ${cell(v.lineage.base_model)} |`,
    `| adapter | ${v.lineage.adapter ? `${v.lineage.adapter.peft_type ?? 'PEFT'} r=${v.lineage.adapter.r ?? '?'} alpha=${v.lineage.adapter.lora_alpha ?? '?'} targets=${JSON.stringify(v.lineage.adapter.target_modules)}` : 'n/a'} |`,
    `| training job | ${cell(v.lineage.job_id)} |`,
    `| weights sha256 | \`${v.artifact_sha256}\` |`,
    '',
  );

  lines.push('## Training data', '');
  if (v.lineage.dataset_id) {
    lines.push(`- Dataset version \`${v.lineage.dataset_id}\`, content hash \`${v.lineage.dataset_hash ?? 'unknown'}\`.`);
    if (manifest) {
      if (manifest.task_type) lines.push(`- Task type: ${String(manifest.task_type)}.`);
      const counts = manifest.counts as Record<string, number> | undefined;
      if (counts) lines.push(`- Rows: ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}.`);
      const source = manifest.source as { path?: string; format?: string } | undefined;
      if (source?.path) lines.push(`- Source: \`${source.path}\`${source.format ? ` (${source.format})` : ''}.`);
    }
  } else lines.push('- Not recorded.');
  lines.push('');

  lines.push('## Data governance', '', ...governanceLines(v.lineage.dataset_id, v.lineage.data_governance ?? (manifest?.governance as GovernanceRecord[] | undefined)));
  lines.push(
    inputs.safety
      ? `- Safety report \`${inputs.safety.report_id}\` (${inputs.safety.at}): ${Object.entries(inputs.safety.metrics).map(([k, n]) => `${k.replace('safety.', '')} ${Number.isInteger(n) ? n : n.toFixed(3)}`).join(', ')}.`
      : '- No safety report: run_safety_probes has not probed this version or its job.',
  );
  for (const t of v.tainted) {
    lines.push(`- **Tainted:** data this version was trained on was erased under request ${t.request_reference} (\`${t.erasure_id}\`, ${t.at}); retrain before shipping it.`);
  }
  lines.push('');

  lines.push('## Training configuration', '');
  const config = v.lineage.config;
  if (config) {
    lines.push(`- Method ${cell(config.method)}, approach ${cell(config.approach)}, backend ${cell(config.backend)}, template ${cell(config.template)}.`, '');
    const hp = (config.hyperparameters ?? {}) as Record<string, unknown>;
    if (Object.keys(hp).length) {
      lines.push('| hyperparameter | value |', '| --- | --- |');
      for (const [k, val] of Object.entries(hp)) lines.push(`| ${k} | ${cell(val)} |`);
    }
  } else lines.push('- Not recorded (registered from an adapter folder without a job).');
  lines.push('');

  lines.push('## Evaluation', '');
  const metricNames = Object.keys(v.metrics).sort();
  if (metricNames.length) {
    lines.push('| metric | value | better |', '| --- | --- | --- |');
    for (const m of metricNames) lines.push(`| ${m} | ${round(v.metrics[m])} | ${betterLabel(m)} |`);
  } else lines.push('No metrics recorded.');
  lines.push('');
  for (const e of inputs.evaluations) lines.push(`- Evaluation \`${e.id}\` on ${e.dataset}, ${e.examples} examples, ${e.created_at}.`);
  if (inputs.evaluations.length) lines.push('');

  lines.push('## Quality gates', '');
  if (gates.length) {
    lines.push('| gate | measured | result |', '| --- | --- | --- |');
    for (const g of gates) lines.push(`| ${g.metric} ${g.comparator} ${g.threshold} | ${g.value === null ? 'not measured' : round(g.value)} | ${g.passed ? 'pass' : 'FAIL'} |`);
  } else lines.push('No gates configured.');
  lines.push('');

  lines.push('## Release history', '');
  if (history.length) {
    for (const e of history) {
      lines.push(`- ${e.at}: ${e.action} \`${e.alias}\` ${e.from_version ?? '(none)'} → ${e.to_version}${e.forced ? ' (forced past failing gates)' : ''}${e.reason ? `: ${e.reason}` : ''}`);
    }
  } else lines.push('Never promoted.');
  lines.push('');

  lines.push('## Published', '');
  if (inputs.pushes?.length) {
    for (const p of inputs.pushes) lines.push(`- ${p.pushed_at}: ${p.format} to [${p.repo}](${p.hub_url}/${p.repo}) \`${p.revision}\`, commit [\`${p.commit_oid.slice(0, 12)}\`](${p.commit_url}).`);
  } else lines.push('Not pushed to a model hub (push_model).');
  lines.push('');

  lines.push('## Limitations', '');
  const missing = v.lineage.missing;
  if (missing.length) lines.push(`- Lineage incomplete: ${missing.join(', ')} not recorded.`);
  const failing = gates.filter((g) => !g.passed);
  if (failing.length) lines.push(`- Fails gates: ${failing.map(describeGate).join('; ')}.`);
  if (!inputs.evaluations.length) lines.push('- No stored evaluation backs the metrics above.');
  if (!missing.length && !failing.length && inputs.evaluations.length) lines.push('- Measured only on the evaluation sets listed above; behaviour elsewhere is untested.');
  lines.push('');
  return lines.join('\n');
}

/** The training data's PII redactions with legal basis and consent reference, and its reviews of generated rows, as recorded; none is said as such. */
function governanceLines(datasetId: string | null, records: GovernanceRecord[] | undefined): string[] {
  if (!datasetId) return ['- Not recorded (no training dataset in the lineage).'];
  if (!records?.length) return [`- No PII redaction, legal basis or consent reference is recorded for \`${datasetId}\` or the versions it derives from.`];
  return records.map((r) => {
    if (r.kind === 'generated_review') {
      return (
        `- Generated rows reviewed by people: \`${r.dataset_id}\` holds ${r.approved} approved row(s) of review queue \`${r.queue_id}\` (${r.at}); ` +
        `${r.rejected} rejected row(s) were left out. Reviewers: ${r.reviewers.join(', ') || 'none recorded'}.`
      );
    }
    const found = Object.entries(r.found).map(([kind, n]) => `${kind} ${n}`).join(', ') || 'nothing found';
    const kinds = [...r.redacted_kinds, ...r.custom_patterns].join(', ');
    return (
      `- PII redaction making \`${r.dataset_id}\` from \`${r.source_dataset_id}\` (${r.at}, consent log \`${r.consent_log_id}\`): ${kinds} redacted; ${r.findings} values in ${r.rows_affected} rows (${found}). ` +
      `Legal basis: ${r.legal_basis}. Consent reference: ${r.consent_reference ?? 'none given'}. Requested by: ${r.actor}.${r.purpose ? ` Purpose: ${r.purpose}.` : ''}`
    );
  });
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return 'not recorded';
  return typeof value === 'string' ? value.replace(/\|/g, '\\|') : JSON.stringify(value);
}

function round(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/\.?0+$/, '');
}
