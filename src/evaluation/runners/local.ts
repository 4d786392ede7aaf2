import type { RuntimeModel } from '../../../plugins/local/engine/index.js';
import { Renderer, type TokenizedExample } from '../../../plugins/local/trainer/render.js';
import { FinetuneError } from '../../errors.js';
import type { EvalCase } from '../cases.js';
import type { ResolvedModel } from '../model-ref.js';

/** The engine (ONNX graph builder, ops, runtime) loads with the first local model, not at start-up. */
const engine = () => import('../../../plugins/local/engine/index.js');

/** Scores of one case: log-likelihood over every token after BOS, and over the answer tokens only. */
export interface CaseScore {
  nll: number;
  tokens: number;
  answer_nll: number;
  answer_tokens: number;
}

/**
 * A local model on the engine. Rows are rendered exactly as the trainer renders them (chat template
 * or plain format, BOS when the tokenizer adds it), without the trailing EOS.
 */
export class LocalRunner {
  private constructor(
    readonly model: RuntimeModel,
    private readonly renderer: Renderer,
    readonly resolved: ResolvedModel,
  ) {}

  static async open(resolved: ResolvedModel): Promise<LocalRunner> {
    const model = await (await engine()).loadRuntimeModel(resolved.base_dir, resolved.adapter_dir ? { adapter_dir: resolved.adapter_dir } : {});
    if (!model.tokenizer) {
      throw new FinetuneError('MODEL_UNSUPPORTED', `Model folder ${resolved.base_dir} has no tokenizer.json; evaluation needs one.`, { details: { file: resolved.base_dir } });
    }
    return new LocalRunner(model, new Renderer(model.tokenizer, 'completion'), resolved);
  }

  get provider(): string {
    return this.model.provider;
  }

  /** ids with BOS and no EOS; mask marks the answer tokens (all tokens for text rows). */
  tokenize(c: EvalCase, file: string): TokenizedExample {
    const where = { file, line: c.line };
    let rendered: TokenizedExample;
    if (c.task === 'text') rendered = this.renderer.sft({ text: c.text ?? '' }, 'text', where);
    else if (c.task === 'chat' || c.task === 'preference') rendered = this.renderer.sft({ messages: [...c.messages, { role: 'assistant', content: c.reference }] }, 'chat', where);
    else rendered = this.renderer.sft({ prompt: classificationAware(c), completion: c.reference }, 'completion', where);
    const eos = this.model.tokenizer!.eos_token_id;
    const ids = [...rendered.ids];
    const mask = [...rendered.mask];
    if (eos !== null && ids.length > 1 && ids[ids.length - 1] === eos) {
      ids.pop();
      mask.pop();
    }
    const limit = this.model.arch.max_positions;
    return { ids: ids.slice(0, limit), mask: mask.slice(0, limit) };
  }

  /** Log-likelihoods of a batch of cases (one engine call). */
  async score(cases: EvalCase[], file: string, withAnswers = true): Promise<CaseScore[]> {
    const rows = cases.map((c) => this.tokenize(c, file));
    const usable = rows.map((r) => r.ids.length >= 2);
    const idx = rows.map((_, i) => i).filter((i) => usable[i]);
    if (!idx.length) return rows.map(() => ({ nll: 0, tokens: 0, answer_nll: 0, answer_tokens: 0 }));
    const { scoreSequences } = await engine();
    const all = await scoreSequences(this.model, { input_ids: idx.map((i) => rows[i].ids) });
    // Text rows carry loss on every token, so their answer scores equal the full ones: one engine call.
    const answers = withAnswers && cases.some((c) => c.task !== 'text') ? await scoreSequences(this.model, { input_ids: idx.map((i) => rows[i].ids), loss_mask: idx.map((i) => rows[i].mask) }) : all;
    const out: CaseScore[] = rows.map(() => ({ nll: 0, tokens: 0, answer_nll: 0, answer_tokens: 0 }));
    idx.forEach((i, k) => {
      out[i] = { nll: -all.logps[k], tokens: all.tokens[k], answer_nll: -answers.logps[k], answer_tokens: answers.tokens[k] };
    });
    return out;
  }

  /** Greedy continuation of the prompt part of a case (the tokens before its answer). */
  async generate(c: EvalCase, file: string, maxTokens: number, signal?: AbortSignal): Promise<string> {
    const { ids, mask } = this.tokenize(c, file);
    const firstAnswer = mask.indexOf(1);
    const prompt = firstAnswer > 0 ? ids.slice(0, firstAnswer) : ids;
    const out = await (await engine()).generate(this.model, { input_ids: prompt, max_tokens: maxTokens, temperature: 0, signal });
    return c.task === 'classification' ? out.text.trim().split('\n')[0].trim() : out.text;
  }
}

/** Classification rows are scored and generated as completions of `text\n` with the label. */
function classificationAware(c: EvalCase): string {
  return c.task === 'classification' ? `${c.prompt}\n` : c.prompt;
}
