import type { CanonicalRow, ChatRow, TaskType } from '../datasets/types.js';
import { FinetuneError } from '../errors.js';
import type { Services } from '../services.js';
import { flagRows, type FilterContext, type ReferencedRow } from './filters.js';
import { cancelled, runRequests, selectGenerator, type GenerationFailure, type GenerationRequest, type GenerationTotals } from './generator.js';
import { PROMPT_TEMPLATES } from './prompts.js';
import { ReviewQueueStore } from './queue-store.js';
import { listDocuments, type SkippedDocument } from './documents.js';
import { DOCUMENT_KINDS, documentUnits, seedUnits, type GenerationUnit, type PlannedUnit } from './sources.js';
import { KIND_TASK, type CandidateRow, type FlagCode, type GenerationKind, type ReviewQueueRecord } from './types.js';

interface GenerateDatasetInput {
  source: { documents: string[]; chunk_tokens?: number } | { seed_dataset_id: string };
  kind: GenerationKind;
  count: number;
  generator?: string;
  model?: string;
  language?: string;
  guidance?: string;
  eval_dataset_id?: string;
  name?: string;
  seed?: number;
}

interface GenerateDatasetResult {
  queue: ReviewQueueRecord;
  flagged: Partial<Record<FlagCode, number>>;
  failures: GenerationFailure[];
  /** What the document folders held that is not read, with why. */
  skipped: SkippedDocument[];
  totals: GenerationTotals;
}

/** Rows asked of one structured request; a unit with more is asked in several requests. */
const ROWS_PER_REQUEST = 5;
const DEFAULT_CHUNK_TOKENS = 512;

/**
 * generate_dataset: candidate rows from documents or seed rows, flagged, held in a new review queue
 * (docs/data-generation.md). No dataset version is written; nothing at all when the call fails or is
 * cancelled (the queue and its rows are one transaction at the end).
 */
export async function generateDataset(
  services: Services,
  input: GenerateDatasetInput,
  options: { signal?: AbortSignal; progress?: (done: number, total: number, message: string) => void } = {},
): Promise<GenerateDatasetResult> {
  const { kind } = input;
  const fromDocuments = 'documents' in input.source;
  if (fromDocuments !== DOCUMENT_KINDS.includes(kind)) {
    throw new FinetuneError('INVALID_INPUT', `kind '${kind}' works from ${fromDocuments ? 'a seed dataset' : 'documents'}; source gives ${fromDocuments ? 'documents' : 'a seed dataset'}.`, {
      recovery: fromDocuments ? 'Pass source {seed_dataset_id: "ds_…"} for paraphrase and preference_negatives.' : 'Pass source {documents: [paths]} for qa, instructions and triplets.',
      details: { field: 'kind' },
    });
  }
  const seed = input.seed ?? 0;
  // The generator, the tokenizer and the evaluation set first: a missing endpoint or an unknown id is
  // said before the documents are read.
  const generator = await selectGenerator(services, input.generator);
  const counter = await services.datasets.counter(input.model);
  if (input.eval_dataset_id) checkEvalDataset(services, input.eval_dataset_id);
  let planned: PlannedUnit[];
  let taskType: TaskType;
  let source: ReviewQueueRecord['source'];
  let skipped: SkippedDocument[] = [];
  if ('documents' in input.source) {
    const paths = input.source.documents.map((path, i) => services.workspace.resolveUserPath(path, `source.documents[${i}]`));
    const files = listDocuments(input.source.documents, (path, field) => services.workspace.resolveUserPath(path, field));
    skipped = files.skipped;
    planned = await documentUnits(files, { kind, count: input.count, chunk_tokens: input.source.chunk_tokens ?? DEFAULT_CHUNK_TOKENS, counter: (text) => counter.count(text), seed });
    taskType = KIND_TASK[kind as keyof typeof KIND_TASK];
    source = { documents: paths };
  } else {
    const seeds = await seedUnits(services, input.source.seed_dataset_id, { kind, count: input.count, signal: options.signal });
    planned = seeds.planned;
    taskType = seeds.task_type;
    source = { seed_dataset_id: input.source.seed_dataset_id };
  }

  // Requests in unit order, each for at most ROWS_PER_REQUEST rows (one for plain-text prompts).
  const perRequest = generator.structured ? ROWS_PER_REQUEST : 1;
  const failures: GenerationFailure[] = [];
  const requests: Array<GenerationRequest & { unit: GenerationUnit }> = [];
  for (const { unit, n } of planned) {
    if ('problem' in unit) {
      failures.push({ ref: unit.ref, reason: unit.problem, missing: n, attempts: 0 });
      continue;
    }
    for (let left = n; left > 0; left -= perRequest) {
      requests.push({ ref: unit.ref, n: Math.min(perRequest, left), unit, input: { subject: unit.subject, language: input.language, guidance: input.guidance } });
    }
  }
  const run = await runRequests(generator, kind, requests, {
    seed,
    signal: options.signal,
    onRequest: (done, total) => options.progress?.(done, total, `${done} of ${total} generation requests answered`),
  });
  failures.push(...run.failures);

  const generatedAt = new Date().toISOString();
  const template = PROMPT_TEMPLATES[kind];
  const candidates: CandidateRow[] = [];
  const seen = new Map<GenerationUnit, number>();
  requests.forEach((request, r) => {
    for (const item of run.items[r]) {
      const j = seen.get(request.unit) ?? 0;
      seen.set(request.unit, j + 1);
      const row: CanonicalRow = request.unit.row(item, j);
      candidates.push({
        row,
        context: request.unit.context,
        provenance: { source: request.unit.source, generator: generator.record, prompt_template: { id: template.id, version: template.version }, generated_at: generatedAt },
      });
    }
  });
  if (!candidates.length) {
    const first = failures.slice(0, 3).map((f) => `${f.ref}: ${f.reason}`).join('; ');
    throw new FinetuneError('UPSTREAM_ERROR', `The generator (${generator.used}) wrote no usable row in ${run.totals.attempts} attempts; nothing was stored. ${first}`, {
      recovery: 'Read the reasons: a model that cannot follow the format needs a larger generator (the generator argument, e.g. "together:…", or generator.base_url); raise generator.max_tokens when answers were cut.',
      details: { field: 'generator' },
    });
  }
  const flags = await flagRows(candidates, {
    counter,
    ...('seed_dataset_id' in source ? { existing: datasetRows(services, source.seed_dataset_id, options.signal) } : {}),
    ...(input.eval_dataset_id ? { evaluation: datasetRows(services, input.eval_dataset_id, options.signal) } : {}),
    ...(kind === 'qa' || kind === 'instructions' ? { judge: await faithfulnessJudge(services, options.signal) } : {}),
  });
  cancelled(options.signal);
  const flagged: Partial<Record<FlagCode, number>> = {};
  for (const code of flags.flatMap((f) => [...new Set(f.map((flag) => flag.code))])) flagged[code] = (flagged[code] ?? 0) + 1;

  const queue = new ReviewQueueStore(services.workspace).create(
    {
      name: input.name ?? null,
      kind,
      task_type: taskType,
      source,
      generator: generator.record,
      params: {
        count: input.count,
        seed,
        ...(input.language ? { language: input.language } : {}),
        ...(input.guidance ? { guidance: input.guidance } : {}),
        ...('documents' in input.source ? { chunk_tokens: input.source.chunk_tokens ?? DEFAULT_CHUNK_TOKENS } : {}),
        ...(input.model ? { model: input.model } : {}),
        ...(input.eval_dataset_id ? { eval_dataset_id: input.eval_dataset_id } : {}),
        tokenizer: counter.name,
      },
      report: {
        requested: input.count,
        generated: candidates.length,
        failed: failures.reduce((sum, f) => sum + f.missing, 0),
        failures,
        ...('documents' in input.source ? { skipped_documents: skipped } : {}),
        flagged,
        prompt_template: { id: template.id, version: template.version },
        ...run.totals,
      },
    },
    candidates.map((c, i) => ({ ...c, flags: flags[i] })),
  );
  return { queue, flagged, failures, skipped, totals: run.totals };
}

function checkEvalDataset(services: Services, id: string): void {
  try {
    services.datasets.get(id);
  } catch (error) {
    if (!(error instanceof FinetuneError) || error.code !== 'NOT_FOUND') throw error;
    throw new FinetuneError('NOT_FOUND', `No evaluation dataset version '${id}'.`, { recovery: 'Call list_datasets for existing ids, or leave eval_dataset_id out.', details: { field: 'eval_dataset_id' } });
  }
}

/** A dataset version's rows as the filters name them (`<dataset_id>:<line>`), streamed. */
async function* datasetRows(services: Services, id: string, signal?: AbortSignal): AsyncIterable<ReferencedRow> {
  for await (const { line, row } of services.datasets.rows(id, undefined, signal)) yield { ref: `${id}:${line}`, row };
}

/** An answer the judge scores under this (of 1, on the faithfulness rubric) is flagged `unfaithful`: 0.5 is "some unsupported detail". */
const FAITHFUL_SCORE = 0.75;

/**
 * The configured judge (config `judge`) asked whether each answer is supported by its chunk, when one
 * is configured; none otherwise (the lexical `unsupported` check still runs). A judge that gives no
 * verdict flags the row with that reason: a reviewer looks, nothing is guessed.
 */
async function faithfulnessJudge(services: Services, signal?: AbortSignal): Promise<FilterContext['judge']> {
  const { judgeConfigured, selectOutputScorer } = await import('../evaluation/judges/select.js');
  if (!judgeConfigured(services)) return undefined;
  const { resolveRubric } = await import('../evaluation/judges/rubrics.js');
  const { scorer } = await selectOutputScorer(services, 'endpoint', undefined);
  const rubric = resolveRubric('faithfulness');
  return async ({ context, row }) => {
    const messages = (row as ChatRow).messages;
    const verdict = await scorer.score({ input: messages.slice(0, -1), output: messages[messages.length - 1]?.content ?? '', context }, rubric, signal);
    if (!verdict.ok) return { supported: false, reason: `no verdict from the judge (${verdict.error})` };
    return { supported: verdict.score >= FAITHFUL_SCORE, reason: `faithfulness ${verdict.score}: ${verdict.reason}` };
  };
}
