import { FinetuneError } from '../../src/errors.js';
import type { HeadRequest, InferenceProvider, InferenceRequest, LocalModelFiles, ScoreItem, ScoreRequest, SequenceScore } from '../../src/plugins/providers.js';
import type { HeadModel } from './engine/heads/model.js';
import type { RuntimeModel } from './engine/index.js';
import { Renderer, type TokenizedExample } from './trainer/render.js';

/** The engine (ONNX graph builder, ops, runtime) loads with the first local model, not at start-up. */
const engine = () => import('./engine/index.js');
const heads = () => import('./engine/heads/model.js');

interface OpenModel {
  model: RuntimeModel;
  renderer: Renderer;
}

/**
 * The local engine as an inference provider: greedy or sampled generation and teacher-forced
 * scoring of models on this machine. Rows are rendered exactly as the trainer renders them (chat
 * template or plain format, BOS when the tokenizer adds it), without the trailing EOS.
 */
export class LocalInference implements InferenceProvider {
  /** Renderers per loaded model; the engine itself caches the loaded models. */
  private readonly renderers = new WeakMap<RuntimeModel, Renderer>();

  async generate(request: InferenceRequest) {
    const { model, renderer } = await this.open(request.local_model, request.model);
    const ids = promptIds(renderer, request, model.arch.max_positions);
    const out = await (await engine()).generate(model, {
      input_ids: ids,
      max_tokens: request.max_tokens,
      temperature: request.temperature ?? 0,
      top_p: request.top_p,
      stop: request.stop,
      seed: request.seed,
      signal: request.signal,
      on_text: request.on_text,
    });
    return { text: out.text, finish_reason: out.finish_reason, usage: { prompt_tokens: ids.length, completion_tokens: out.tokens.length }, runtime: model.provider };
  }

  /** Log-likelihoods of a batch of items in one engine call (two when answers are scored apart). */
  async score(request: ScoreRequest): Promise<SequenceScore[]> {
    const { model, renderer } = await this.open(request.local_model, request.model);
    const file = request.file ?? request.model;
    const rows = request.items.map((item, i) => tokenize(renderer, item, { file, line: item.line ?? i + 1 }, model));
    const empty = (): SequenceScore => ({ nll: 0, tokens: 0, answer_nll: 0, answer_tokens: 0, runtime: model.provider });
    const idx = rows.map((_, i) => i).filter((i) => rows[i].ids.length >= 2);
    if (!idx.length) return rows.map(empty);
    const { scoreSequences } = await engine();
    const all = await scoreSequences(model, { input_ids: idx.map((i) => rows[i].ids) });
    // Text items carry loss on every token, so their answer scores equal the full ones: one engine call.
    const withAnswers = (request.answers ?? true) && request.items.some((item) => item.text === undefined);
    const answers = withAnswers ? await scoreSequences(model, { input_ids: idx.map((i) => rows[i].ids), loss_mask: idx.map((i) => rows[i].mask) }) : all;
    const out = rows.map(empty);
    idx.forEach((i, k) => {
      out[i] = { nll: -all.logps[k], tokens: all.tokens[k], answer_nll: -answers.logps[k], answer_tokens: answers.tokens[k], runtime: model.provider };
    });
    return out;
  }

  async head(request: HeadRequest) {
    const files = this.files(request.local_model, request.model);
    const { describeHead } = await heads();
    return describeHead(files.base_dir, files.adapter_dir);
  }

  async classify(request: HeadRequest & { texts: string[] }) {
    return (await heads()).classifyTexts(await this.openHead(request), request.texts);
  }

  async embed(request: HeadRequest & { texts: string[] }) {
    return (await heads()).embedTexts(await this.openHead(request), request.texts);
  }

  /** The last model with a head, kept loaded (an evaluation asks for queries, then the corpus). */
  private headModel: { key: string; model: Promise<HeadModel> } | null = null;

  private async openHead(request: HeadRequest): Promise<HeadModel> {
    const files = this.files(request.local_model, request.model);
    const key = `${files.base_dir}|${files.adapter_dir ?? ''}`;
    if (this.headModel?.key !== key) {
      const previous = this.headModel;
      const { loadHeadModel, releaseHeadModel } = await heads();
      this.headModel = { key, model: loadHeadModel(files.base_dir, files.adapter_dir) };
      if (previous) await releaseHeadModel(await previous.model).catch(() => undefined);
    }
    return this.headModel.model;
  }

  private files(files: LocalModelFiles | undefined, label: string): LocalModelFiles {
    if (!files) {
      throw new FinetuneError('INVALID_INPUT', `The local engine runs models on this machine; '${label}' names none.`, {
        recovery: 'Pass model_id (mdl_…), job_id, version or adapter_path; call list_models to see the imported models.',
        details: { field: 'model_id' },
      });
    }
    return files;
  }

  private async open(local: LocalModelFiles | undefined, label: string): Promise<OpenModel> {
    const files = this.files(local, label);
    const model = await (await engine()).loadRuntimeModel(files.base_dir, files.adapter_dir ? { adapter_dir: files.adapter_dir } : {});
    if (!model.tokenizer) {
      throw new FinetuneError('MODEL_UNSUPPORTED', `Model folder ${files.base_dir} has no tokenizer.json; evaluation needs one.`, { details: { file: files.base_dir } });
    }
    let renderer = this.renderers.get(model);
    if (!renderer) this.renderers.set(model, (renderer = new Renderer(model.tokenizer, 'completion')));
    return { model, renderer };
  }
}

/** ids with BOS and no EOS, cut to the context; mask marks the answer tokens (all tokens for text). */
function tokenize(renderer: Renderer, item: ScoreItem, where: { file: string; line: number }, model: RuntimeModel): TokenizedExample {
  let rendered: TokenizedExample;
  if (item.text !== undefined) rendered = renderer.sft({ text: item.text }, 'text', where);
  else if (item.prompt === undefined) rendered = renderer.sft({ messages: [...(item.messages ?? []), { role: 'assistant', content: item.answer ?? '' }] }, 'chat', where);
  else rendered = renderer.sft({ prompt: item.prompt, completion: item.answer ?? '' }, 'completion', where);
  const eos = model.tokenizer!.eos_token_id;
  const ids = [...rendered.ids];
  const mask = [...rendered.mask];
  if (eos !== null && ids.length > 1 && ids[ids.length - 1] === eos) {
    ids.pop();
    mask.pop();
  }
  const limit = model.arch.max_positions;
  return { ids: ids.slice(0, limit), mask: mask.slice(0, limit) };
}

/**
 * The tokens before the answer, as the trainer renders them: the row is rendered with a stand-in
 * answer (a word after a space, as answers usually start) and cut where the answer begins, so the
 * prompt ends where it ended in training (e.g. a prompt's trailing space merges into the answer's first token).
 */
function promptIds(renderer: Renderer, request: InferenceRequest, maxPositions: number): number[] {
  const where = { file: request.model, line: 1 };
  const rendered =
    request.prompt !== undefined
      ? renderer.sft({ prompt: request.prompt, completion: /\s$/u.test(request.prompt) ? 'x' : ' x' }, 'completion', where)
      : renderer.sft({ messages: [...request.messages, { role: 'assistant', content: 'x' }] }, 'chat', where);
  const firstAnswer = rendered.mask.indexOf(1);
  return (firstAnswer > 0 ? rendered.ids.slice(0, firstAnswer) : rendered.ids).slice(0, maxPositions);
}
