import { describe, expect, it } from 'vitest';
import { createRandom } from '../../../src/data/profile/random';
import { compileLabelRule, type LabelValue, LabelRuleError, type RuleScope } from '../../../src/data/synth/label';

const scope: RuleScope = {
  columns: new Map([
    ['amount', { index: 0, kind: 'number' }],
    ['channel', { index: 1, kind: 'string' }],
    ['is_foreign', { index: 2, kind: 'number' }],
    ['created at', { index: 3, kind: 'number' }],
  ]),
};

function evaluate(rule: string, row: LabelValue[], seed = 1): LabelValue {
  return compileLabelRule(rule, scope).evaluate((i) => row[i], createRandom(seed));
}

const row: LabelValue[] = [100, 'web', 1, Date.UTC(2024, 2, 6, 14, 30)];

describe('label rules', () => {
  it('evaluates arithmetic with the usual precedence, comparisons and logic', () => {
    expect(evaluate('y = 1 + 2 * 3 ^ 2', row)).toBe(19);
    expect(evaluate('y = -2 ^ 2', row)).toBe(-4);
    expect(evaluate('y = (1 + 2) * 3 - 10 / 4 % 2', row)).toBe(8.5);
    expect(evaluate('y = amount > 50 and channel == "web"', row)).toBe(1);
    expect(evaluate("y = not (channel != 'web') or 0", row)).toBe(1);
    expect(evaluate('y = is_foreign <= 0', row)).toBe(0);
  });

  it('has functions: logistic, log1p, min/max/clamp, if, coalesce, and datetime parts', () => {
    expect(evaluate('y = logistic(0)', row)).toBe(0.5);
    expect(evaluate('y = log1p(amount)', row)).toBeCloseTo(Math.log1p(100), 12);
    expect(evaluate('y = clamp(amount, 0, 10) + min(1, 2, 3) + max(4, 5)', row)).toBe(16);
    expect(evaluate('y = if(amount > 10, "big", "small")', row)).toBe('big');
    expect(evaluate('y = coalesce(amount, 0)', [null, 'pos', 0, 0])).toBe(0);
    expect(
      evaluate('y = hour(`created at`) * 10 + weekday(`created at`) + month(`created at`) / 100', row),
    ).toBeCloseTo(142.03, 10);
  });

  it('propagates missing inputs unless coalesce() supplies a value', () => {
    expect(evaluate('y = amount * 2', [null, 'web', 1, 0])).toBeNull();
    expect(evaluate('y ~ logistic(amount)', [null, 'web', 1, 0])).toBeNull();
  });

  it('draws 0/1 with the given probability for ~, reproducibly per seed', () => {
    const rule = compileLabelRule('y ~ 0.3', scope);
    const random = createRandom(5);
    const draws = Array.from({ length: 20_000 }, () => rule.evaluate(() => null, random));
    const ones = draws.filter((d) => d === 1).length / draws.length;
    expect(ones).toBeGreaterThan(0.28);
    expect(ones).toBeLessThan(0.32);
    const again = createRandom(5);
    expect(Array.from({ length: 100 }, () => rule.evaluate(() => null, again))).toEqual(draws.slice(0, 100));
    expect(evaluate('y ~ 5', row)).toBe(1); // probabilities are clamped to [0, 1]
  });

  it('reports syntax and type errors at the character where they are', () => {
    const message = (rule: string) => {
      try {
        compileLabelRule(rule, scope);
      } catch (err) {
        expect(err).toBeInstanceOf(LabelRuleError);
        return (err as Error).message;
      }
      throw new Error(`${rule} compiled`);
    };
    expect(message('y = amount +')).toBe('--label "y = amount +": at character 13: the expression ends too early');
    expect(message('y logistic(1)')).toMatch(/at character 3: expected = \(store the value\) or ~/);
    expect(message('y = amout * 2')).toMatch(
      /at character 5: no column named "amout"; columns: amount, channel, is_foreign, created at/,
    );
    expect(message('y = channel * 2')).toMatch(/at character 5: \* needs numbers; this is text/);
    expect(message('y = channel == 1')).toMatch(/at character 13: cannot compare text with a number/);
    expect(message('y = frobnicate(1)')).toMatch(/at character 5: unknown function frobnicate\(\); known: logistic/);
    expect(message('y = logistic(1, 2)')).toMatch(/logistic\(\) takes 1 argument, got 2/);
    expect(message('y ~ channel')).toMatch(/~ needs a probability/);
    expect(message('y = "open')).toMatch(/at character 5: a string is never closed/);
    expect(message('y = 1 1')).toMatch(/at character 7: unexpected text after the expression/);
  });
});
