import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { registryOf } from './index.js';
import { renderModelCard } from './model-card.js';
import { pushesOf } from './pushes.js';
import { lookupDataset } from './sources.js';
import { latestSafety } from '../safety/store.js';

/** Renders the card of one version and, when asked, writes it atomically to a user path. */
export function modelCardFor(services: Services, args: { name: string; version?: string; alias?: string; output_path?: string }) {
  if (!args.version && !args.alias) {
    throw new FinetuneError('INVALID_INPUT', 'Pass version or alias to choose the version.', { details: { field: 'version' } });
  }
  const registry = registryOf(services);
  const version = registry.get({ name: args.name, version: args.version, alias: args.version ? undefined : args.alias });
  let manifest: Record<string, unknown> | undefined;
  if (version.lineage.dataset_id) {
    try {
      manifest = lookupDataset(services, version.lineage.dataset_id).manifest;
    } catch {
      manifest = undefined; // the dataset was removed from this workspace; the card still shows its id and hash
    }
  }
  const evaluations = version.lineage.evaluation_ids.map((id) => {
    if (id.startsWith('he_')) {
      const he = services.workspace.db.prepare('SELECT comparison_id, created_at FROM human_evals WHERE id = ?').get(id) as { comparison_id: string; created_at: string } | undefined;
      const verdicts = services.workspace.db.prepare('SELECT COUNT(*) FROM human_eval_verdicts WHERE human_eval_id = ?').pluck().get(id) as number;
      return { id, dataset: `human review of ${he?.comparison_id ?? 'unknown'}`, examples: verdicts, created_at: he?.created_at ?? 'unknown' };
    }
    if (id.startsWith('cmp_')) {
      const cmp = services.workspace.db.prepare('SELECT dataset, result, created_at FROM comparisons WHERE id = ?').get(id) as { dataset: string; result: string; created_at: string } | undefined;
      const judged = cmp ? ((JSON.parse(cmp.result) as { judge: null | { results: Array<{ wins: number; losses: number; ties: number }> } }).judge?.results[0] ?? null) : null;
      return { id, dataset: cmp?.dataset ?? 'unknown', examples: judged ? judged.wins + judged.losses + judged.ties : 0, created_at: cmp?.created_at ?? 'unknown' };
    }
    const row = services.workspace.db.prepare('SELECT id, dataset, examples, created_at FROM evaluations WHERE id = ?').get(id) as
      | { id: string; dataset: string; examples: number; created_at: string }
      | undefined;
    return row ?? { id, dataset: 'unknown', examples: 0, created_at: 'unknown' };
  });
  const safety = latestSafety(services.workspace.db, { version_id: version.version_id, job_id: version.lineage.job_id });
  const markdown = renderModelCard({ version, gates: registry.gates(version), history: registry.history(version.name), dataset_manifest: manifest, evaluations, safety, pushes: pushesOf(services.workspace.db, version.version_id) });
  let path: string | null = null;
  if (args.output_path) {
    path = services.workspace.resolveUserPath(args.output_path, 'output_path');
    services.workspace.writeFile(path, markdown);
  }
  return { markdown, version_id: version.version_id, path };
}
