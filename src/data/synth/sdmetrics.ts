// SDMetrics' column and column-pair metrics on real and synthetic VALUES, defined as SDMetrics
// defines them (sdmetrics/single_column/statistical, sdmetrics/column_pairs/statistical), so a
// score here means what it means there. test/fixtures/sdmetrics/cases.json holds SDMetrics' own
// test inputs and expected numbers, each naming the test it comes from.
//
// - KSComplement: 1 − the two-sample Kolmogorov–Smirnov statistic on the non-missing values.
// - TVComplement: 1 − total variation distance of the non-missing category frequencies.
// - CorrelationSimilarity: 1 − |ρ_real − ρ_synthetic| / 2, each ρ (Pearson or Spearman) on the rows
//   where BOTH values are present (pandas' dropna on the pair, as SDMetrics does).
// - ContingencySimilarity: 1 − total variation distance of the two joint frequency tables, missing
//   values a category of their own; a continuous column is binned first with SDMetrics'
//   `discretize_column`: 10 equal-width bins over the REAL values' range (numpy's
//   histogram_bin_edges), the outer edges widened to ±∞, both sides binned with the real edges.

/** A continuous column: numbers (datetimes as epoch milliseconds), NaN or null for missing. */
export type NumberColumn = ArrayLike<number | null>;
/** A discrete column: category keys, null for missing. */
export type KeyColumn = ArrayLike<string | null>;

const present = (x: number | null | undefined): x is number => typeof x === 'number' && x === x;

/** SDMetrics rounds to 14 decimals (sys.float_info.dig − 1) first, so 0.3 − 0.2 equals 0.2 − 0.1. */
const KS_DECIMALS = 1e14;
const roundKs = (x: number): number => (Math.abs(x) < 1e6 ? Math.round(x * KS_DECIMALS) / KS_DECIMALS : x);

function finiteValues(values: NumberColumn): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (present(v)) out.push(roundKs(v));
  }
  return Float64Array.from(out).sort();
}

/** The two-sample KS statistic, sup |F_real − F_synthetic| (scipy's ks_2samp), on values rounded as SDMetrics rounds them. */
export function ksTwoSample(real: NumberColumn, synthetic: NumberColumn): number | undefined {
  const a = finiteValues(real);
  const b = finiteValues(synthetic);
  if (a.length === 0 || b.length === 0) return undefined;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const x = Math.min(a[i], b[j]);
    while (i < a.length && a[i] === x) i++;
    while (j < b.length && b[j] === x) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}

/** KSComplement: 1 − KS; undefined when either side has no value. */
export function ksComplement(real: NumberColumn, synthetic: NumberColumn): number | undefined {
  const ks = ksTwoSample(real, synthetic);
  return ks === undefined ? undefined : 1 - ks;
}

function frequencies(values: KeyColumn, dropMissing: boolean): { counts: Map<string, number>; n: number } {
  const counts = new Map<string, number>();
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (dropMissing) continue;
    }
    const key = v ?? '\u0000missing';
    counts.set(key, (counts.get(key) ?? 0) + 1);
    n++;
  }
  return { counts, n };
}

function totalVariation(real: Map<string, number>, n: number, synthetic: Map<string, number>, m: number): number {
  let tv = 0;
  for (const [key, count] of real) tv += Math.abs(count / n - (synthetic.get(key) ?? 0) / m);
  for (const [key, count] of synthetic) if (!real.has(key)) tv += count / m;
  return tv / 2;
}

/** TVComplement on the non-missing values; undefined when either side has none. */
export function tvComplement(real: KeyColumn, synthetic: KeyColumn): number | undefined {
  const r = frequencies(real, true);
  const s = frequencies(synthetic, true);
  if (r.n === 0 || s.n === 0) return undefined;
  return 1 - totalVariation(r.counts, r.n, s.counts, s.n);
}

/** Average ranks (1-based, ties share their mean rank) of `values`. */
function averageRanks(values: Float64Array): Float64Array<ArrayBufferLike> {
  const idx = Array.from(values.keys()).sort((p, q) => values[p] - values[q]);
  const ranks = new Float64Array(values.length);
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && values[idx[j + 1]] === values[idx[i]]) j++;
    for (let t = i; t <= j; t++) ranks[idx[t]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

function pearsonComplete(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

export type Coefficient = 'Pearson' | 'Spearman';

/** ρ of a pair on its pairwise-complete rows (both values present); NaN when undefined. */
export function pairwiseCorrelation(a: NumberColumn, b: NumberColumn, coefficient: Coefficient): number {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const u = a[i];
    const v = b[i];
    if (present(u) && present(v)) {
      x.push(u);
      y.push(v);
    }
  }
  let fx: Float64Array<ArrayBufferLike> = Float64Array.from(x);
  let fy: Float64Array<ArrayBufferLike> = Float64Array.from(y);
  if (coefficient === 'Spearman') {
    fx = averageRanks(fx);
    fy = averageRanks(fy);
  }
  return pearsonComplete(fx, fy);
}

export interface CorrelationBreakdown {
  score: number;
  real: number;
  synthetic: number;
}

/** CorrelationSimilarity; score NaN when either correlation is undefined (a constant column). */
export function correlationSimilarity(
  real: [NumberColumn, NumberColumn],
  synthetic: [NumberColumn, NumberColumn],
  coefficient: Coefficient = 'Pearson',
): CorrelationBreakdown {
  const r = pairwiseCorrelation(real[0], real[1], coefficient);
  const s = pairwiseCorrelation(synthetic[0], synthetic[1], coefficient);
  return { score: 1 - Math.abs(r - s) / 2, real: r, synthetic: s };
}

/** numpy.histogram_bin_edges(values, bins): equal width over [min, max] (±0.5 around a constant). */
export function histogramBinEdges(values: NumberColumn, bins = 10): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!present(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) {
    lo = 0;
    hi = 1;
  } else if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  return Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
}

/** numpy.digitize(x, edges) for increasing edges: i with edges[i−1] ≤ x < edges[i]; missing → edges.length. */
export function digitize(x: number | null, edges: readonly number[]): number {
  if (!present(x)) return edges.length;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** SDMetrics' discretize_column: bins from the real values, outer edges ±∞, both columns binned alike. */
export function discretizeColumn(
  real: NumberColumn,
  synthetic: NumberColumn,
  bins = 10,
): { real: string[]; synthetic: string[]; edges: number[] } {
  const edges = histogramBinEdges(real, bins);
  edges[0] = -Infinity;
  edges[edges.length - 1] = Infinity;
  const bin = (column: NumberColumn): string[] =>
    Array.from({ length: column.length }, (_, i) => String(digitize(column[i], edges)));
  return { real: bin(real), synthetic: bin(synthetic), edges };
}

/** A column of a pair for ContingencySimilarity: discrete keys, or numbers to be binned. */
export type PairColumn =
  | { kind: 'discrete'; real: KeyColumn; synthetic: KeyColumn }
  | {
      kind: 'continuous';
      real: NumberColumn;
      synthetic: NumberColumn;
    };

function asKeys(column: PairColumn, bins: number): { real: KeyColumn; synthetic: KeyColumn } {
  if (column.kind === 'discrete') return column;
  const { real, synthetic } = discretizeColumn(column.real, column.synthetic, bins);
  return { real, synthetic };
}

/** ContingencySimilarity of a pair (missing values kept as their own category, as `groupby(dropna=False)`). */
export function contingencySimilarity(a: PairColumn, b: PairColumn, bins = 10): number {
  const ka = asKeys(a, bins);
  const kb = asKeys(b, bins);
  const joint = (x: KeyColumn, y: KeyColumn): KeyColumn =>
    Array.from({ length: x.length }, (_, i) => `${x[i] ?? '\u0000missing'}\u0001${y[i] ?? '\u0000missing'}`);
  const r = frequencies(joint(ka.real, kb.real), false);
  const s = frequencies(joint(ka.synthetic, kb.synthetic), false);
  if (r.n === 0 || s.n === 0) return NaN;
  return 1 - totalVariation(r.counts, r.n, s.counts, s.n);
}
