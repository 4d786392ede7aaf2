import type { Quote, QuoteBasis, TrainingSpec } from '../../src/plugins/providers.js';
import type { OpenAIConfig } from './config.js';
import { openAIModelInfo } from './models.js';
import { loadExamples, tokenEstimate } from './prepare.js';

/**
 * OpenAI bills n_epochs × Σ min(limit, tokens) training tokens at the model's list price (models.ts,
 * or plugins.openai.models). Calibrating counts them with OpenAI's tokenizer on the converted
 * examples; otherwise the host's token count is priced. Inference is billed separately.
 */
export async function openAIQuote(spec: TrainingSpec, basis: QuoteBasis, config: OpenAIConfig): Promise<Quote> {
  const model = spec.config.base_model;
  const price = openAIModelInfo(model, config.models)?.usd_per_million_training_tokens;
  if (!price) return { usd: 0, basis: `No published OpenAI training price for '${model}': counted as 0 (add it under plugins.openai.models).` };
  if (!basis.calibrate) {
    return { usd: (basis.tokens / 1e6) * price, basis: `tokens / 1e6 × $${price} per 1M training tokens (OpenAI list price for '${model}')` };
  }
  const examples = await loadExamples(spec, config);
  const counted = tokenEstimate(examples.train, examples.model);
  const epochs = spec.config.hyperparameters.epochs;
  const billed_tokens = epochs * counted.tokens_per_epoch;
  return {
    usd: Math.round(billed_tokens * price * 100) / 1e8,
    billed_tokens,
    basis: `${epochs} epochs × ${counted.tokens_per_epoch} tokens (${counted.examples} examples counted with ${examples.model?.encoding ?? 'o200k_base'}, ${counted.truncated_examples} truncated) × $${price} per 1M training tokens (OpenAI list price for '${model}')`,
  };
}
