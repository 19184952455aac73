// The fidelity report: how closely synthetic rows follow the profile they were generated from,
// with the metrics of SDMetrics' Quality Report, computed against the PROFILE (the real rows are
// not available when generating — that is the point of a profile).
//
// Column shapes
// - KSComplement (numeric, integer, datetime): 1 − the Kolmogorov–Smirnov statistic between the
//   profile's marginal (its percentiles, or exact frequencies for few-valued columns) and the
//   synthetic values.
// - TVComplement (categorical, boolean): 1 − total variation distance between the profile's
//   category frequencies (`other` included) and the synthetic ones.
// Column pair trends
// - CorrelationSimilarity (numeric/integer/datetime pairs): 1 − |ρ_real − ρ_synthetic| / 2, with
//   Spearman's ρ as the profile records it, on the rows where both values are present.
// - CramersVSimilarity (categorical/boolean pairs): 1 − |V_real − V_synthetic|. SDMetrics compares
//   contingency tables here (ContingencySimilarity); a profile keeps only Cramér's V, so this is the
//   closest measure it allows.
// Overall: the mean of the column-shape average and the pair-trend average, as in SDMetrics.
// Identifier and free-text columns have no shape metric (SDMetrics skips them too).
//
// When real rows exist (a held-out sample of the approved file the profile was made from),
// fidelity-rows.ts scores against them instead, with SDMetrics' definitions, LogisticDetection and
// TSTR; `basis` says which. `checkFidelity` holds either report to the layer's thresholds.

import type { ColumnProfile, DataProfile } from '../profile/schema';
import { cramersV, round } from '../profile/stats';
import type { SynthValue } from './generator';
import { categoryMarginal, numberMarginal } from './marginals';
import { pairwiseCorrelation } from './sdmetrics';

export const DEFAULT_FIDELITY_THRESHOLD = 0.85;

export interface ColumnShapeScore {
  column: string;
  metric: 'KSComplement' | 'TVComplement';
  score: number;
}

export interface PairTrendScore {
  columns: [string, string];
  metric: 'CorrelationSimilarity' | 'CramersVSimilarity' | 'ContingencySimilarity';
  /** The association in the real data and in the synthetic data (not for ContingencySimilarity). */
  real?: number;
  synthetic?: number;
  score: number;
}

export interface FidelityReport {
  version: 1;
  /** What the synthetic rows were scored against: the profile, or held-out real rows (default profile). */
  basis?: 'profile' | 'rows';
  overall: number;
  columnShapes: { score: number; columns: ColumnShapeScore[] };
  pairTrends: { score: number | null; pairs: PairTrendScore[] };
  /** LogisticDetection: 1 − 2·max(AUC − 0.5, 0), mean over 3 folds (real rows only). */
  detection?: { metric: 'LogisticDetection'; score: number; aucs: number[] };
  /** Train on synthetic, test on real, against train on real (binary labels, real rows only). */
  mlEfficacy?: Array<{ metric: 'TSTR'; label: string; tstr: number; trtr: number; score: number }>;
  /** Held-out real rows the report was computed against. */
  realRows?: number;
  /** Synthetic rows the report was computed on (a uniform sample when more were generated). */
  evaluatedRows: number;
  generatedRows: number;
  notes: string[];
}

/** Synthetic rows to evaluate: column names (as in the profile) and rows of generated values. */
export interface SyntheticSample {
  columns: string[];
  rows: SynthValue[][];
  /** Rows generated in all (defaults to the sample's size). */
  generatedRows?: number;
}

/** sup |F − G| between a reference CDF and the empirical CDF of `values`. */
export function ksStatistic(values: Float64Array, cdf: (x: number) => number, cdfBelow: (x: number) => number): number {
  const sorted = values.slice().sort();
  const m = sorted.length;
  let d = 0;
  let i = 0;
  while (i < m) {
    const v = sorted[i];
    let j = i;
    while (j < m && sorted[j] === v) j++;
    d = Math.max(d, Math.abs(cdf(v) - j / m), Math.abs(cdfBelow(v) - i / m));
    i = j;
  }
  return Math.min(1, d);
}

function numbersOf(rows: SynthValue[][], index: number): Float64Array {
  const out: number[] = [];
  for (const row of rows) {
    const v = row[index];
    if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
    else if (typeof v === 'boolean') out.push(v ? 1 : 0);
  }
  return Float64Array.from(out);
}

/** Category codes: the profile's categories in order, then `other` for anything else; -1 missing. */
function codesOf(
  column: ColumnProfile,
  rows: SynthValue[][],
  index: number,
): { codes: Int32Array; levels: number; reference: number[] } {
  if (column.type === 'boolean') {
    const total = column.boolean.trueCount + column.boolean.falseCount;
    const codes = Int32Array.from(rows, (row) =>
      row[index] === null || row[index] === undefined ? -1 : row[index] ? 1 : 0,
    );
    return {
      codes,
      levels: 2,
      reference: total === 0 ? [0.5, 0.5] : [column.boolean.falseCount / total, column.boolean.trueCount / total],
    };
  }
  if (column.type !== 'categorical') throw new TypeError(`column ${column.name} is not categorical`);
  const marginal = categoryMarginal(column);
  const index_ = new Map(marginal.labels.map((label, i) => [label, i]));
  const fallback = marginal.otherIndex >= 0 ? marginal.otherIndex : marginal.labels.length;
  const levels = marginal.otherIndex >= 0 ? marginal.labels.length : marginal.labels.length + 1;
  const reference = marginal.otherIndex >= 0 ? marginal.probabilities : [...marginal.probabilities, 0];
  const codes = Int32Array.from(rows, (row) => {
    const v = row[index];
    if (v === null || v === undefined) return -1;
    return index_.get(String(v)) ?? fallback;
  });
  return { codes, levels, reference };
}

function totalVariation(codes: Int32Array, levels: number, reference: number[]): number | undefined {
  const counts = new Float64Array(levels);
  let n = 0;
  for (const c of codes) {
    if (c >= 0) {
      counts[c]++;
      n++;
    }
  }
  if (n === 0) return undefined;
  let tv = 0;
  for (let i = 0; i < levels; i++) tv += Math.abs(counts[i] / n - (reference[i] ?? 0));
  return tv / 2;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export function fidelityReport(profile: DataProfile, sample: SyntheticSample): FidelityReport {
  const notes: string[] = [];
  const position = new Map(sample.columns.map((name, i) => [name, i]));
  const shapes: ColumnShapeScore[] = [];
  const numbers = new Map<string, Float64Array>();
  const codes = new Map<string, { codes: Int32Array; levels: number }>();

  for (const column of profile.columns) {
    const index = position.get(column.name);
    if (index === undefined) {
      notes.push(`column ${column.name}: not in the synthetic data`);
      continue;
    }
    if (column.type === 'numeric' || column.type === 'integer' || column.type === 'datetime') {
      const values = numbersOf(sample.rows, index);
      if (values.length === 0) {
        notes.push(`column ${column.name}: no synthetic values (all missing)`);
        continue;
      }
      const marginal = numberMarginal(column);
      const ks = ksStatistic(
        values,
        (x) => marginal.cdf(x),
        (x) => marginal.cdfBelow(x),
      );
      shapes.push({ column: column.name, metric: 'KSComplement', score: round(1 - ks, 4) });
      const all = Float64Array.from(sample.rows, (row) => {
        const v = row[index];
        return typeof v === 'number' ? v : NaN;
      });
      numbers.set(column.name, all);
    } else if (column.type === 'categorical' || column.type === 'boolean') {
      const coded = codesOf(column, sample.rows, index);
      const tv = totalVariation(coded.codes, coded.levels, coded.reference);
      if (tv === undefined) {
        notes.push(`column ${column.name}: no synthetic values (all missing)`);
        continue;
      }
      shapes.push({ column: column.name, metric: 'TVComplement', score: round(1 - tv, 4) });
      codes.set(column.name, coded);
    }
  }

  const pairs: PairTrendScore[] = [];
  for (const association of profile.associations) {
    const [a, b] = association.columns;
    if (association.method === 'spearman') {
      const ra = numbers.get(a);
      const rb = numbers.get(b);
      if (!ra || !rb) continue;
      const rho = pairwiseCorrelation(ra, rb, 'Spearman');
      const synthetic = Number.isFinite(rho) ? rho : 0;
      pairs.push({
        columns: [a, b],
        metric: 'CorrelationSimilarity',
        real: association.value,
        synthetic: round(synthetic, 4),
        score: round(1 - Math.abs(association.value - synthetic) / 2, 4),
      });
    } else {
      const ca = codes.get(a);
      const cb = codes.get(b);
      if (!ca || !cb) continue;
      const synthetic = cramersV(ca.codes, ca.levels, cb.codes, cb.levels);
      pairs.push({
        columns: [a, b],
        metric: 'CramersVSimilarity',
        real: association.value,
        synthetic: round(synthetic, 4),
        score: round(1 - Math.abs(association.value - synthetic), 4),
      });
    }
  }

  const shapeScore = shapes.length ? mean(shapes.map((s) => s.score)) : NaN;
  const pairScore = pairs.length ? mean(pairs.map((p) => p.score)) : null;
  if (shapes.length === 0) notes.push('no column has a shape metric (only identifiers and free text?)');
  const parts = [shapeScore, pairScore].filter((x): x is number => x !== null && Number.isFinite(x));
  return {
    version: 1,
    basis: 'profile',
    overall: parts.length ? round(mean(parts), 4) : 0,
    columnShapes: { score: round(Number.isFinite(shapeScore) ? shapeScore : 0, 4), columns: shapes },
    pairTrends: { score: pairScore === null ? null : round(pairScore, 4), pairs },
    evaluatedRows: sample.rows.length,
    generatedRows: sample.generatedRows ?? sample.rows.length,
    notes,
  };
}

/**
 * What a layer holds synthetic rows to. `overall` applies to every report; the others only where
 * they were measured (against real rows): an unmeasured score passes.
 */
export interface FidelityThresholds {
  /** Minimum overall score (mean of column shapes and pair trends). */
  overall: number;
  /** Minimum of the lowest column shape: one broken column fails however good the rest. */
  columnShape: number;
  /** Minimum LogisticDetection score. */
  detection: number;
  /** Minimum TSTR/TRTR efficacy of each binary label. */
  mlEfficacy: number;
}

/**
 * Calibrated on the example data (test/unit/synth/defaults.test.ts): the good generator passes
 * every one with room; noise 1 with 50 % missing, shuffled columns, a constant column and labels
 * independent of the features each fail at least one (docs/data-synthesis.md#default-thresholds).
 */
export const DEFAULT_FIDELITY_THRESHOLDS: FidelityThresholds = {
  overall: DEFAULT_FIDELITY_THRESHOLD,
  columnShape: 0.6,
  detection: 0.6,
  mlEfficacy: 0.7,
};

export interface FidelityCheck {
  passed: boolean;
  overall: number;
  threshold: number;
  /** Each threshold that failed, e.g. `detection 0.412 < 0.6`. */
  failures: string[];
  message: string;
}

/** Whether the report meets the thresholds (a number: the overall threshold, defaults for the rest), with a one-line verdict. */
export function checkFidelity(
  report: FidelityReport,
  thresholds: number | Partial<FidelityThresholds> = DEFAULT_FIDELITY_THRESHOLD,
): FidelityCheck {
  const t: FidelityThresholds = {
    ...DEFAULT_FIDELITY_THRESHOLDS,
    ...(typeof thresholds === 'number'
      ? { overall: thresholds }
      : Object.fromEntries(Object.entries(thresholds).filter(([, v]) => v !== undefined))),
  };
  const failures: string[] = [];
  if (report.overall < t.overall) failures.push(`overall ${report.overall.toFixed(3)} < ${t.overall}`);
  const worst = [...report.columnShapes.columns].sort((a, b) => a.score - b.score)[0];
  // The profile basis keeps its single overall threshold: a percentile-based marginal is too coarse
  // for a per-column floor (a small discrete column may score low with nothing wrong).
  const rows = report.basis === 'rows';
  if (rows && worst && worst.score < t.columnShape)
    failures.push(`column shape ${worst.column} ${worst.metric} ${worst.score.toFixed(3)} < ${t.columnShape}`);
  if (report.detection && report.detection.score < t.detection)
    failures.push(`detection ${report.detection.score.toFixed(3)} < ${t.detection}`);
  for (const e of report.mlEfficacy ?? [])
    if (e.score < t.mlEfficacy) failures.push(`ML efficacy of ${e.label} ${e.score.toFixed(3)} < ${t.mlEfficacy}`);
  const passed = failures.length === 0;
  const detail =
    worst && !passed ? `; lowest column shape: ${worst.column} ${worst.metric} ${worst.score.toFixed(3)}` : '';
  const extra = [
    report.detection ? `detection ${report.detection.score.toFixed(3)}` : '',
    ...(report.mlEfficacy ?? []).map((e) => `ML efficacy ${e.label} ${e.score.toFixed(3)}`),
  ].filter((x) => x !== '');
  const against = rows ? `against ${report.realRows ?? 0} real rows, ` : '';
  const head = `fidelity ${report.overall.toFixed(3)} ${report.overall >= t.overall ? '≥' : '<'} ${t.overall}`;
  const failed =
    passed || (failures.length === 1 && failures[0].startsWith('overall')) ? '' : `; failed: ${failures.join(', ')}`;
  return {
    passed,
    overall: report.overall,
    threshold: t.overall,
    failures,
    message: `${head} (${against}column shapes ${report.columnShapes.score.toFixed(3)}, pair trends ${report.pairTrends.score === null ? 'n/a' : report.pairTrends.score.toFixed(3)}${extra.length ? `, ${extra.join(', ')}` : ''})${failed}${detail}`,
  };
}
