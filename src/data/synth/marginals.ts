// Each modelled column's marginal distribution as the profile describes it, in the two directions
// synthesis and evaluation need: the inverse CDF (a uniform → a value) and the CDF (a value → its
// probability, for the Kolmogorov–Smirnov statistic). Generation and the fidelity report build
// their marginals here, so "the real marginal" means the same thing to both.

import type { ColumnProfile, DatetimeStats, NumericStats } from '../profile/schema';
import { resolutionOf } from '../profile/stats';

/** A distribution over numbers: continuous from the percentiles, or atoms for few-valued columns. */
export interface NumberMarginal {
  /** The value at probability u in [0, 1). */
  inverse(u: number): number;
  /** P(X ≤ x) and P(X < x). */
  cdf(x: number): number;
  cdfBelow(x: number): number;
  /** Grid step of the column's values (0.01 for cents, 1 for integers, 1000 for whole seconds). */
  resolution: number;
  min: number;
  max: number;
}

/** Piecewise-linear inverse CDF through 101 equally spaced percentiles. */
class PercentileMarginal implements NumberMarginal {
  private readonly p: Float64Array;
  readonly min: number;
  readonly max: number;

  constructor(
    percentiles: number[],
    readonly resolution: number,
  ) {
    this.p = Float64Array.from(percentiles);
    this.min = this.p[0];
    this.max = this.p[100];
  }

  inverse(u: number): number {
    const h = u * 100;
    const i = h >= 100 ? 99 : Math.floor(h);
    return this.p[i] + (h - i) * (this.p[i + 1] - this.p[i]);
  }

  /** Of the continuous distribution itself. */
  private linearCdf(y: number): number {
    const p = this.p;
    if (y < p[0]) return 0;
    if (y >= p[100]) return 1;
    let lo = 0;
    let hi = 100;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (p[mid] <= y) lo = mid;
      else hi = mid - 1;
    }
    return (lo + (y - p[lo]) / (p[lo + 1] - p[lo])) / 100;
  }

  // Source values lie on the grid and the percentiles between grid points, so a value x stands
  // for the interval (x - r/2, x + r/2] of the continuous distribution.
  cdf(x: number): number {
    return this.linearCdf(x + this.resolution / 2);
  }

  cdfBelow(x: number): number {
    return this.linearCdf(x - this.resolution / 2);
  }
}

/** Atoms at values with cumulative probabilities; inverse by binary search. */
class AtomMarginal implements NumberMarginal {
  readonly min: number;
  readonly max: number;

  constructor(
    private readonly values: Float64Array,
    private readonly cumulative: Float64Array,
    readonly resolution: number,
  ) {
    this.min = values[0];
    this.max = values[values.length - 1];
    this.pick = guidedPicker(cumulative);
  }

  private readonly pick: (u: number) => number;

  inverse(u: number): number {
    return this.values[this.pick(u)];
  }

  private lastAtOrBelow(x: number): number {
    let lo = -1;
    let hi = this.values.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.values[mid] <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  cdf(x: number): number {
    const i = this.lastAtOrBelow(x + this.resolution / 2);
    return i < 0 ? 0 : this.cumulative[i];
  }

  cdfBelow(x: number): number {
    const i = this.lastAtOrBelow(x - this.resolution / 2);
    return i < 0 ? 0 : this.cumulative[i];
  }
}

const MAX_OTHER_ATOMS = 1000;

/**
 * The marginal of a numeric, integer or datetime column. Columns with few distinct values get
 * atoms: their published values at their exact frequencies, and the mass of the values seen fewer
 * than k times spread evenly over the grid points between the published bounds that are not
 * published values (the profile says how much mass, not where: that is the point).
 */
export function numberMarginal(column: ColumnProfile): NumberMarginal {
  if (column.type === 'datetime') return fromDistribution(column.datetime, column.datetime.resolutionMs);
  if (column.type !== 'numeric' && column.type !== 'integer')
    throw new TypeError(`column ${column.name} is ${column.type}, not a number column`);
  return fromDistribution(column.numeric, resolutionOf(column.numeric.decimals));
}

function fromDistribution(stats: NumericStats | DatetimeStats, resolution: number): NumberMarginal {
  const discrete = 'discrete' in stats ? stats.discrete : undefined;
  if (!discrete || discrete.values.length === 0) return new PercentileMarginal(stats.percentiles, resolution);

  const atoms = new Map<number, number>(discrete.values.map((v) => [v.value, v.count]));
  if (discrete.otherCount > 0) {
    const first = Math.ceil(stats.min / resolution - 1e-9);
    const last = Math.floor(stats.max / resolution + 1e-9);
    const candidates: number[] = [];
    const span = last - first + 1;
    const step = Math.max(1, Math.ceil(span / MAX_OTHER_ATOMS));
    for (let g = first; g <= last; g += step) {
      const value = Number((g * resolution).toFixed(10));
      if (!atoms.has(value)) candidates.push(value);
    }
    if (candidates.length === 0) {
      // Nowhere left inside the bounds: share the mass between the outermost published values.
      const sorted = [...atoms.keys()].sort((a, b) => a - b);
      const ends = sorted.length === 1 ? [sorted[0]] : [sorted[0], sorted[sorted.length - 1]];
      for (const v of ends) atoms.set(v, atoms.get(v)! + discrete.otherCount / ends.length);
    } else {
      for (const v of candidates) atoms.set(v, (atoms.get(v) ?? 0) + discrete.otherCount / candidates.length);
    }
  }
  const entries = [...atoms.entries()].sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, c]) => s + c, 0);
  const cumulative = new Float64Array(entries.length);
  let running = 0;
  entries.forEach(([, c], i) => {
    running += c;
    cumulative[i] = running / total;
  });
  cumulative[cumulative.length - 1] = 1;
  return new AtomMarginal(Float64Array.from(entries.map(([v]) => v)), cumulative, resolution);
}

/** Category labels (published categories, then `other` when anything was folded) and their probabilities. */
export interface CategoryMarginal {
  labels: string[];
  probabilities: number[];
  cumulative: Float64Array;
  /** Index of `other` in labels, or -1. */
  otherIndex: number;
}

export const OTHER_CATEGORY = 'other';

export function categoryMarginal(column: Extract<ColumnProfile, { type: 'categorical' }>): CategoryMarginal {
  const { categories, other } = column.categorical;
  const labels = categories.map((c) => c.value);
  const counts = categories.map((c) => c.count);
  let otherIndex = -1;
  if (other.count > 0 || labels.length === 0) {
    otherIndex = labels.length;
    // A published category may itself be called "other"; the fold then needs another name.
    let name = OTHER_CATEGORY;
    while (labels.includes(name)) name = `_${name}`;
    labels.push(name);
    counts.push(Math.max(other.count, labels.length === 1 ? 1 : 0));
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const probabilities = counts.map((c) => c / total);
  const cumulative = new Float64Array(probabilities.length);
  let running = 0;
  probabilities.forEach((p, i) => {
    running += p;
    cumulative[i] = running;
  });
  cumulative[cumulative.length - 1] = 1;
  return { labels, probabilities, cumulative, otherIndex };
}

export function pickIndex(cumulative: Float64Array, u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * pickIndex in expected constant time (a guide table, Chen & Asau 1974): guide[g] is the first
 * index whose cumulative probability exceeds g / G, so a pick starts there and steps forward at
 * most a few times. Exact: it returns what pickIndex returns.
 */
export function guidedPicker(cumulative: Float64Array): (u: number) => number {
  const n = cumulative.length;
  const size = Math.max(64, 4 * n);
  const guide = new Int32Array(size);
  let i = 0;
  for (let g = 0; g < size; g++) {
    while (i < n - 1 && cumulative[i] <= g / size) i++;
    guide[g] = i;
  }
  const last = n - 1;
  const top = size - 1;
  return (u) => {
    const g = (u * size) | 0;
    let k = guide[g < top ? g : top];
    while (k < last && cumulative[k] <= u) k++;
    return k;
  };
}

/** P(true) of a boolean column. */
export function trueShare(column: Extract<ColumnProfile, { type: 'boolean' }>): number {
  const { trueCount, falseCount } = column.boolean;
  return trueCount + falseCount === 0 ? 0 : trueCount / (trueCount + falseCount);
}
