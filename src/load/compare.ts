// Comparing two stored runs: the figures side by side, their differences, and whether each
// difference is larger than the run-to-run noise of that profile. Pure: no I/O, no clock.
//
// The noise method. A run is a sequence of one-second windows (see LoadWindow); each window has
// its own p50, p90, p99, p99.9 and max, its answer count and its send count. For a metric x:
//
//   1. Take the series x₁…xₙ of that metric over the run's full windows (partial windows at the
//      drain or an abort are left out; latency windows without answers too).
//   2. Estimate the window-to-window variance with the mean squared successive difference,
//      s² = Σ (xᵢ₊₁ − xᵢ)² / (2(n − 1)). Unlike the plain variance it is not inflated by a slow
//      trend, so a ramp's rising latency is not mistaken for noise. Throughput and achieved rate
//      use the residual (answered − intended, sent − intended) per window, so the profile's own
//      shape (ramps, bursts) is not counted either.
//   3. Pool the two runs, s_p² = ((n_A − 1)s_A² + (n_B − 1)s_B²) / (n_A + n_B − 2), and take the
//      standard error of the difference of the two runs' means, SE = s_p·√(1/n_A + 1/n_B).
//      The run-level figure is treated as if it were the mean of its windows: an approximation
//      (a run's p99 is not the mean of its windows' p99s) that gives the right order of magnitude.
//      The maximum does not average out that way: a run's max is the largest of its windows'
//      maxima, one extreme draw, so its noise is the spread of single windows, SE = s_p·√2, with
//      no 1/n. The same holds for p99.9 when the windows hold fewer than 1000 answers each (a
//      window's p99.9 is then its maximum).
//   4. The difference B − A exceeds the noise when |B − A| > k·SE (k = 3), and also exceeds a
//      resolution floor: 1 % of the larger value (and 0.05 ms for latencies), so that two very
//      steady runs do not call a 0.2 % difference real.
//
// The error rate is a proportion of requests, so its noise is the binomial one instead:
// SE = √(p(1 − p)(1/N_A + 1/N_B)) with p the pooled error rate and N the requests with a known
// outcome (a two-proportion z-test at k standard errors).
//
// When a run has fewer than two full windows the noise is not measured: the floor alone decides
// and the comparison says so in its notes.

import type { LatencySummary, LoadResult, LoadWindow } from './generator';
import type { StoredRun } from './runs';

export const NOISE_K = 3;
const RELATIVE_FLOOR = 0.01;
const LATENCY_FLOOR_MS = 0.05;

export type MetricKey = 'p50' | 'p90' | 'p99' | 'p999' | 'max' | 'throughput' | 'errorRate' | 'achievedRate';
type LatencyKey = 'p50' | 'p90' | 'p99' | 'p999' | 'max';

export type MetricVerdict =
  | 'same within noise'
  | 'A faster'
  | 'B faster'
  | 'A higher'
  | 'B higher'
  | 'A fewer errors'
  | 'B fewer errors'
  | 'not measured';

export interface MetricComparison {
  metric: MetricKey;
  label: string;
  unit: string;
  a: number | null;
  b: number | null;
  /** b − a */
  delta: number | null;
  /** (b − a) / a, in percent (null when a is 0 or missing). */
  deltaPercent: number | null;
  /** k × the standard error of the difference; null when it could not be estimated. */
  noise: number | null;
  /** The difference needed to count: max(noise, resolution floor). */
  threshold: number | null;
  exceedsNoise: boolean;
  better: 'A' | 'B' | null;
  verdict: MetricVerdict;
}

export type OverallVerdict = 'same within noise' | 'A better' | 'B better' | 'mixed';

export interface RunComparison {
  a: RunHeader;
  b: RunHeader;
  k: number;
  /** Full one-second windows each run contributed to the noise estimate. */
  windows: { a: number; b: number };
  metrics: MetricComparison[];
  verdict: OverallVerdict;
  summary: string;
  notes: string[];
}

export interface RunHeader {
  id: string;
  createdAt?: string;
  layer?: string;
  candidate?: string;
  targetRate: number;
}

export type ComparableRun = Pick<StoredRun, 'id' | 'results'> & Partial<Omit<StoredRun, 'id' | 'results'>>;

const LATENCY: Array<{ key: LatencyKey; label: string }> = [
  { key: 'p50', label: 'p50' },
  { key: 'p90', label: 'p90' },
  { key: 'p99', label: 'p99' },
  { key: 'p999', label: 'p99.9' },
  { key: 'max', label: 'max' },
];

/** Mean squared successive difference / 2: the window-to-window variance, robust to slow trends. */
export function successiveVariance(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  let sum = 0;
  for (let i = 1; i < xs.length; i++) sum += (xs[i] - xs[i - 1]) ** 2;
  return sum / (2 * (xs.length - 1));
}

/**
 * Standard error of the difference of two runs' means, from their window series (pooled), or of
 * two single draws (`extreme`: the runs' figures are extremes, not averages, of their windows).
 */
export function differenceStandardError(a: readonly number[], b: readonly number[], extreme = false): number | null {
  const va = successiveVariance(a);
  const vb = successiveVariance(b);
  if (va === null || vb === null) return null;
  const pooled = ((a.length - 1) * va + (b.length - 1) * vb) / (a.length + b.length - 2);
  return Math.sqrt(pooled) * (extreme ? Math.SQRT2 : Math.sqrt(1 / a.length + 1 / b.length));
}

/** Answers per full window below which a window's p99.9 is just its maximum. */
const P999_WINDOW_ANSWERS = 1000;

function fullWindows(r: LoadResult): LoadWindow[] {
  return r.windows.filter((w) => !w.partial);
}

function series(r: LoadResult, pick: (w: LoadWindow) => number | null): number[] {
  const out: number[] = [];
  for (const w of fullWindows(r)) {
    const x = pick(w);
    if (x !== null && Number.isFinite(x)) out.push(x);
  }
  return out;
}

function meanAnswers(r: LoadResult): number {
  const full = fullWindows(r);
  return full.length === 0 ? 0 : full.reduce((sum, w) => sum + w.answered, 0) / full.length;
}

function outcomes(r: LoadResult): number {
  return r.requests.answered + r.errors.timeouts + r.errors.dropped + r.errors.connection;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function judge(
  metric: MetricKey,
  label: string,
  unit: string,
  a: number | null,
  b: number | null,
  se: number | null,
  floor: number,
  lowerIsBetter: boolean,
  k: number,
): MetricComparison {
  const base = { metric, label, unit, a, b };
  if (a === null || b === null) {
    return {
      ...base,
      delta: null,
      deltaPercent: null,
      noise: null,
      threshold: null,
      exceedsNoise: false,
      better: null,
      verdict: 'not measured',
    };
  }
  const delta = b - a;
  const noise = se === null ? null : k * se;
  const threshold = Math.max(noise ?? 0, floor);
  const exceedsNoise = Math.abs(delta) > threshold;
  const better: 'A' | 'B' | null = !exceedsNoise ? null : delta < 0 === lowerIsBetter ? 'B' : 'A';
  const word = metric === 'errorRate' ? 'fewer errors' : lowerIsBetter ? 'faster' : 'higher';
  return {
    ...base,
    delta: round(delta, 6),
    deltaPercent: a !== 0 ? round((delta / a) * 100, 2) : null,
    noise: noise === null ? null : round(noise, 6),
    threshold: round(threshold, 6),
    exceedsNoise,
    better,
    verdict: better === null ? 'same within noise' : (`${better} ${word}` as MetricVerdict),
  };
}

/** Compares run A with run B (deltas are B − A). */
export function compareRuns(runA: ComparableRun, runB: ComparableRun, opts: { k?: number } = {}): RunComparison {
  const k = opts.k ?? NOISE_K;
  const a = runA.results;
  const b = runB.results;
  const notes: string[] = [];
  const metrics: MetricComparison[] = [];

  for (const { key, label } of LATENCY) {
    const va = (a.latencyMs as LatencySummary)[key];
    const vb = (b.latencyMs as LatencySummary)[key];
    const extreme = key === 'max' || (key === 'p999' && Math.min(meanAnswers(a), meanAnswers(b)) < P999_WINDOW_ANSWERS);
    const se = differenceStandardError(
      series(a, (w) => w[key]),
      series(b, (w) => w[key]),
      extreme,
    );
    const floor = Math.max(LATENCY_FLOOR_MS, RELATIVE_FLOOR * Math.max(Math.abs(va ?? 0), Math.abs(vb ?? 0)));
    metrics.push(judge(key, label, 'ms', va, vb, se, floor, true, k));
  }

  const relativeFloor = (x: number, y: number) => RELATIVE_FLOOR * Math.max(Math.abs(x), Math.abs(y));
  // A rate judged by its per-second windows' deviation from the intended rate.
  const judgeRate = (
    key: 'throughput' | 'achievedRate',
    label: string,
    perWindow: (w: Parameters<Parameters<typeof series>[1]>[0]) => number,
  ) =>
    judge(
      key,
      label,
      'req/s',
      a[key],
      b[key],
      differenceStandardError(series(a, perWindow), series(b, perWindow)),
      relativeFloor(a[key], b[key]),
      false,
      k,
    );
  metrics.push(judgeRate('throughput', 'throughput', (w) => w.answered - w.intended));

  const na = outcomes(a);
  const nb = outcomes(b);
  const errorRateA = na > 0 ? a.errors.total / na : null;
  const errorRateB = nb > 0 ? b.errors.total / nb : null;
  let errorSe: number | null = null;
  if (errorRateA !== null && errorRateB !== null) {
    const p = (a.errors.total + b.errors.total) / (na + nb);
    errorSe = Math.sqrt(p * (1 - p) * (1 / na + 1 / nb));
  }
  metrics.push(judge('errorRate', 'error rate', 'fraction', errorRateA, errorRateB, errorSe, 0, true, k));

  metrics.push(judgeRate('achievedRate', 'achieved rate', (w) => w.sent - w.intended));

  const windows = { a: fullWindows(a).length, b: fullWindows(b).length };
  if (windows.a < 2 || windows.b < 2) {
    notes.push(
      `noise not measured: run ${windows.a < 2 ? runA.id : runB.id} has fewer than 2 full one-second windows; ` +
        `differences were judged against the ${RELATIVE_FLOOR * 100} % resolution floor alone`,
    );
  }
  notes.push(...differences(runA, runB));

  const significant = metrics.filter((m) => m.better !== null);
  const favours = new Set(significant.map((m) => m.better));
  const verdict: OverallVerdict =
    significant.length === 0
      ? 'same within noise'
      : favours.size === 2
        ? 'mixed'
        : favours.has('A')
          ? 'A better'
          : 'B better';

  return {
    a: header(runA),
    b: header(runB),
    k,
    windows,
    metrics,
    verdict,
    summary: summarise(verdict, significant, runA.id, runB.id, k),
    notes,
  };
}

function header(run: ComparableRun): RunHeader {
  return {
    id: run.id,
    createdAt: run.createdAt,
    layer: run.layer,
    candidate: run.candidate
      ? `${run.candidate.name} ${run.candidate.version} (sha256 ${run.candidate.digest.slice(0, 12)})`
      : undefined,
    targetRate: run.results.targetRate,
  };
}

/** What differs between the two runs besides the candidate's behaviour, worth knowing before reading the verdict. */
function differences(a: ComparableRun, b: ComparableRun): string[] {
  const out: string[] = [];
  if (a.profile && b.profile && JSON.stringify(a.profile) !== JSON.stringify(b.profile)) {
    out.push('the two runs used different profiles: differences may come from the load, not the candidate');
  }
  if (a.candidate && b.candidate && a.candidate.digest !== b.candidate.digest) {
    out.push(
      `different candidates: A ${a.candidate.name} ${a.candidate.version}, B ${b.candidate.name} ${b.candidate.version}`,
    );
  }
  if (a.layer && b.layer && a.layer !== b.layer) out.push(`different layers: A ${a.layer}, B ${b.layer}`);
  for (const [name, run] of [
    ['A', a],
    ['B', b],
  ] as const) {
    if (run.results.aborted)
      out.push(`run ${name} (${run.id}) was aborted: its figures cover only part of the profile`);
  }
  return out;
}

function summarise(
  verdict: OverallVerdict,
  significant: MetricComparison[],
  idA: string,
  idB: string,
  k: number,
): string {
  if (verdict === 'same within noise') return `same within noise: no difference exceeds ${k}× the run-to-run noise`;
  const describe = (m: MetricComparison) => {
    const pct = m.deltaPercent === null ? '' : `, ${m.deltaPercent > 0 ? '+' : ''}${m.deltaPercent.toFixed(1)} %`;
    return `${m.label} ${formatValue(m.delta!, m.unit, true)}${pct}`;
  };
  const side = (who: 'A' | 'B') =>
    significant
      .filter((m) => m.better === who)
      .map(describe)
      .join('; ');
  if (verdict === 'mixed') return `mixed: A (${idA}) better on ${side('A')}; B (${idB}) better on ${side('B')} (B − A)`;
  const who = verdict === 'A better' ? 'A' : 'B';
  return `${who} (${who === 'A' ? idA : idB}) better beyond ${k}× noise: ${side(who)} (B − A)`;
}

/** A value with its unit for tables: ms to 3 decimals, rates to 1, error rates as percentages. */
export function formatValue(x: number | null, unit: string, signed = false): string {
  if (x === null) return '-';
  const [value, suffix] =
    unit === 'fraction' ? [round(x * 100, 3), ' %'] : unit === 'ms' ? [round(x, 3), ' ms'] : [round(x, 1), ` ${unit}`];
  const shown = Object.is(value, -0) ? 0 : value;
  return `${signed && shown > 0 ? '+' : ''}${shown}${suffix}`;
}
