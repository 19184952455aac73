import { describe, expect, it } from 'vitest';
import { validate } from '../../../src/validation/errors';
import {
  intendedCount,
  intendedSchedule,
  loadProfileSchema,
  type LoadProfileInput,
  profileDurationMs,
  targetRate,
} from '../../../src/load/profile';

const parse = (input: LoadProfileInput) => loadProfileSchema.parse(input);
const issues = (input: unknown) => {
  const result = validate(loadProfileSchema, input);
  if (result.success) throw new Error('expected the profile to be rejected');
  return result.issues;
};

describe('intendedSchedule', () => {
  it('spaces a constant rate evenly, the first request at the start', () => {
    const s = intendedSchedule(parse({ phases: [{ constant: { rate: 10, duration: '1s' } }] }));
    expect(Array.from(s)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
  });

  it('sends ⌈rate × duration⌉ requests, also for fractional rates', () => {
    expect(Array.from(intendedSchedule(parse({ phases: [{ constant: { rate: 0.5, duration: '3s' } }] })))).toEqual([
      0, 2000,
    ]);
    expect(intendedSchedule(parse({ phases: [{ constant: { rate: 3, duration: '1s' } }] }))).toHaveLength(3);
    expect(intendedSchedule(parse({ phases: [{ constant: { rate: 1000, duration: '10s' } }] }))).toHaveLength(10_000);
  });

  it('integrates a ramp: N(t) = a·t + (b − a)·t²/(2D) requests by time t', () => {
    // 1 → 5 requests/s over 2 s: N(t) = t + t², 6 requests in all.
    const s = intendedSchedule(parse({ phases: [{ ramp: { from: 1, to: 5, duration: '2s' } }] }));
    expect(s).toHaveLength(6);
    s.forEach((ms, k) => {
      const t = ms / 1000;
      expect(t + t * t).toBeCloseTo(k, 9);
    });
  });

  it('ramps down as well as up, with the sends getting further apart', () => {
    const s = Array.from(intendedSchedule(parse({ phases: [{ ramp: { from: 100, to: 10, duration: '4s' } }] })));
    expect(s).toHaveLength(220); // (100 + 10) / 2 × 4
    const gaps = s.slice(1).map((t, i) => t - s[i]);
    expect(gaps[0]).toBeCloseTo(10, 0);
    expect(gaps.at(-1)!).toBeGreaterThan(60);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeGreaterThanOrEqual(gaps[i - 1] - 1e-9);
    expect(s.at(-1)!).toBeLessThan(4000);
  });

  it('matches a constant rate when a ramp starts and ends at the same rate', () => {
    const ramp = intendedSchedule(parse({ phases: [{ ramp: { from: 20, to: 20, duration: '2s' } }] }));
    const constant = intendedSchedule(parse({ phases: [{ constant: { rate: 20, duration: '2s' } }] }));
    expect(Array.from(ramp)).toEqual(Array.from(constant));
  });

  it('plays phases one after another; a burst is a high constant rate', () => {
    const profile = parse({
      phases: [
        { constant: { rate: 2, duration: '1s' } },
        { burst: { rate: 10, duration: '500ms' } },
        { constant: { rate: 1, duration: '2s' } },
      ],
    });
    expect(Array.from(intendedSchedule(profile))).toEqual([0, 500, 1000, 1100, 1200, 1300, 1400, 1500, 2500]);
    expect(profileDurationMs(profile)).toBe(3500);
    expect(intendedCount(profile)).toBe(9);
    expect(targetRate(profile)).toBeCloseTo(9 / 3.5, 9);
  });

  it('is ascending and ends before the profile does', () => {
    const profile = parse({
      phases: [{ ramp: { from: 5, to: 300, duration: '3s' } }, { burst: { rate: 700, duration: '1s' } }],
    });
    const s = intendedSchedule(profile);
    for (let i = 1; i < s.length; i++) expect(s[i]).toBeGreaterThanOrEqual(s[i - 1]);
    expect(s[s.length - 1]).toBeLessThan(profileDurationMs(profile));
  });
});

describe('loadProfileSchema', () => {
  it('fills in the defaults and keeps the profile plain JSON that parses to itself again', () => {
    const profile = parse({ phases: [{ constant: { rate: 50, duration: '30s' } }] });
    expect(profile).toEqual({
      phases: [{ constant: { rate: 50, duration: '30s' } }],
      maxConcurrency: 64,
      timeoutMs: 2000,
      requests: { source: 'environment' },
      seed: 1,
      batch: 1,
    });
    expect(loadProfileSchema.parse(JSON.parse(JSON.stringify(profile)))).toEqual(profile);
  });

  it('accepts a replay source with a file', () => {
    expect(
      parse({ phases: [{ burst: { rate: 1, duration: '1s' } }], requests: { source: 'replay', file: 'x.jsonl' } })
        .requests,
    ).toEqual({
      source: 'replay',
      file: 'x.jsonl',
    });
  });

  it.each([
    [{ constant: { rate: 0, duration: '10s' } }, 'phases[0].constant.rate', 'got 0'],
    [{ constant: { rate: -5, duration: '10s' } }, 'phases[0].constant.rate', 'got -5'],
    [{ burst: { rate: 0, duration: '1s' } }, 'phases[0].burst.rate', 'got 0'],
    [{ ramp: { from: 0, to: 10, duration: '10s' } }, 'phases[0].ramp.from', 'got 0'],
    [{ ramp: { from: 10, to: -1, duration: '10s' } }, 'phases[0].ramp.to', 'got -1'],
    [{ constant: { rate: 'fast', duration: '10s' } }, 'phases[0].constant.rate', 'got "fast"'],
  ])('rejects a rate <= 0, naming the field: %j', (phase, path, got) => {
    expect(issues({ phases: [phase] })).toEqual([{ path, message: `expected a rate > 0 requests/s, ${got}` }]);
  });

  it('names the phase and the field for a bad duration, and the index of the phase', () => {
    expect(
      issues({
        phases: [{ constant: { rate: 1, duration: '1s' } }, { constant: { rate: 1, duration: '10 parsecs' } }],
      }),
    ).toEqual([
      {
        path: 'phases[1].constant.duration',
        message: expect.stringMatching(/^expected a duration such as .*, got "10 parsecs"$/),
      },
    ]);
    expect(issues({ phases: [{ constant: { rate: 1, duration: '0s' } }] })).toEqual([
      { path: 'phases[0].constant.duration', message: 'expected a duration longer than zero, got "0s"' },
    ]);
  });

  it('says a phase is exactly one of constant, ramp and burst', () => {
    expect(issues({ phases: [{}] })[0]).toEqual({
      path: 'phases[0]',
      message: expect.stringContaining('expected one of constant, ramp, burst'),
    });
    expect(issues({ phases: [{ constant: { rate: 1, duration: '1s' }, burst: { rate: 9, duration: '1s' } }] })).toEqual(
      [{ path: 'phases[0]', message: 'a phase is exactly one of constant, ramp, burst; got constant and burst' }],
    );
    expect(issues({ phases: [{ steady: { rate: 1 } }] })).toContainEqual({
      path: 'phases[0].steady',
      message: 'unknown key "steady"',
    });
  });

  it('rejects bad throttle, timeout, batch, seed and request source values by field', () => {
    const phases = [{ constant: { rate: 1, duration: '1s' } }];
    expect(issues({ phases, maxConcurrency: 0 })).toEqual([
      { path: 'maxConcurrency', message: 'expected an integer between 1 and 10000, got 0' },
    ]);
    expect(issues({ phases, timeoutMs: 1.5 })[0].path).toBe('timeoutMs');
    expect(issues({ phases, batch: 0 })[0].path).toBe('batch');
    expect(issues({ phases, seed: 'x' })[0].path).toBe('seed');
    expect(issues({ phases, requests: { source: 'replay' } })).toEqual([
      { path: 'requests.file', message: 'missing; expected the path of a JSONL file, one request body a line' },
    ]);
    expect(issues({ phases, requests: { source: 'kafka' } })).toEqual([
      { path: 'requests.source', message: 'expected source "environment" or "replay", got "kafka"' },
    ]);
    expect(issues({ phases: [] })).toEqual([
      { path: 'phases', message: 'must list at least one item, got an empty list' },
    ]);
  });

  it('refuses a profile that would send more than 5 million requests', () => {
    expect(issues({ phases: [{ constant: { rate: 100_000, duration: '1m' } }] })).toEqual([
      {
        path: 'phases',
        message: 'the phases send 6000000 requests; at most 5000000 per run (lower a rate or a duration)',
      },
    ]);
  });
});
