import { describe, expect, it } from 'vitest';
import { compareRuns, differenceStandardError, type MetricKey, successiveVariance } from '../../../src/load/compare';
import type { LoadResult, LoadWindow } from '../../../src/load/generator';
import type { StoredRun } from '../../../src/load/runs';

/** A 1000 requests/s run of `windowsP99.length` full seconds whose window p99s are given; other latencies scale with p99. */
function run(
  id: string,
  windowsP99: number[],
  over: { errors?: number; throughput?: number; p99?: number; answeredJitter?: number[] } = {},
): StoredRun {
  const windows: LoadWindow[] = windowsP99.map((p99, second) => {
    const answered = 1000 + (over.answeredJitter?.[second] ?? 0);
    return {
      second,
      intended: 1000,
      sent: 1000,
      answered,
      done: answered,
      errors: 0,
      p50: p99 / 4,
      p90: p99 / 2,
      p99,
      p999: p99 * 1.5,
      max: p99 * 2,
      partial: false,
    };
  });
  const p99 = over.p99 ?? windowsP99.reduce((a, b) => a + b, 0) / windowsP99.length;
  const n = windows.length * 1000;
  const errors = over.errors ?? 0;
  const results: LoadResult = {
    runId: id,
    target: 'http://127.0.0.1:1/predict',
    startedAt: '2026-11-25T10:00:00.000Z',
    finishedAt: '2026-11-25T10:00:10.000Z',
    plannedDurationMs: windows.length * 1000,
    durationMs: windows.length * 1000,
    aborted: false,
    maxConcurrency: 64,
    timeoutMs: 2000,
    requests: { intended: n, sent: n, answered: n, ok: n - errors, cancelled: 0, unsent: 0 },
    errors: {
      total: errors,
      rate: errors / n,
      byStatus: errors ? { 500: errors } : {},
      timeouts: 0,
      dropped: 0,
      connection: 0,
      connectionByCode: {},
    },
    latencyMs: { count: n, mean: p99 / 3, p50: p99 / 4, p90: p99 / 2, p99, p999: p99 * 1.5, max: p99 * 2 },
    serviceTimeMs: { count: n, mean: p99 / 3, p50: p99 / 4, p90: p99 / 2, p99, p999: p99 * 1.5, max: p99 * 2 },
    throughput: over.throughput ?? 1000,
    targetRate: 1000,
    achievedRate: 1000,
    achievedRatePercent: 100,
    windows,
  };
  return {
    id,
    createdAt: '2026-11-25T10:00:00.000Z',
    layer: 'traffic',
    profile: {
      phases: [{ constant: { rate: 1000, duration: `${windows.length}s` } }],
      maxConcurrency: 64,
      timeoutMs: 2000,
      requests: { source: 'environment' },
      seed: 1,
      batch: 1,
    },
    seed: 1,
    candidate: { name: 'fraud-scoring', version: '2.0.0', digest: 'a'.repeat(64) },
    target: results.target,
    results,
  };
}

const metric = (c: ReturnType<typeof compareRuns>, key: MetricKey) => c.metrics.find((m) => m.metric === key)!;
const noisy = (base: number, amplitude: number, n = 10) =>
  Array.from({ length: n }, (_, i) => base + (i % 2 === 0 ? amplitude : -amplitude));

describe('noise estimate', () => {
  it('takes the mean squared successive difference, so a steady trend is not noise', () => {
    const ramp = Array.from({ length: 10 }, (_, i) => i * 10);
    expect(successiveVariance(ramp)).toBe(50); // (10² × 9) / (2 × 9)
    expect(successiveVariance([5, 7, 5, 7])).toBe(2); // (4 × 3) / 6
    expect(successiveVariance([3])).toBeNull();
  });

  it('pools both runs into the standard error of the difference of their means', () => {
    const a = [5, 7, 5, 7]; // s² = 2, n = 4
    const b = [1, 1, 1, 1, 1, 1]; // s² = 0, n = 6
    const pooled = (3 * 2 + 5 * 0) / 8;
    expect(differenceStandardError(a, b)).toBeCloseTo(Math.sqrt(pooled) * Math.sqrt(1 / 4 + 1 / 6), 12);
    expect(differenceStandardError([1], b)).toBeNull();
  });
});

describe('compareRuns', () => {
  it('calls two identical runs the same within noise', () => {
    const c = compareRuns(run('A', noisy(20, 2)), run('B', noisy(20, 2)));
    expect(c.verdict).toBe('same within noise');
    expect(c.metrics.every((m) => m.verdict === 'same within noise')).toBe(true);
    expect(c.windows).toEqual({ a: 10, b: 10 });
    expect(c.notes).toEqual([]);
  });

  it('reports B faster when its latency is lower by more than 3× the noise, with deltas B − A', () => {
    const c = compareRuns(run('A', noisy(40, 2)), run('B', noisy(20, 2)));
    const p99 = metric(c, 'p99');
    expect(p99).toMatchObject({
      a: 40,
      b: 20,
      delta: -20,
      deltaPercent: -50,
      exceedsNoise: true,
      better: 'B',
      verdict: 'B faster',
    });
    // s² = (4² × 9)/(18) = 8 per run; SE = √8 × √(2/10) = 1.265; 3 SE = 3.79
    expect(p99.noise).toBeCloseTo(3 * Math.sqrt(8) * Math.sqrt(0.2), 5);
    expect(c.verdict).toBe('B better');
    expect(c.summary).toMatch(/^B \(B\) better beyond 3× noise: p50 .*p99 -20 ms, -50\.0 %/);
  });

  it('calls a difference smaller than 3× the noise the same, and a larger one not', () => {
    // Window p99s alternate ±10 ms: 3·SE ≈ 3 × √200 × √0.2 ≈ 19 ms.
    expect(metric(compareRuns(run('A', noisy(100, 10)), run('B', noisy(115, 10))), 'p99').verdict).toBe(
      'same within noise',
    );
    expect(metric(compareRuns(run('A', noisy(100, 10)), run('B', noisy(125, 10))), 'p99').verdict).toBe('A faster');
  });

  it('treats the maximum as one extreme draw: its noise does not shrink with the number of windows', () => {
    // A warm-up outlier in A's first window sets A's max; the windows' maxima otherwise agree.
    const a = run('A', [10, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    const b = run('B', [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    a.results.latencyMs.max = 12;
    b.results.latencyMs.max = 4;
    const max = metric(compareRuns(a, b), 'max');
    // Window maxima are 2 × p99: s² = 16²/18 for A, 0 for B, pooled 9 × (256/18) / 18; SE = s_p × √2
    // (≈ 11.3 at 3 SE), where an average-like figure would get s_p × √(2/10) (≈ 3.6): 8 ms apart is noise.
    const pooled = (9 * (256 / 18)) / 18;
    expect(max.noise).toBeCloseTo(3 * Math.sqrt(pooled) * Math.SQRT2, 6);
    expect(max.verdict).toBe('same within noise');
    // p99 is an average-like figure; so is p99.9 over windows of 1000 answers (pooled s² = 4 for 1.5 × p99).
    expect(metric(compareRuns(a, b), 'p99').noise).toBeCloseTo(3 * Math.sqrt((9 * 64) / 18 / 18) * Math.sqrt(0.2), 6);
    expect(metric(compareRuns(a, b), 'p999').noise).toBeCloseTo(3 * 2 * Math.sqrt(0.2), 6);
    // With 500 answers a window, a window's p99.9 is its maximum: treated as an extreme too.
    const half = Array.from({ length: 10 }, () => -500);
    const small = compareRuns(
      run('A', [10, 2, 2, 2, 2, 2, 2, 2, 2, 2], { answeredJitter: half }),
      run('B', noisy(2, 0), { answeredJitter: half }),
    );
    expect(metric(small, 'p999').noise).toBeCloseTo(3 * 2 * Math.SQRT2, 6);
  });

  it('does not call a sub-1 % difference real even when both runs are perfectly steady', () => {
    const c = compareRuns(run('A', noisy(100, 0)), run('B', noisy(100.5, 0)));
    expect(metric(c, 'p99')).toMatchObject({ noise: 0, threshold: 1.005, verdict: 'same within noise' });
    expect(metric(compareRuns(run('A', noisy(100, 0)), run('B', noisy(102, 0))), 'p99').verdict).toBe('A faster');
  });

  it('judges the error rate as a proportion (two-proportion test)', () => {
    const few = compareRuns(run('A', noisy(20, 1), { errors: 10 }), run('B', noisy(20, 1), { errors: 14 }));
    expect(metric(few, 'errorRate').verdict).toBe('same within noise');
    const many = compareRuns(run('A', noisy(20, 1), { errors: 0 }), run('B', noisy(20, 1), { errors: 60 }));
    expect(metric(many, 'errorRate')).toMatchObject({ a: 0, b: 0.006, verdict: 'A fewer errors', better: 'A' });
    expect(many.verdict).toBe('A better');
  });

  it('says "mixed" when each run wins on something', () => {
    const c = compareRuns(run('A', noisy(20, 1), { errors: 0 }), run('B', noisy(10, 1), { errors: 80 }));
    expect(metric(c, 'p99').verdict).toBe('B faster');
    expect(metric(c, 'errorRate').verdict).toBe('A fewer errors');
    expect(c.verdict).toBe('mixed');
    expect(c.summary).toMatch(/^mixed: A \(A\) better on error rate .*; B \(B\) better on p50/);
  });

  it('judges throughput against the window-to-window spread of answers', () => {
    const jitter = Array.from({ length: 10 }, (_, i) => (i % 2 ? 30 : -30));
    expect(
      metric(
        compareRuns(
          run('A', noisy(20, 1), { throughput: 1000, answeredJitter: jitter }),
          run('B', noisy(20, 1), { throughput: 1020, answeredJitter: jitter }),
        ),
        'throughput',
      ).verdict,
    ).toBe('same within noise');
    expect(
      metric(
        compareRuns(run('A', noisy(20, 1), { throughput: 1000 }), run('B', noisy(20, 1), { throughput: 800 })),
        'throughput',
      ).verdict,
    ).toBe('A higher');
  });

  it('says when the noise could not be measured, and falls back to the floor', () => {
    const c = compareRuns(run('A', [20]), run('B', noisy(30, 1)));
    expect(c.notes[0]).toMatch(/^noise not measured: run A has fewer than 2 full one-second windows/);
    expect(metric(c, 'p99')).toMatchObject({ noise: null, verdict: 'A faster' });
  });

  it('leaves partial windows out of the noise', () => {
    const a = run('A', noisy(20, 1));
    a.results.windows.push({ ...a.results.windows[0], second: 10, p99: 900, answered: 3, partial: true });
    const c = compareRuns(a, run('B', noisy(20, 1)));
    expect(c.windows.a).toBe(10);
    expect(metric(c, 'p99').noise).toBeLessThan(3);
  });

  it('notes different profiles, candidates, layers and aborted runs', () => {
    const a = run('A', noisy(20, 1));
    const b = run('B', noisy(20, 1));
    b.profile = { ...b.profile, maxConcurrency: 8 };
    b.candidate = { name: 'fraud-scoring', version: '3.0.0', digest: 'b'.repeat(64) };
    b.layer = 'mirror';
    b.results.aborted = true;
    expect(compareRuns(a, b).notes).toEqual([
      'the two runs used different profiles: differences may come from the load, not the candidate',
      'different candidates: A fraud-scoring 2.0.0, B fraud-scoring 3.0.0',
      'different layers: A traffic, B mirror',
      'run B (B) was aborted: its figures cover only part of the profile',
    ]);
  });

  it('marks a metric neither run measured', () => {
    const a = run('A', noisy(20, 1));
    const b = run('B', noisy(20, 1));
    a.results.latencyMs.p99 = null;
    expect(metric(compareRuns(a, b), 'p99')).toMatchObject({ verdict: 'not measured', delta: null, better: null });
  });
});
