import type { Quote, QuoteBasis } from '../../src/plugins/providers.js';

/** Modal's published on-demand GPU prices, USD per GPU-hour (modal.com/pricing, 2025). */
export const MODAL_USD_PER_GPU_HOUR: Record<string, number> = { H100: 3.95, 'A100-80GB': 2.5, 'A100-40GB': 2.1, L40S: 1.95, A10G: 1.1, L4: 0.8, T4: 0.59 };

/** Modal bills GPU time: the host's seconds on the device × its hourly price. */
export function modalQuote(basis: QuoteBasis): Quote {
  const hourly = MODAL_USD_PER_GPU_HOUR[basis.device];
  if (hourly === undefined) return { usd: 0, basis: `No Modal price for ${basis.device}: counted as 0.` };
  return { usd: (basis.seconds / 3600) * hourly, basis: `hours × $${hourly} per ${basis.device}-hour (Modal on-demand price)` };
}
