import { describe, expect, it } from 'vitest';
import { datetimeFormatter, parseDatetime } from '../../../src/data/profile/datetime';
import { normalCdf, normalCdfFast, normalQuantile } from '../../../src/data/profile/normal';
import { createRandom } from '../../../src/data/profile/random';
import { cholesky, correlationFactor, nearestCorrelation, symmetricEigen } from '../../../src/data/synth/linalg';
import { guidedPicker, pickIndex } from '../../../src/data/synth/marginals';

const multiply = (a: number[][], b: number[][]) =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
const transpose = (a: number[][]) => a[0].map((_, j) => a.map((row) => row[j]));

describe('linear algebra for the copula', () => {
  it('decomposes a symmetric matrix into eigenvalues and orthonormal eigenvectors', () => {
    const m = [
      [4, 1, 0.5],
      [1, 3, -0.2],
      [0.5, -0.2, 1],
    ];
    const { values, vectors } = symmetricEigen(m);
    const rebuilt = multiply(
      multiply(
        vectors,
        values.map((v, i) => values.map((_, j) => (i === j ? v : 0))),
      ),
      transpose(vectors),
    );
    rebuilt.forEach((row, i) => row.forEach((x, j) => expect(x).toBeCloseTo(m[i][j], 10)));
    multiply(transpose(vectors), vectors).forEach((row, i) =>
      row.forEach((x, j) => expect(x).toBeCloseTo(i === j ? 1 : 0, 10)),
    );
  });

  it('repairs a correlation matrix that is not positive semi-definite', () => {
    // Pairwise estimates that no joint distribution has: a ~ b, b ~ c strongly positive, a ~ c strongly negative.
    const bad = [
      [1, 0.9, -0.9],
      [0.9, 1, 0.9],
      [-0.9, 0.9, 1],
    ];
    expect(() => cholesky(bad)).toThrow(/not positive definite/);
    const fixed = nearestCorrelation(bad);
    fixed.forEach((row, i) => expect(row[i]).toBeCloseTo(1, 12));
    expect(Math.min(...symmetricEigen(fixed).values)).toBeGreaterThan(0);
    const l = correlationFactor(bad);
    const lm = [0, 1, 2].map((i) => [0, 1, 2].map((j) => l[i * 3 + j]));
    multiply(lm, transpose(lm)).forEach((row, i) => row.forEach((x, j) => expect(x).toBeCloseTo(fixed[i][j], 5)));
    // A valid matrix passes through unchanged.
    const good = [
      [1, 0.3],
      [0.3, 1],
    ];
    expect(nearestCorrelation(good)).toEqual(good);
  });

  it('gives correlated normals through the Cholesky factor', () => {
    const l = cholesky([
      [1, 0.6],
      [0.6, 1],
    ]);
    const random = createRandom(1);
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < 100_000; i++) {
      const e0 = random.normal();
      const e1 = random.normal();
      const x = l[0] * e0;
      const y = l[2] * e0 + l[3] * e1;
      sxy += x * y;
      sxx += x * x;
      syy += y * y;
    }
    expect(sxy / Math.sqrt(sxx * syy)).toBeCloseTo(0.6, 2);
  });
});

describe('normal distribution helpers', () => {
  it('Φ and Φ⁻¹ invert each other; the table Φ is within 1e-6', () => {
    for (const p of [1e-6, 0.001, 0.02425, 0.1, 0.5, 0.9, 0.99, 0.999999])
      expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 6);
    for (let x = -9; x <= 9; x += 0.0371) expect(Math.abs(normalCdfFast(x) - normalCdf(x))).toBeLessThan(1e-6);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
  });

  it('draws standard normals (ziggurat) and uniforms deterministically per seed and stream', () => {
    const a = createRandom(7);
    const xs = Array.from({ length: 200_000 }, () => a.normal());
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(sd).toBeCloseTo(1, 2);
    const sorted = xs.sort((x, y) => x - y);
    let ks = 0;
    sorted.forEach((x, i) => (ks = Math.max(ks, Math.abs(normalCdf(x) - (i + 1) / sorted.length))));
    expect(ks).toBeLessThan(0.005);
    expect(createRandom(7).next()).toBe(createRandom(7).next());
    expect(createRandom(7, 1).next()).not.toBe(createRandom(7, 2).next());
    expect(createRandom(1).next()).not.toBe(createRandom(2).next());
  });
});

describe('datetime text', () => {
  it('parses the ISO-like formats and writes values back in the same format', () => {
    for (const text of [
      '2024-03-05',
      '2024-03-05 14:23',
      '2024-03-05 14:23:11',
      '2024-03-05T14:23:11.250Z',
      '2024/03/05 14:23:11',
    ]) {
      const parsed = parseDatetime(text)!;
      expect(datetimeFormatter(parsed.format)(parsed.epochMs)).toBe(text);
    }
    expect(parseDatetime('2024-03-05T14:23:11+02:00')!.epochMs).toBe(Date.UTC(2024, 2, 5, 12, 23, 11));
    expect(parseDatetime('2023-02-30')).toBeUndefined();
    expect(parseDatetime('12345')).toBeUndefined();
    const iso = datetimeFormatter('YYYY-MM-DDTHH:mm:ss.SSSZ');
    for (const t of [0, -86_400_001, 951_782_400_000, 4_102_444_799_999])
      expect(iso(t)).toBe(new Date(t).toISOString());
  });
});

describe('guided picks', () => {
  it('return exactly what a binary search over the cumulative probabilities returns', () => {
    const random = createRandom(2);
    for (const n of [1, 2, 7, 24, 300]) {
      const weights = Array.from({ length: n }, (_, i) => (i % 5 === 3 ? 0 : random.next()));
      const total = weights.reduce((a, b) => a + b, 0) || 1;
      const cumulative = new Float64Array(n);
      let running = 0;
      weights.forEach((w, i) => (cumulative[i] = running += w / total));
      cumulative[n - 1] = 1;
      const pick = guidedPicker(cumulative);
      for (let k = 0; k < 20_000; k++) {
        const u =
          k < 10
            ? [0, 1e-12, 0.5, 1 - 1e-12, cumulative[0], cumulative[Math.floor(n / 2)], 0.25, 0.75, 0.1, 0.9][k]
            : random.next();
        expect(pick(u)).toBe(pickIndex(cumulative, u));
      }
    }
  });
});

describe('fillNormal', () => {
  it('gives the same values as calling normal() one by one', () => {
    const a = createRandom(11);
    const b = createRandom(11);
    const filled = new Float64Array(5000);
    a.fillNormal(filled, 5000);
    expect(Array.from(filled)).toEqual(Array.from({ length: 5000 }, () => b.normal()));
  });
});
