// Statistics the profiler needs: grid snapping (how quantiles avoid publishing exact source values),
// quantiles of a sorted sample, average ranks, Pearson/Spearman correlation, Cramér's V, the latent
// correlation of a Gaussian copula (Hermite series), and a HyperLogLog distinct-count estimate for
// columns too large to count exactly.

import { normalQuantile } from './normal';

/** The most decimals a column's grid uses; values with more are treated as continuous. */
export const MAX_DECIMALS = 9;

/**
 * Decimal places of a number as written: "36.50" → 2, "1e-3" → 3, "12" → 0, capped at
 * MAX_DECIMALS. For numbers that come as JS numbers, their shortest round-trip form is used.
 */
export function decimalsOf(text: string): number {
  const e = text.search(/[eE]/);
  const mantissa = e < 0 ? text : text.slice(0, e);
  const exponent = e < 0 ? 0 : Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const fraction = dot < 0 ? 0 : mantissa.length - dot - 1;
  return Math.min(MAX_DECIMALS, Math.max(0, fraction - exponent));
}

export type SnapMode = 'down' | 'up' | 'nearest';

/**
 * Moves x onto the half-grid of a column whose values are multiples of `resolution`: an odd
 * multiple of resolution / 2. Every source value lies on the grid, so a snapped number can never be
 * an exact source value — that is what lets quantiles and histogram edges be published without
 * publishing any individual value. 'down' (lower bounds) and 'up' (upper bounds) keep the range
 * covering the data; 'nearest' is for interior quantiles.
 */
export function snap(x: number, resolution: number, mode: SnapMode = 'nearest'): number {
  // The tolerance keeps floating-point noise (36.59 / 0.01 = 3658.9999…) from moving a whole step.
  const units = x / resolution;
  const half = mode === 'down' ? Math.ceil(units - 1e-9) - 0.5 : Math.floor(units + 1e-9) + 0.5;
  const y = half * resolution;
  // Print at one decimal more than the grid so the value is exactly "...5" in the JSON.
  const digits = Math.max(0, Math.round(-Math.log10(resolution))) + 1;
  return digits <= 20 ? Number(y.toFixed(Math.min(20, digits))) : y;
}

/** First index of an ascending array whose value is ≥ x (or > x when `strict`). */
function bound(sorted: ArrayLike<number>, x: number, strict: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (strict ? sorted[mid] <= x : sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * k-anonymous rounding of a statistic x (a quantile, a bound) of a column whose values are
 * multiples of `resolution`: x is rounded to the finest step of the ladder resolution × 1, 2, 5,
 * 10, 20, 50, … at which the interval the rounded value stands for holds at least `minCount` of the
 * ascending `sorted` sample, then moved half a resolution off the data grid. Where the data is
 * dense that is the plain half-grid snap; in a sparse tail the step widens until the published
 * number describes k values, not one — a lone extreme cannot be read back from it, even roughly.
 * 'down' (lower bounds) rounds down and stands for [p, p + step]; 'up' rounds up and stands for
 * [p − step, p]; 'nearest' stands for [p − step/2, p + step/2].
 */
export function anonymousRound(
  x: number,
  sorted: ArrayLike<number>,
  minCount: number,
  resolution: number,
  mode: SnapMode,
): number {
  const n = sorted.length;
  const span = n > 0 ? sorted[n - 1] - sorted[0] : 0;
  const digits = Math.max(0, Math.round(-Math.log10(resolution))) + 1;
  const multipliers = [1, 2, 5];
  let p = x;
  for (let j = 0; ; j++) {
    const step = resolution * multipliers[j % 3] * 10 ** Math.floor(j / 3);
    let from: number;
    let to: number;
    if (mode === 'down') {
      p = Math.floor(x / step + 1e-9) * step;
      [from, to] = [p, p + step];
    } else if (mode === 'up') {
      p = Math.ceil(x / step - 1e-9) * step;
      [from, to] = [p - step, p];
    } else {
      p = Math.round(x / step) * step;
      [from, to] = [p - step / 2, p + step / 2];
    }
    const count = bound(sorted, to + resolution / 2, true) - bound(sorted, from - resolution / 2, false);
    if (count >= minCount || step > 4 * span + resolution) break;
  }
  const shifted = mode === 'down' ? p - resolution / 2 : p + resolution / 2;
  return digits <= 20 ? Number(shifted.toFixed(Math.min(20, digits))) : shifted;
}

export function resolutionOf(decimals: number): number {
  return 10 ** -decimals;
}

/** Linear-interpolated quantile (type 7) of an ascending array; p in [0, 1]. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Average ranks (1-based; tied values share the mean of their ranks) of `values`, NaN for NaN
 * entries, which take no rank. Returns the ranks and how many values were ranked.
 */
export function averageRanks(values: Float64Array): { ranks: Float64Array; n: number } {
  const idx: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] === values[i]) idx.push(i);
  idx.sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(values.length).fill(NaN);
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && values[idx[j + 1]] === values[idx[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) ranks[idx[t]] = rank;
    i = j + 1;
  }
  return { ranks, n: idx.length };
}

/** Pearson correlation over the positions where both are numbers; 0 when undefined. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === x && y === y) {
      n++;
      sa += x;
      sb += y;
    }
  }
  if (n < 3) return 0;
  const ma = sa / n;
  const mb = sb / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === x && y === y) {
      const dx = x - ma;
      const dy = y - mb;
      sab += dx * dy;
      saa += dx * dx;
      sbb += dy * dy;
    }
  }
  if (saa === 0 || sbb === 0) return 0;
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/**
 * Spearman's ρ of two numeric arrays (NaN = missing), via average ranks on the pairwise-complete
 * rows (both values present), as scipy, pandas and SDMetrics compute it.
 */
export function spearman(a: Float64Array, b: Float64Array): number {
  const both: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] === a[i] && b[i] === b[i]) both.push(i);
  if (both.length === a.length) return pearson(averageRanks(a).ranks, averageRanks(b).ranks);
  const x = Float64Array.from(both, (i) => a[i]);
  const y = Float64Array.from(both, (i) => b[i]);
  return pearson(averageRanks(x).ranks, averageRanks(y).ranks);
}

/**
 * Cramér's V of two coded categorical arrays (codes 0..levels-1, -1 = missing), over the rows
 * where both are present. 0 when either side has a single level.
 */
export function cramersV(a: Int32Array, levelsA: number, b: Int32Array, levelsB: number): number {
  const table = new Float64Array(levelsA * levelsB);
  const rowSums = new Float64Array(levelsA);
  const colSums = new Float64Array(levelsB);
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x < 0 || y < 0) continue;
    table[x * levelsB + y]++;
    rowSums[x]++;
    colSums[y]++;
    n++;
  }
  const r = rowSums.filter((v) => v > 0).length;
  const c = colSums.filter((v) => v > 0).length;
  if (n === 0 || r < 2 || c < 2) return 0;
  let chi2 = 0;
  for (let x = 0; x < levelsA; x++) {
    if (rowSums[x] === 0) continue;
    for (let y = 0; y < levelsB; y++) {
      if (colSums[y] === 0) continue;
      const expected = (rowSums[x] * colSums[y]) / n;
      const d = table[x * levelsB + y] - expected;
      chi2 += (d * d) / expected;
    }
  }
  return Math.min(1, Math.sqrt(chi2 / (n * (Math.min(r, c) - 1))));
}

/** Rounds for the JSON: statistics need no more than `digits` decimals. */
export function round(x: number, digits = 6): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// --- Latent correlation (Gaussian copula) ----------------------------------------------------

/** Latent correlations are capped here: beyond it the copula would make two columns copies. */
const MAX_LATENT_CORRELATION = 0.99;
/** Hermite terms kept when relating latent and observed correlation. */
const HERMITE_TERMS = 12;

/** A column's normal scores as a function of its latent normal, in Hermite terms; see hermiteProfile. */
export interface HermiteProfile {
  /** a_k for k = 1…HERMITE_TERMS (index 0 is unused). */
  coefficients: Float64Array;
  variance: number;
}

const normalDensity = (z: number): number => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);

/**
 * A column's normal scores as a function of its latent normal: g(Z) = the midpoint score of the
 * slice of Z its value occupies (ties — booleans, categories, few-valued integers — make wide
 * slices). Returns g's Hermite coefficients a_k = E[g(Z)·He_k(Z)], k = 1…K, and its variance, from
 * which the correlation of two such columns follows exactly: for latent correlation ρ,
 * corr(g₁(X), g₂(Y)) = Σ_k a₁ₖ·a₂ₖ·ρᵏ / k! / (sd₁·sd₂).
 */
export function hermiteProfile(scores: Float64Array): HermiteProfile {
  const counts = new Map<number, number>();
  let n = 0;
  for (const z of scores) {
    if (z !== z) continue;
    counts.set(z, (counts.get(z) ?? 0) + 1);
    n++;
  }
  const coefficients = new Float64Array(HERMITE_TERMS + 1);
  if (n === 0 || counts.size < 2) return { coefficients, variance: 0 };
  const blocks = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  // ∫ from l to u of He_k(z)φ(z) dz = He_{k-1}(l)φ(l) − He_{k-1}(u)φ(u); at ±∞ the term vanishes.
  const boundaryTerms = (cumulative: number): Float64Array => {
    const out = new Float64Array(HERMITE_TERMS + 1);
    if (cumulative <= 0 || cumulative >= 1) return out;
    const z = normalQuantile(cumulative);
    const density = normalDensity(z);
    let previous = 1; // He_0
    let current = z; // He_1
    out[1] = previous * density;
    for (let k = 2; k <= HERMITE_TERMS; k++) {
      out[k] = current * density; // He_{k-1}(z)φ(z)
      const next = z * current - (k - 1) * previous;
      previous = current;
      current = next;
    }
    return out;
  };
  let cumulative = 0;
  let mean = 0;
  let square = 0;
  let lower = boundaryTerms(0);
  for (const [g, count] of blocks) {
    const p = count / n;
    cumulative += p;
    const upper = boundaryTerms(cumulative);
    for (let k = 1; k <= HERMITE_TERMS; k++) coefficients[k] += g * (lower[k] - upper[k]);
    lower = upper;
    mean += p * g;
    square += p * g * g;
  }
  return { coefficients, variance: Math.max(0, square - mean * mean) };
}

/**
 * The latent correlation whose normal scores would show `observed`: the inverse, by bisection, of
 * the Hermite series above (which increases with ρ when both columns' scores increase with their
 * latent). Without this, a copula fed the observed correlation of tied columns would generate
 * weaker associations than the source's — markedly so for rare booleans such as a fraud label.
 */
export function latentCorrelation(observed: number, a: HermiteProfile, b: HermiteProfile): number {
  if (!(a.variance > 0 && b.variance > 0)) return 0;
  const scale = Math.sqrt(a.variance * b.variance);
  const implied = (rho: number): number => {
    let sum = 0;
    let power = 1;
    let factorial = 1;
    for (let k = 1; k <= HERMITE_TERMS; k++) {
      power *= rho;
      factorial *= k;
      sum += (a.coefficients[k] * b.coefficients[k] * power) / factorial;
    }
    return sum / scale;
  };
  let lo = -MAX_LATENT_CORRELATION;
  let hi = MAX_LATENT_CORRELATION;
  if (observed <= implied(lo)) return lo;
  if (observed >= implied(hi)) return hi;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (implied(mid) < observed) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// --- HyperLogLog -------------------------------------------------------------------------------

/** murmur3's 32-bit finaliser over an FNV-1a pass: cheap, and well mixed enough for HyperLogLog. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Distinct-count estimate with 2^12 registers (about 1.6 % standard error). */
export class HyperLogLog {
  private static readonly P = 12;
  private readonly registers = new Uint8Array(1 << HyperLogLog.P);

  add(text: string): void {
    const h = hashString(text);
    const index = h >>> (32 - HyperLogLog.P);
    const rest = (h << HyperLogLog.P) >>> 0;
    const rank = rest === 0 ? 32 - HyperLogLog.P + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[index]) this.registers[index] = rank;
  }

  estimate(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) {
      sum += 2 ** -this.registers[i];
      if (this.registers[i] === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros); // linear counting for small sets
    return raw;
  }
}
