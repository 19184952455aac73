import { describe, expect, it } from 'vitest';
import { accuracy, auc, type BinaryLabel, percentile, roundTo } from '../../src/gates/metrics';

/** AUC by definition: over every (positive, negative) pair, 1 if the positive scores higher, 1/2 on a tie. */
function pairwiseAuc(scores: number[], labels: BinaryLabel[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((sp, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((sn, j) => {
      if (labels[j] !== 0) return;
      pairs++;
      wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('auc', () => {
  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });

  it('is 0.5 when every score ties', () => {
    expect(auc([0.3, 0.3, 0.3, 0.3], [1, 0, 1, 0])).toBe(0.5);
  });

  it('counts a tie between a positive and a negative as one half', () => {
    // positives 0.4, 0.8; negatives 0.1, 0.4: pairs 1 + 0.5 + 1 + 1 = 3.5 of 4
    expect(auc([0.1, 0.4, 0.4, 0.8], [0, 1, 0, 1])).toBe(0.875);
    // positives 0.3, 0.9; negatives 0.3, 0.3, 0.1: (0.5 + 0.5 + 1) + 3 = 5 of 6
    expect(auc([0.3, 0.3, 0.3, 0.9, 0.1], [1, 0, 0, 1, 0])).toBeCloseTo(5 / 6, 12);
  });

  it('does not depend on the order of the records', () => {
    expect(auc([0.8, 0.1, 0.4, 0.4], [1, 0, 0, 1])).toBe(0.875);
  });

  it('matches the pairwise definition on coarse scores with many ties', () => {
    let state = 17;
    const next = () => (state = (state * 48271) % 2147483647) / 2147483647;
    const scores = Array.from({ length: 400 }, () => Math.round(next() * 10) / 10);
    const labels = scores.map((s) => (next() < 0.2 + 0.6 * s ? 1 : 0)) as BinaryLabel[];
    expect(auc(scores, labels)).toBeCloseTo(pairwiseAuc(scores, labels), 12);
  });

  it('refuses input it cannot measure', () => {
    expect(() => auc([0.1, 0.2], [1, 1])).toThrow(/both classes/);
    expect(() => auc([0.1, 0.2], [0, 0])).toThrow(/both classes/);
    expect(() => auc([0.1], [0, 1])).toThrow(/1 scores for 2 labels/);
  });
});

describe('accuracy', () => {
  it('predicts positive at or above the cutoff', () => {
    // predictions at 0.5: 0, 1, 1, 0 vs labels 0, 1, 0, 1 -> 2 of 4
    expect(accuracy([0.2, 0.5, 0.7, 0.49], [0, 1, 0, 1], 0.5)).toBe(0.5);
    // at 0.45 the 0.49 becomes positive: predictions 0, 1, 1, 1 -> 3 of 4
    expect(accuracy([0.2, 0.5, 0.7, 0.49], [0, 1, 0, 1], 0.45)).toBe(0.75);
    expect(accuracy([0.2, 0.5, 0.7, 0.49], [0, 1, 1, 1], 0.45)).toBe(1);
  });

  it('refuses an empty set', () => {
    expect(() => accuracy([], [], 0.5)).toThrow(RangeError);
  });
});

describe('percentile (nearest rank)', () => {
  const values = [35, 20, 50, 15, 40]; // sorted: 15 20 35 40 50

  it('returns the smallest value with at least p % of the values at or below it', () => {
    expect(percentile(values, 5)).toBe(15);
    expect(percentile(values, 25)).toBe(20); // rank ceil(1.25) = 2, not round(1.25) = 1
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 40)).toBe(20);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 61)).toBe(40);
    expect(percentile(values, 100)).toBe(50);
  });

  it('is not thrown off by floating point: p7 of 1..100 is 7', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 7)).toBe(7);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile(hundred, 99.5)).toBe(100);
  });

  it('leaves its input unsorted', () => {
    const copy = [...values];
    percentile(values, 50);
    expect(values).toEqual(copy);
  });

  it('refuses an empty list or a percentile outside (0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile(values, 0)).toThrow(RangeError);
    expect(() => percentile(values, 101)).toThrow(RangeError);
  });
});

describe('roundTo', () => {
  it('rounds to the given decimals', () => {
    expect(roundTo(0.912345, 4)).toBe(0.9123);
    expect(roundTo(0.91235, 4)).toBe(0.9124);
    expect(roundTo(12.345678, 2)).toBe(12.35);
  });
});
