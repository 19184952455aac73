/**
 * A rate (0…1) as a percentage for people: `pct(0.0123)` is "1.23 %". A rate that is not zero
 * but below 0.1 % keeps three decimals, so it never reads as 0.
 */
export function pct(rate: number, decimals = 2): string {
  return `${(rate * 100).toFixed(rate > 0 && rate < 0.001 ? 3 : decimals)} %`;
}
