import { describe, expect, it } from 'vitest';
import { normalQuantile } from '../../../src/data/profile/normal';
import { createRandom } from '../../../src/data/profile/random';
import {
  anonymousRound,
  averageRanks,
  cramersV,
  decimalsOf,
  hermiteProfile,
  HyperLogLog,
  latentCorrelation,
  pearson,
  snap,
  spearman,
} from '../../../src/data/profile/stats';

describe('anonymousRound', () => {
  // 0, 1, …, 999 once each, then three lone extremes.
  const sorted = Float64Array.from([...Array.from({ length: 1000 }, (_, i) => i), 5000, 7300, 9999]);
  const within = (from: number, to: number) => sorted.filter((x) => x >= from && x <= to).length;

  it('widens the rounding step until the published value stands for k values', () => {
    expect(anonymousRound(500.2, sorted, 1, 1, 'nearest')).toBe(500.5); // k = 1: the plain half-grid snap
    const median = anonymousRound(500.2, sorted, 10, 1, 'nearest');
    expect(median).toBe(500.5); // step 10: [495, 505] holds 11 values
    expect(within(495, 505)).toBeGreaterThanOrEqual(10);
    // The lone maximum is not published, not even roughly: its bound covers it and nine more values.
    expect(anonymousRound(9999, sorted, 10, 1, 'up')).toBe(10000.5);
    expect(anonymousRound(7300, sorted, 2, 1, 'up')).toBe(10000.5);
    expect(anonymousRound(0, sorted, 10, 1, 'down')).toBe(-0.5);
  });

  it('never returns a value on the data grid', () => {
    for (const x of [0, 3.3, 499, 998.7, 5000, 9999]) {
      for (const mode of ['down', 'up', 'nearest'] as const) {
        const v = anonymousRound(x, sorted, 10, 1, mode);
        expect(v - Math.floor(v)).toBe(0.5);
      }
    }
    expect(anonymousRound(36.59, Float64Array.from([36.58, 36.59, 36.6]), 1, 0.01, 'nearest')).toBe(36.595);
  });
});

describe('statistics helpers', () => {
  it('counts decimals as written', () => {
    expect([
      decimalsOf('36.50'),
      decimalsOf('12'),
      decimalsOf('1e-3'),
      decimalsOf('1.5e2'),
      decimalsOf('0.123456789012'),
    ]).toEqual([2, 0, 3, 0, 9]);
  });

  it('snaps onto the half-grid', () => {
    expect(snap(36.59, 0.01)).toBe(36.595);
    expect(snap(36.59, 0.01, 'down')).toBe(36.585);
    expect(snap(7, 1, 'up')).toBe(7.5);
  });

  it('ranks with ties, and computes Spearman and Cramér’s V', () => {
    expect(Array.from(averageRanks(Float64Array.from([3, 1, 3, NaN, 2])).ranks)).toEqual([3.5, 1, 3.5, NaN, 2]);
    expect(spearman(Float64Array.from([1, 2, 3, 4]), Float64Array.from([10, 20, 30, 1000]))).toBeCloseTo(1, 12);
    expect(spearman(Float64Array.from([1, 2, 3, 4]), Float64Array.from([4, 3, 2, 1]))).toBeCloseTo(-1, 12);
    const a = Int32Array.from([0, 0, 1, 1, 0, 1]);
    expect(cramersV(a, 2, a, 2)).toBeCloseTo(1, 12);
    expect(cramersV(Int32Array.from([0, 0, 1, 1]), 2, Int32Array.from([0, 1, 0, 1]), 2)).toBe(0);
  });

  it('estimates distinct counts within a few percent', () => {
    const hll = new HyperLogLog();
    for (let i = 0; i < 200_000; i++) hll.add(`user-${i % 150_000}`);
    expect(hll.estimate() / 150_000).toBeGreaterThan(0.95);
    expect(hll.estimate() / 150_000).toBeLessThan(1.05);
  });
});

describe('latent correlation of normal scores (Hermite series)', () => {
  /** Normal scores as the profiler makes them: each value's mid-rank slice of the normal. */
  const scoresOf = (values: Float64Array): Float64Array => {
    const ranks = averageRanks(values).ranks;
    return ranks.map((rank) => normalQuantile((rank - 0.5) / values.length));
  };

  it('leaves the correlation of untied columns as it is', () => {
    const continuous = hermiteProfile(scoresOf(Float64Array.from({ length: 2000 }, (_, i) => i)));
    expect(continuous.coefficients[1]).toBeCloseTo(1, 2);
    expect(continuous.variance).toBeCloseTo(1, 2);
    for (const rho of [-0.7, 0, 0.3, 0.8]) {
      expect(latentCorrelation(rho, continuous, continuous)).toBeCloseTo(rho, 2);
    }
  });

  it('recovers the latent correlation behind a rare boolean', () => {
    const random = createRandom(7);
    const n = 20_000;
    const rho = 0.6;
    const amount = new Float64Array(n);
    const fraud = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = random.normal();
      const y = rho * x + Math.sqrt(1 - rho * rho) * random.normal();
      amount[i] = x;
      fraud[i] = y > 1.2816 ? 1 : 0; // about 10 % true
    }
    const a = scoresOf(amount);
    const b = scoresOf(fraud);
    const observed = pearson(a, b);
    expect(observed).toBeLessThan(0.5); // the ties hide much of the association
    expect(latentCorrelation(observed, hermiteProfile(a), hermiteProfile(b))).toBeCloseTo(rho, 1);
  });

  it('gives 0 for a constant column and caps at 0.99', () => {
    const continuous = hermiteProfile(scoresOf(Float64Array.from({ length: 500 }, (_, i) => i)));
    const constant = hermiteProfile(new Float64Array(500));
    expect(constant.variance).toBe(0);
    expect(latentCorrelation(0.5, continuous, constant)).toBe(0);
    expect(latentCorrelation(1, continuous, continuous)).toBe(0.99);
    expect(latentCorrelation(-1, continuous, continuous)).toBe(-0.99);
  });
});
