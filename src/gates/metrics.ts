// Measurements the gates report. Pure functions over arrays: no I/O, easy to check by hand.

export type BinaryLabel = 0 | 1;

function assertSameLength(scores: readonly number[], labels: readonly BinaryLabel[]): void {
  if (scores.length !== labels.length) {
    throw new RangeError(`metrics: ${scores.length} scores for ${labels.length} labels`);
  }
}

/**
 * Area under the ROC curve via the Mann-Whitney U statistic: the probability that a random
 * positive scores above a random negative, a tie counting one half. Tied scores share their
 * average rank. Throws when either class is absent, since the AUC is then undefined.
 */
export function auc(scores: readonly number[], labels: readonly BinaryLabel[]): number {
  assertSameLength(scores, labels);
  const n = scores.length;
  let positives = 0;
  for (const y of labels) positives += y;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new RangeError(`metrics: AUC needs both classes, got ${positives} positive and ${negatives} negative labels`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positiveRankSum = 0;
  for (let start = 0; start < n;) {
    let end = start; // inclusive end of the run of tied scores
    while (end + 1 < n && scores[order[end + 1]] === scores[order[start]]) end++;
    const averageRank = (start + end) / 2 + 1; // ranks are 1-based
    for (let k = start; k <= end; k++) {
      if (labels[order[k]] === 1) positiveRankSum += averageRank;
    }
    start = end + 1;
  }
  const u = positiveRankSum - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}

/** Fraction of records whose prediction (score >= cutoff means positive) matches the label. */
export function accuracy(scores: readonly number[], labels: readonly BinaryLabel[], cutoff: number): number {
  assertSameLength(scores, labels);
  if (scores.length === 0) throw new RangeError('metrics: accuracy of no records is undefined');
  let correct = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i] >= cutoff ? 1 : 0;
    if (predicted === labels[i]) correct++;
  }
  return correct / scores.length;
}

/**
 * Nearest-rank percentile: the smallest value such that at least p % of the values are <= it.
 * p in (0, 100]; p = 100 is the maximum.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('metrics: percentile of no values is undefined');
  if (!(p > 0 && p <= 100)) throw new RangeError(`metrics: percentile must be in (0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  // p * n / 100 rather than (p / 100) * n, and a small tolerance, so that e.g. p = 7 of 100
  // values is rank 7 and not rank 8 through floating-point error.
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p * sorted.length) / 100 - 1e-9)));
  return sorted[rank - 1];
}

/** Rounds half away from zero to `digits` decimals, for reported values. */
export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.sign(value) * (Math.round(Math.abs(value) * factor) / factor);
}
