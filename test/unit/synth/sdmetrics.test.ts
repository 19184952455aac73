// Strata's SDMetrics metrics against SDMetrics' own published test cases
// (test/fixtures/sdmetrics/cases.json names the SDMetrics test of each), and the properties
// SDMetrics' tests assert where their inputs are random.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../../src/data/profile/random';
import { logisticDetection, mlEfficacy, rocAuc, type Table } from '../../../src/data/synth/detection';
import {
  contingencySimilarity,
  correlationSimilarity,
  digitize,
  histogramBinEdges,
  ksComplement,
  pairwiseCorrelation,
  type PairColumn,
  tvComplement,
} from '../../../src/data/synth/sdmetrics';

type Values = Array<string | number | null> | { repeat: Array<[string, number]> };
interface Case {
  metric: string;
  test: string;
  real: Values | Record<string, Values>;
  synthetic: Values | Record<string, Values>;
  coefficient?: 'Pearson' | 'Spearman';
  continuous?: string[];
  expected: number | null;
  tolerance?: number;
}

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../../fixtures/sdmetrics/cases.json'), 'utf8')) as {
  cases: Case[];
};

const expand = (v: Values): Array<string | number | null> =>
  Array.isArray(v) ? v : v.repeat.flatMap(([value, n]) => new Array<string>(n).fill(value));
const columnsOf = (table: Case['real']): Array<Array<string | number | null>> => Object.values(table).map(expand);
const numbers = (v: Array<string | number | null>): Array<number | null> =>
  v.map((x) => (x === null ? null : Number(x)));
const keys = (v: Array<string | number | null>): Array<string | null> => v.map((x) => (x === null ? null : String(x)));

function compute(c: Case): number | undefined {
  switch (c.metric) {
    case 'TVComplement':
      return tvComplement(keys(expand(c.real as Values)), keys(expand(c.synthetic as Values)));
    case 'KSComplement':
      return ksComplement(numbers(expand(c.real as Values)), numbers(expand(c.synthetic as Values)));
    case 'CorrelationSimilarity': {
      const [ra, rb] = columnsOf(c.real).map(numbers);
      const [sa, sb] = columnsOf(c.synthetic).map(numbers);
      const { score } = correlationSimilarity([ra, rb], [sa, sb], c.coefficient);
      return Number.isFinite(score) ? score : undefined;
    }
    case 'ContingencySimilarity': {
      const names = Object.keys(c.real);
      const real = columnsOf(c.real);
      const synthetic = columnsOf(c.synthetic);
      const pair = names.map((name, i): PairColumn =>
        c.continuous?.includes(name)
          ? { kind: 'continuous', real: numbers(real[i]), synthetic: numbers(synthetic[i]) }
          : { kind: 'discrete', real: keys(real[i]), synthetic: keys(synthetic[i]) },
      );
      return contingencySimilarity(pair[0], pair[1]);
    }
    default:
      throw new Error(`unknown metric ${c.metric}`);
  }
}

describe("SDMetrics' published cases", () => {
  for (const c of fixture.cases) {
    it(`${c.metric}: ${c.test.split('::').slice(1).join('::')}`, () => {
      const score = compute(c);
      if (c.expected === null) expect(score).toBeUndefined();
      else expect(Math.abs(score! - c.expected)).toBeLessThanOrEqual(c.tolerance ?? 1e-15);
    });
  }
});

function normals(n: number, mean: number, sd: number, seed: number): number[] {
  const random = createRandom(seed, 1);
  return Array.from({ length: n }, () => mean + sd * random.normal());
}

describe('KSComplement (the bounds SDMetrics asserts on random draws)', () => {
  // tests/integration/single_column/statistical/test_kscomplement.py: test_max, test_min, test_good, test_bad
  const real = normals(1000, 0, 1, 1);
  it('is 1 for data against itself (test_max)', () => expect(ksComplement(real, real)).toBe(1));
  it('is 0 for disjoint data (test_min)', () => expect(ksComplement(real, normals(1000, 1000, 10, 2))).toBe(0));
  it('is in (0.5, 1] for a slight shift (test_good)', () => {
    const score = ksComplement(real, normals(1000, 0.1, 1, 3))!;
    expect(score).toBeGreaterThan(0.5);
    expect(score).toBeLessThanOrEqual(1);
  });
  it('is in [0, 0.5) for a large shift (test_bad)', () => {
    expect(ksComplement(real, normals(1000, 3, 3, 4))!).toBeLessThan(0.5);
  });
});

describe('pairs with missing values', () => {
  it('takes correlations on the rows where both values are present (pandas dropna on the pair)', () => {
    const a = [1, 2, null, 4, 5, 6];
    const b = [2, null, 9, 7, 3, 6];
    // complete rows: (1,2) (4,7) (5,3) (6,6): ranks 1 2 3 4 against 1 4 2 3, Σd² = 6, ρ = 1 − 36/60
    expect(pairwiseCorrelation(a, b, 'Spearman')).toBeCloseTo(0.4, 12);
  });

  it('bins as numpy: equal-width edges over the real range, digitize with missing in a bin of its own', () => {
    const edges = histogramBinEdges([1, 2, 3, 4], 10);
    expect(edges).toHaveLength(11);
    expect(edges[0]).toBe(1);
    expect(edges[10]).toBe(4);
    expect(digitize(1, edges)).toBe(1);
    expect(digitize(4, edges)).toBe(11);
    expect(digitize(0, edges)).toBe(0);
    expect(digitize(null, edges)).toBe(11);
  });
});

describe('LogisticDetection and TSTR', () => {
  const table = (seed: number, n: number, shift: number, labelled = false): Table => {
    const random = createRandom(seed, 2);
    const x = Float64Array.from({ length: n }, () => random.normal() + shift);
    const c = Array.from({ length: n }, () => (random.next() < 0.3 ? 'a' : 'b'));
    const y = Float64Array.from(x, (v, i) => (v - shift + (c[i] === 'a' ? 1 : 0) + random.normal() > 0.5 ? 1 : 0));
    return [
      { name: 'x', kind: 'continuous', values: x },
      { name: 'c', kind: 'categorical', values: c },
      ...(labelled ? [{ name: 'y', kind: 'boolean' as const, values: y }] : []),
    ];
  };

  it('scores 1 − 2·max(AUC − 0.5, 0): near 1 for rows from the same distribution, 0 for separable rows', () => {
    expect(logisticDetection(table(1, 1000, 0), table(2, 1000, 0))!.score).toBeGreaterThan(0.9);
    expect(logisticDetection(table(1, 1000, 0), table(2, 1000, 50))!.score).toBeLessThan(0.01);
  });

  it('computes ROC AUC with ties counted half', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
  });

  it('TSTR: synthetic rows with the real signal score near 1, labels independent of the features near 0', () => {
    const real = table(3, 2000, 0, true);
    const good = mlEfficacy(real, table(4, 2000, 0, true), 'y')!;
    expect(good.trtr).toBeGreaterThan(0.7);
    expect(good.score).toBeGreaterThan(0.9);
    const shuffledLabels = table(5, 2000, 0, true);
    const y = shuffledLabels[2].values as Float64Array;
    const random = createRandom(9, 3);
    for (let i = y.length - 1; i > 0; i--) {
      const j = Math.floor(random.next() * (i + 1));
      [y[i], y[j]] = [y[j], y[i]];
    }
    expect(mlEfficacy(real, shuffledLabels, 'y')!.score).toBeLessThan(0.3);
  });
});
