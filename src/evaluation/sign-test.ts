/**
 * Exact two-sided sign test: given `wins` and `losses` (ties dropped), the probability of a split
 * at least this uneven if each case were a fair coin. Used for judge win-rates.
 */
export function signTestPValue(wins: number, losses: number): number {
  const n = wins + losses;
  if (n === 0) return 1;
  const k = Math.min(wins, losses);
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so large n does not underflow.
  let logTerm = -n * Math.LN2; // C(n,0) / 2^n
  let tail = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logTerm);
  }
  return Math.min(1, 2 * tail);
}
