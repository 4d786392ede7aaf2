import type { CatalogueEntry } from './catalogue-schema.js';

/**
 * How recommend_base_model ranks the models that pass every hard constraint: a few named components,
 * each with its points and the fact behind it, so the result can say why one model is above another.
 */

interface Component {
  points: number;
  reason: string;
}

/** What the ranking reads of a candidate's memory check. */
interface MemoryFit {
  approach: 'lora' | 'qlora';
  fits?: unknown;
  report: { training_lora_gb: number; training_qlora_gb: number };
}

export type TokensPerExample = { measured: true; mean: number; rows: number; tokenizer: string } | { measured: false; why: string };

export interface RunEstimate {
  backend: string;
  approach: 'lora' | 'qlora';
  device: string;
  seconds: number;
  cost_usd: number;
  tokens: number;
  formula: string;
}

export function scoreComponents(
  entry: CatalogueEntry,
  memory: MemoryFit,
  tokens: TokensPerExample | undefined,
  minTokens: number,
  estimate: RunEstimate | undefined,
  minCost: number,
): Record<string, Component> {
  const P = entry.parameters?.value;
  const out: Record<string, Component> = {
    size: P
      ? { points: Math.max(0, Math.log10(P / 1e8)), reason: `${fmtParams(P)} parameters: larger bases learn more from the same data (log10(parameters / 100M) = ${round(Math.max(0, Math.log10(P / 1e8)))})` }
      : { points: 0, reason: 'parameter count not verified (0)' },
    licence:
      entry.licence.commercial === 'yes'
        ? { points: 0.3, reason: `${entry.licence.id}: commercial use without conditions (+0.3)` }
        : entry.licence.commercial === 'conditions'
          ? { points: 0, reason: `${entry.licence.id}: commercial use under conditions: ${entry.licence.conditions ?? entry.licence.url} (0)` }
          : { points: 0, reason: `${entry.licence.id}: research use only (0)` },
    context: entry.context_length
      ? entry.context_length.value >= 32768
        ? { points: 0.2, reason: `context ${entry.context_length.value} tokens ≥ 32k (+0.2)` }
        : { points: 0, reason: `context ${entry.context_length.value} tokens (0)` }
      : { points: -0.1, reason: 'context length not verified (−0.1)' },
  };
  if (memory.fits) {
    out.hardware =
      memory.approach === 'lora'
        ? { points: 0.3, reason: `trains with LoRA in bfloat16 on one GPU (${memory.report.training_lora_gb} GB), no 4-bit quantisation needed (+0.3)` }
        : { points: 0, reason: `fits one GPU only with QLoRA (${memory.report.training_qlora_gb} GB; LoRA needs ${memory.report.training_lora_gb} GB) (0)` };
  }
  if (tokens?.measured && Number.isFinite(minTokens)) {
    const points = (0.3 * minTokens) / tokens.mean;
    out.tokens = { points, reason: `${tokens.mean} tokens per example on your data (fewest measured: ${minTokens}) (+${round(points)})` };
  } else if (tokens) out.tokens = { points: 0, reason: `tokens per example not measured: ${tokens.measured ? '' : tokens.why} (0)` };
  if (estimate && Number.isFinite(minCost) && estimate.cost_usd > 0) {
    const points = (0.3 * minCost) / estimate.cost_usd;
    out.cost = { points, reason: `~$${estimate.cost_usd.toFixed(2)} and ~${estimate.seconds} s to train on ${estimate.backend} (${estimate.device}) (+${round(points)})` };
  } else if (estimate) out.cost = { points: 0, reason: `~${estimate.seconds} s on ${estimate.backend} (${estimate.device}); ${estimate.cost_usd === 0 ? 'no price quoted' : ''} (0)` };
  return out;
}

/** Says which components put the first candidate above the second, by how much. */
export function whyTop(ranked: Array<{ entry: CatalogueEntry; components: Record<string, Component>; score: number }>): string {
  const [top, next] = ranked;
  if (!top) return 'No catalogue model satisfies every constraint: see excluded.by_constraint for the constraint to relax.';
  if (!next) return `${top.entry.id} is the only catalogue model that satisfies every constraint.`;
  const ahead = Object.entries(top.components)
    .filter(([key, c]) => c.points > (next.components[key]?.points ?? 0) + 1e-9)
    .map(([key, c]) => `${key} (${c.reason})`);
  const behind = Object.entries(next.components)
    .filter(([key, c]) => c.points > (top.components[key]?.points ?? 0) + 1e-9)
    .map(([key]) => key);
  return (
    `${top.entry.id} (score ${round(top.score)}) ranks above ${next.entry.id} (${round(next.score)}) on ${ahead.join('; ')}` +
    `${behind.length ? `; ${next.entry.id} leads on ${behind.join(', ')} but not by enough` : ''}. Every candidate listed satisfies every constraint.`
  );
}

export function fmtParams(n: number): string {
  return n >= 1e9 ? `${round(n / 1e9)}B` : `${round(n / 1e6)}M`;
}

export const round = (x: number) => Math.round(x * 100) / 100;
