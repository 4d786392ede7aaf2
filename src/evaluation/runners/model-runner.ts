import { FinetuneError } from '../../errors.js';
import type { InferenceProvider, LocalModelFiles, ScoreItem, SequenceScore } from '../../plugins/providers.js';
import type { EvalCase } from '../cases.js';

/** Scores of one case: log-likelihood over every token after BOS, and over the answer tokens only. */
export type CaseScore = SequenceScore;

/**
 * One model on its inference provider, as evaluation runs it: greedy generation (temperature 0,
 * seed 0) of each case's answer and, when the provider has token probabilities, teacher-forced scores.
 */
export class ModelRunner {
  private runtime: string | undefined;

  constructor(
    private readonly inference: InferenceProvider,
    /** The inference plugin's name, e.g. "local", "together". */
    readonly plugin: string,
    /** The model as the provider names it: the reference without its `<plugin>:` prefix. */
    readonly model: string,
    private readonly localModel?: LocalModelFiles,
  ) {}

  /** Whether perplexity and token loss can be computed (the provider returns log-likelihoods). */
  get canScore(): boolean {
    return typeof this.inference.score === 'function';
  }

  /** Who ran the model: the engine's execution provider (e.g. "cpu") once it ran, else the plugin name. */
  get provider(): string {
    return this.runtime ?? this.plugin;
  }

  async generate(c: EvalCase, maxTokens: number, signal?: AbortSignal): Promise<string> {
    if (!c.messages.length && !this.localModel) throw new FinetuneError('INVALID_INPUT', `Row ${c.line} has no prompt for a chat model.`, { details: { line: c.line } });
    const out = await this.inference.generate({
      model: this.model,
      messages: c.messages,
      ...(c.task === 'completion' || c.task === 'classification' ? { prompt: plainPrompt(c) } : {}),
      max_tokens: maxTokens,
      temperature: 0,
      seed: 0,
      signal,
      ...(this.localModel ? { local_model: this.localModel } : {}),
    });
    if (out.runtime) this.runtime = out.runtime;
    return c.task === 'classification' ? out.text.trim().split('\n')[0].trim() : out.text;
  }

  /** The model's head (classifier labels, or an embedding model), null for a language model or a provider without heads. */
  async head(): Promise<{ task: 'classification' | 'embedding'; labels: string[] } | null> {
    return this.inference.head ? this.inference.head(this.headRequest()) : null;
  }

  async classify(texts: string[], signal?: AbortSignal): Promise<Array<{ label: string; probabilities: Record<string, number> }>> {
    if (!this.inference.classify) throw new FinetuneError('CAPABILITY_UNSUPPORTED', `The ${this.plugin} provider runs no classification heads.`, { details: { field: 'model_id' } });
    return this.inference.classify({ ...this.headRequest(), texts, ...(signal ? { signal } : {}) });
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (!this.inference.embed) {
      throw new FinetuneError('CAPABILITY_UNSUPPORTED', `The ${this.plugin} provider computes no embeddings: retrieval metrics need a model on this machine.`, { details: { field: 'model_id' } });
    }
    return this.inference.embed({ ...this.headRequest(), texts, ...(signal ? { signal } : {}) });
  }

  private headRequest() {
    return { model: this.model, ...(this.localModel ? { local_model: this.localModel } : {}) };
  }

  /** Log-likelihoods of a batch of cases (one provider call). */
  async score(cases: EvalCase[], file: string, withAnswers = true, signal?: AbortSignal): Promise<CaseScore[]> {
    if (!this.inference.score) {
      throw new FinetuneError('CAPABILITY_UNSUPPORTED', `The ${this.plugin} provider returns no token log-probabilities for ${this.model}.`, {
        recovery: 'Ask for text or label metrics (bleu, chrf, rouge_l, exact_match, f1, accuracy), or evaluate a local model.',
        details: { field: 'metrics' },
      });
    }
    const scores = await this.inference.score({
      model: this.model,
      items: cases.map(scoreItem),
      answers: withAnswers,
      file,
      signal,
      ...(this.localModel ? { local_model: this.localModel } : {}),
    });
    const runtime = scores.find((s) => s.runtime)?.runtime;
    if (runtime) this.runtime = runtime;
    return scores;
  }
}

/** A case as the sequence to score: its text, or its prompt (plain or chat) followed by the reference answer. */
function scoreItem(c: EvalCase): ScoreItem {
  if (c.task === 'text') return { text: c.text ?? '', line: c.line };
  if (c.task === 'chat' || c.task === 'preference') return { messages: c.messages, answer: c.reference, line: c.line };
  return { prompt: plainPrompt(c), answer: c.reference, line: c.line };
}

/** Classification rows are scored and generated as completions of `text\n` with the label. */
function plainPrompt(c: EvalCase): string {
  return c.task === 'classification' ? `${c.prompt}\n` : c.prompt;
}
