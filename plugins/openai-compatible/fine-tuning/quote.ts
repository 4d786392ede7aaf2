import type { Quote, QuoteBasis, TrainingSpec } from '../../../src/plugins/providers.js';
import { loadExamples, tokenEstimate } from './prepare.js';
import { lookupModel, type FineTuningProfile, type TrainingPrice } from './profile.js';

/** Where a price comes from, for the quote's basis: "Nebius Token Factory list price for 'x', as of 2026-11, https://…". */
function priceSource(profile: FineTuningProfile, model: string, price: TrainingPrice): string {
  return `${profile.provider} price for '${model}'${price.as_of ? `, as of ${price.as_of}` : ''}, from ${price.source}`;
}

/**
 * The provider bills n_epochs × Σ min(limit, tokens) training tokens at the model's price per 1M
 * tokens (the profile's dated table). Calibrating counts them with the model's encoding on the
 * converted examples (exact for OpenAI's models, an approximation for others); otherwise the host's
 * token count is priced. Inference is billed separately.
 */
export async function fineTuningQuote(spec: TrainingSpec, basis: QuoteBasis, profile: FineTuningProfile): Promise<Quote> {
  const model = spec.config.base_model;
  const price = lookupModel(profile, model).price;
  if (!price || !price.usd_per_million_training_tokens) {
    return { usd: 0, basis: `No ${profile.provider} training price for '${model}': counted as 0 (add it under ${profile.config_key}).` };
  }
  const perMillion = price.usd_per_million_training_tokens;
  if (!basis.calibrate) {
    return { usd: (basis.tokens / 1e6) * perMillion, basis: `tokens / 1e6 × $${perMillion} per 1M training tokens (${priceSource(profile, model, price)})` };
  }
  const examples = await loadExamples(spec, profile);
  const counted = tokenEstimate(examples.train, examples.model);
  const epochs = spec.config.hyperparameters.epochs;
  const billed_tokens = epochs * counted.tokens_per_epoch;
  return {
    usd: Math.round(billed_tokens * perMillion * 100) / 1e8,
    billed_tokens,
    basis: `${epochs} epochs × ${counted.tokens_per_epoch} tokens (${counted.examples} examples counted with ${examples.model?.encoding ?? 'o200k_base'}, ${counted.truncated_examples} truncated) × $${perMillion} per 1M training tokens (${priceSource(profile, model, price)})`,
  };
}
