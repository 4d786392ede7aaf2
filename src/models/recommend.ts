import { basename } from 'node:path';
import { FinetuneError } from '../errors.js';
import type { TaskType } from '../datasets/types.js';
import { exampleTokensAside } from '../datasets/row-text.js';
import { localCounter } from '../datasets/tokenizers.js';
import type { Services } from '../services.js';
import { defaultPolicy } from '../training/config-schema.js';
import { estimateResources, memoryEstimate } from '../training/estimate.js';
import { resolveDataset, type DatasetFacts, type ModelFacts } from '../training/inputs.js';
import type { StoredConfig } from '../training/ledger.js';
import { resolveHyperparameters } from '../training/templates.js';
import { loadCatalogue } from './catalogue.js';
import type { CATALOGUE_TASKS, CatalogueEntry } from './catalogue-schema.js';
import { parseHardware, type Hardware } from './hardware.js';
import { fmtParams, round, scoreComponents, whyTop, type RunEstimate, type TokensPerExample } from './recommend-rank.js';

interface RecommendRequest {
  task: (typeof CATALOGUE_TASKS)[number];
  languages?: string[];
  max_params?: number;
  min_context?: number;
  licence?: 'commercial' | 'research' | 'any';
  hardware?: string;
  backend?: string;
  budget_usd?: number;
  dataset_id?: string;
  limit?: number;
}

const CONSTRAINTS = ['task', 'licence', 'max_params', 'min_context', 'languages', 'hardware', 'budget_usd'] as const;
type Constraint = (typeof CONSTRAINTS)[number];

/** The run every candidate's memory and time are estimated for: SFT with the efficient template (batch 4 × 1024 tokens, LoRA r 8). */
const TEMPLATE = 'efficient';
/** Fraction of a GPU's memory a run may plan on: the estimator leaves framework overhead out (keep 10–20 % headroom). */
const USABLE = 0.9;
/** Rows of the dataset tokenized with each candidate's tokenizer. */
const SAMPLE_ROWS = 200;
/** Sequence whose KV cache the serving estimate holds (or the model's context, when shorter). */
const SERVE_SEQ = 4096;
const GB = 1024 ** 3;

export async function recommendBaseModel(services: Services, request: RecommendRequest) {
  const catalogue = loadCatalogue(services.config.models.catalogue);
  const hardware = request.hardware === undefined ? undefined : parseHardware(request.hardware, services.config.training.devices);
  const languages = (request.languages ?? []).map((l) => l.trim().toLowerCase());
  const licence = request.licence ?? 'any';
  if (request.backend !== undefined) await services.plugins.get('training_backend', request.backend).catch(backendRefused(services, request.backend));
  const dataset = request.dataset_id === undefined ? undefined : await resolveDataset(services, request.dataset_id);
  const hyperparameters = resolveHyperparameters(TEMPLATE);
  const notes: string[] = [];

  const excluded: Array<{ id: string; failed: string[] }> = [];
  const byConstraint = Object.fromEntries(CONSTRAINTS.map((c) => [c, 0])) as Record<Constraint, number>;
  const passing: Array<{ entry: CatalogueEntry; memory: ReturnType<typeof memoryFit>; facts: ModelFacts }> = [];
  for (const entry of catalogue.entries) {
    const failed: Array<[Constraint, string]> = [];
    if (!entry.tasks.includes(request.task)) failed.push(['task', `a base for ${entry.tasks.join(', ')}, not ${request.task}`]);
    if (licence === 'commercial' && entry.licence.commercial === 'no') failed.push(['licence', `${entry.licence.id}: no commercial use (${entry.licence.url})`]);
    const P = entry.parameters?.value;
    if (request.max_params !== undefined && !(P !== undefined && P <= request.max_params)) failed.push(['max_params', P === undefined ? 'parameter count not verified' : `${fmtParams(P)} parameters > ${fmtParams(request.max_params)}`]);
    const ctx = entry.context_length?.value;
    if (request.min_context !== undefined && !(ctx !== undefined && ctx >= request.min_context)) failed.push(['min_context', ctx === undefined ? 'context length not verified' : `context ${ctx} < ${request.min_context}`]);
    const missing = languages.filter((l) => !entry.languages?.value.named.includes(l));
    if (missing.length) failed.push(['languages', languageMiss(entry, missing)]);
    const facts = modelFacts(entry);
    const memory = memoryFit(entry, facts, hyperparameters, hardware);
    if (hardware && memory.fits && !(memory.fits.training && memory.fits.serving)) failed.push(['hardware', memory.fits.why]);
    if (failed.length) {
      for (const [c] of failed) byConstraint[c]++;
      excluded.push({ id: entry.id, failed: failed.map(([c, why]) => `${c}: ${why}`) });
    } else passing.push({ entry, memory, facts });
  }

  const tokens = new Map<string, TokensPerExample>();
  if (dataset) for (const { entry } of passing) tokens.set(entry.id, await measureTokens(services, entry, dataset));
  const estimates = new Map<string, RunEstimate>();
  if (dataset && request.backend) {
    for (const { entry, memory, facts } of passing) estimates.set(entry.id, await estimateRun(services, request.backend, dataset, entry, facts, memory.approach));
    notes.push(`Whether '${request.backend}' can train each architecture is not checked here: plan_training validates the config before any run.`);
  } else {
    const need = [request.dataset_id ? '' : 'dataset_id (its token counts)', request.backend ? '' : 'backend (its devices and prices)'].filter(Boolean).join(' and ');
    notes.push(`Training time and cost not estimated: pass ${need} to get them.`);
  }

  let candidates = passing;
  if (request.budget_usd !== undefined) {
    if (estimates.size === 0) notes.push('budget_usd not checked: it needs the cost estimate (dataset_id and backend).');
    else {
      candidates = passing.filter(({ entry }) => {
        const cost = estimates.get(entry.id)?.cost_usd ?? 0;
        if (cost <= request.budget_usd!) return true;
        byConstraint.budget_usd++;
        excluded.push({ id: entry.id, failed: [`budget_usd: estimated $${cost.toFixed(2)} > $${request.budget_usd}`] });
        return false;
      });
    }
  }

  const minTokens = Math.min(...[...tokens.values()].flatMap((t) => (t.measured ? [t.mean] : [])));
  const minCost = Math.min(...[...estimates.values()].flatMap((e) => (e.cost_usd > 0 ? [e.cost_usd] : [])));
  const ranked = candidates
    .map(({ entry, memory }) => {
      const measured = tokens.get(entry.id);
      const estimate = estimates.get(entry.id);
      const components = scoreComponents(entry, memory, measured, minTokens, estimate, minCost);
      const score = Object.values(components).reduce((s, c) => s + c.points, 0);
      return { entry, memory, measured, estimate, components, score };
    })
    .sort((a, b) => b.score - a.score || a.entry.id.localeCompare(b.entry.id));

  if (!hardware) notes.push('No hardware given: memory is reported but not checked, so larger models rank higher whatever they need; pass hardware, e.g. "1x24GB".');
  if (hardware) notes.push('Serving is checked in bfloat16: a model served quantised (int8, int4) needs about a half or a quarter of serving_gb.');
  const limit = request.limit ?? 5;
  return {
    catalogue: { as_of: catalogue.as_of, entries: catalogue.entries.length, from_config: [...catalogue.from_config] },
    constraints: {
      task: request.task,
      languages,
      licence,
      ...(request.max_params !== undefined ? { max_params: request.max_params } : {}),
      ...(request.min_context !== undefined ? { min_context: request.min_context } : {}),
      ...(hardware ? { hardware: { text: hardware.text, gpus: hardware.count, memory_gb_per_gpu: hardware.memory_gb, ...(hardware.device ? { device: hardware.device } : {}) } } : {}),
      ...(request.budget_usd !== undefined ? { budget_usd: request.budget_usd } : {}),
    },
    memory_basis: memoryBasis(hyperparameters),
    candidates_total: ranked.length,
    candidates: ranked.slice(0, limit).map((r, i) => ({
      rank: i + 1,
      id: r.entry.id,
      family: r.entry.family,
      score: round(r.score),
      reasons: Object.values(r.components).map((c) => c.reason),
      facts: {
        parameters: r.entry.parameters,
        context_length: r.entry.context_length,
        languages: r.entry.languages,
        licence: r.entry.licence,
        chat_template: r.entry.chat_template,
        tokenizer: r.entry.tokenizer,
        architecture: r.entry.architecture,
      },
      memory: r.memory.report,
      tokens_per_example: r.measured ?? { measured: false, why: 'no dataset_id given' },
      training_estimate: r.estimate ?? null,
      next: `import_model {source: "${r.entry.id}"}`,
    })),
    why_top: whyTop(ranked),
    excluded: { total: excluded.length, by_constraint: byConstraint, models: excluded },
    notes,
  };
}

function backendRefused(services: Services, name: string): (error: unknown) => never {
  return () => {
    const names = services.plugins.providersOf('training_backend').map((s) => s.name);
    throw new FinetuneError('INVALID_INPUT', `backend '${name}' is not an enabled training backend. Enabled: ${names.join(', ') || 'none'}.`, {
      recovery: 'Pass one of the enabled backends (list_backends says why others are disabled), or leave backend out.',
      details: { field: 'backend' },
    });
  };
}

function languageMiss(entry: CatalogueEntry, missing: string[]): string {
  if (!entry.languages) return `languages not verified in the catalogue (need ${missing.join(', ')})`;
  const claim = entry.languages.value.claim ? ` (it claims ${entry.languages.value.claim} without naming them)` : '';
  return `the source does not name ${missing.join(', ')}${claim}`;
}

/** What the estimator needs to know of a catalogue model: its size and, where recorded, its shape. */
function modelFacts(entry: CatalogueEntry): ModelFacts {
  const s = entry.shape?.value;
  return {
    model_id: entry.id,
    name: entry.id,
    parameters: entry.parameters?.value,
    ...(s ? { layers: s.layers, hidden_size: s.hidden_size, intermediate_size: s.intermediate_size, vocab_size: s.vocab_size, heads: s.heads, kv_heads: s.kv_heads, head_dim: s.head_dim, tied_embeddings: s.tied_embeddings } : {}),
    context_length: entry.context_length?.value,
    dtype: 'bfloat16',
    known: true,
  };
}

/**
 * Training memory for LoRA and QLoRA in bfloat16 (the estimator's formulas) and serving memory (bfloat16
 * weights plus one sequence's KV cache); against the hardware when one is given. Training must fit one
 * GPU (data-parallel copies the model); serving may be split over all of them (tensor parallel).
 */
function memoryFit(entry: CatalogueEntry, facts: ModelFacts, hyperparameters: StoredConfig['hyperparameters'], hardware: Hardware | undefined) {
  const assumptions: string[] = [];
  const lora = memoryEstimate({ method: 'sft', approach: 'lora', hyperparameters }, facts, 2, assumptions);
  const qlora = memoryEstimate({ method: 'sft', approach: 'qlora', hyperparameters }, facts, 2, []);
  const seq = Math.min(SERVE_SEQ, entry.context_length?.value ?? SERVE_SEQ);
  const kvWidth = facts.kv_heads && facts.heads && facts.hidden_size ? facts.kv_heads * (facts.head_dim ?? facts.hidden_size / facts.heads) : lora.shape.kv;
  const serving = (lora.parameters * 2 + 2 * lora.shape.layers * kvWidth * seq * 2) / GB;
  const report = {
    training_lora_gb: round(lora.total_gb),
    training_qlora_gb: round(qlora.total_gb),
    serving_gb: round(serving),
    // The memory headroom line is the same for every candidate: memoryBasis says it once.
    assumptions: [...new Set(assumptions)].filter((a) => !a.startsWith('Memory excludes framework overhead')),
  };
  if (!hardware) return { report, approach: 'lora' as const, fits: undefined };
  const perGpu = hardware.memory_gb * USABLE;
  const approach = lora.total_gb <= perGpu ? ('lora' as const) : ('qlora' as const);
  const training = qlora.total_gb <= perGpu;
  const servingFits = serving <= hardware.count * perGpu;
  const why = !training
    ? `training needs ${report.training_qlora_gb} GB even with QLoRA, over ${round(perGpu)} GB usable of one ${hardware.memory_gb} GB GPU`
    : `serving needs ${report.serving_gb} GB in bfloat16, over ${round(hardware.count * perGpu)} GB usable on ${hardware.count} GPU(s)`;
  return {
    report: { ...report, fits: { training: training ? approach : null, serving: servingFits, usable_gb_per_gpu: round(perGpu) } },
    approach,
    fits: { training, serving: servingFits, why },
  };
}

function memoryBasis(h: StoredConfig['hyperparameters']): string {
  return (
    `training: the estimate_resources formulas for SFT, ${TEMPLATE} template (batch ${h.batch_size} × ${h.max_seq_length} tokens, LoRA r ${h.lora_r}, all linear layers), bfloat16 with gradient checkpointing; ` +
    `serving: parameters × 2 bytes (bfloat16) + KV cache of one sequence of min(${SERVE_SEQ}, context) tokens (2 × layers × kv width × tokens × 2 bytes); ` +
    `fits: planned on ${USABLE * 100} % of a GPU's memory (framework overhead is not in the figures); training on one GPU (data-parallel copies the model), serving over all of them (tensor parallel).`
  );
}

/**
 * Mean tokens per example of the dataset's first rows with the candidate's own tokenizer: the
 * tokenizer.json of a workspace model imported from that Hub repo, or imported from a folder under
 * the repo id as its name. Without one it is not measured (and says so): no other tokenizer stands in.
 */
async function measureTokens(services: Services, entry: CatalogueEntry, dataset: DatasetFacts): Promise<TokensPerExample> {
  const id = entry.id.toLowerCase();
  const local = services.models.list().find((m) => (m.source_kind === 'hub' && m.source.toLowerCase() === id) || m.name.toLowerCase() === id);
  if (!local) {
    return { measured: false, why: `its tokenizer is not in the workspace: import_model {source: "${entry.id}"} (or a local copy with name: "${entry.id}") and ask again to measure` };
  }
  const counter = await localCounter(local.dir, entry.context_length?.value);
  let total = 0;
  let rows = 0;
  // The training split when the version has one, else all its rows.
  const split = basename(dataset.train_path) === 'train.jsonl' ? 'train' : undefined;
  for await (const { row } of services.datasets.rows(dataset.dataset_id, split)) {
    total += (await exampleTokensAside(counter, dataset.task_type as TaskType, row)).total;
    if (++rows >= SAMPLE_ROWS) break;
  }
  if (rows === 0) return { measured: false, why: `dataset ${dataset.dataset_id} has no rows` };
  return { measured: true, mean: round(total / rows), rows, tokenizer: `tokenizer.json of ${local.id} (${entry.id})` };
}

/** estimate_resources for the candidate on the named backend, as an SFT config of the efficient template that is never stored. */
async function estimateRun(services: Services, backend: string, dataset: DatasetFacts, entry: CatalogueEntry, facts: ModelFacts, approach: 'lora' | 'qlora'): Promise<RunEstimate> {
  const config: StoredConfig = {
    config_id: '(recommendation, not stored)',
    base_model: entry.id,
    dataset_id: dataset.dataset_id,
    method: 'sft',
    approach,
    backend,
    template: TEMPLATE,
    hyperparameters: resolveHyperparameters(TEMPLATE),
    backend_options: {},
    policy: defaultPolicy(),
    parent_config_id: null,
    created_at: new Date().toISOString(),
  };
  const estimate = await estimateResources(services, config, { inputs: { dataset, model: facts } });
  return {
    backend,
    approach,
    device: estimate.device,
    seconds: estimate.time.value,
    cost_usd: estimate.cost.value,
    tokens: estimate.tokens.total.value,
    formula: `${estimate.time.formula}; cost: ${estimate.cost.formula}`,
  };
}
