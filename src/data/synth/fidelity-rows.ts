// The fidelity report against REAL rows: when a synthetic source names the approved file it was
// profiled from (`holdout:` in the ladder), the seed step scores the synthetic rows against a
// sample of that file's rows kept in the steward's area (holdout.ts), with SDMetrics' own
// definitions (sdmetrics.ts), and adds the two measures that catch what marginals miss
// (detection.ts):
//
// Column shapes   KSComplement (numeric, integer, datetime), TVComplement (categorical, boolean)
// Pair trends     CorrelationSimilarity (Pearson, as SDMetrics' Quality Report) for two continuous
//                 columns; ContingencySimilarity for two discrete columns, and for a continuous ×
//                 discrete pair with the continuous column binned as SDMetrics bins it
// Overall         mean of the column-shape and pair-trend averages (SDMetrics' Quality Report)
// Detection       LogisticDetection
// ML efficacy     TSTR against TRTR, for each binary label the source's label rules compute

import { parseDatetime } from '../profile/datetime';
import type { Cell } from '../profile/sources';
import type { ColumnProfile, DataProfile } from '../profile/schema';
import { round } from '../profile/stats';
import { logisticDetection, mlEfficacy, type Table, type TableColumn } from './detection';
import type { ColumnShapeScore, FidelityReport, PairTrendScore, SyntheticSample } from './fidelity';
import { categoryMarginal } from './marginals';
import { contingencySimilarity, correlationSimilarity, ksComplement, type PairColumn, tvComplement } from './sdmetrics';

/** Real rows as read from a CSV file or a SQLite table: text or numbers, null for missing. */
export interface RealSample {
  columns: string[];
  rows: Cell[][];
}

/** Rows per side the detection and efficacy models see (uniform samples, so the first rows will do). */
export const MODEL_ROWS = 10_000;

type Kind = 'continuous' | 'boolean' | 'categorical';

function kindOf(column: ColumnProfile): Kind | undefined {
  switch (column.type) {
    case 'numeric':
    case 'integer':
    case 'datetime':
      return 'continuous';
    case 'boolean':
      return 'boolean';
    case 'categorical':
      return 'categorical';
    default:
      return undefined;
  }
}

const BOOLEAN_TRUE = new Set(['1', 'true', 't', 'yes', 'y']);
const BOOLEAN_FALSE = new Set(['0', 'false', 'f', 'no', 'n']);

/** A real cell read as the profile types the column, so it compares with what synthesis writes. */
function realValue(column: ColumnProfile, cell: Cell): number | string | null {
  if (cell === null || cell === '') return null;
  switch (column.type) {
    case 'numeric':
    case 'integer': {
      const x = typeof cell === 'number' ? cell : Number(cell);
      return Number.isFinite(x) ? x : null;
    }
    case 'datetime':
      return typeof cell === 'number' ? cell : (parseDatetime(cell)?.epochMs ?? null);
    case 'boolean': {
      const text = String(cell).toLowerCase();
      if (text === column.boolean.trueToken.toLowerCase() || BOOLEAN_TRUE.has(text)) return 1;
      if (text === column.boolean.falseToken.toLowerCase() || BOOLEAN_FALSE.has(text)) return 0;
      return null;
    }
    default:
      return String(cell);
  }
}

/** Builds the two tables, real and synthetic, over the modelled columns both have. */
function tables(
  profile: DataProfile,
  real: RealSample,
  synthetic: SyntheticSample,
  notes: string[],
): { real: Table; synthetic: Table } {
  const realAt = new Map(real.columns.map((c, i) => [c, i]));
  const synthAt = new Map(synthetic.columns.map((c, i) => [c, i]));
  const realTable: Table = [];
  const synthTable: Table = [];
  for (const column of profile.columns) {
    const kind = kindOf(column);
    if (!kind) continue;
    const r = realAt.get(column.name);
    const s = synthAt.get(column.name);
    if (r === undefined || s === undefined) {
      notes.push(`column ${column.name}: not in the ${r === undefined ? 'held-out real rows' : 'synthetic data'}`);
      continue;
    }
    if (kind === 'categorical' && column.type === 'categorical') {
      // Values the profile folded into `other` are `other` on the real side too, as synthesis writes them.
      const marginal = categoryMarginal(column);
      const published = new Set(marginal.labels);
      const other = marginal.otherIndex >= 0 ? marginal.labels[marginal.otherIndex] : null;
      const fold = (v: string | null): string | null => (v === null ? null : published.has(v) ? v : other);
      realTable.push({
        name: column.name,
        kind,
        values: real.rows.map((row) => fold(realValue(column, row[r]) as string | null)),
      });
      synthTable.push({
        name: column.name,
        kind,
        values: synthetic.rows.map((row) => (row[s] === null || row[s] === undefined ? null : String(row[s]))),
      });
    } else {
      realTable.push({
        name: column.name,
        kind: kind as 'continuous' | 'boolean',
        values: Float64Array.from(real.rows, (row) => {
          const v = realValue(column, row[r]);
          return typeof v === 'number' ? v : NaN;
        }),
      });
      synthTable.push({
        name: column.name,
        kind: kind as 'continuous' | 'boolean',
        values: Float64Array.from(synthetic.rows, (row) => {
          const v = row[s];
          return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : NaN;
        }),
      });
    }
  }
  return { real: realTable, synthetic: synthTable };
}

const keys = (column: TableColumn): Array<string | null> =>
  column.kind === 'categorical' ? column.values : Array.from(column.values, (v) => (v === v ? String(v) : null));

function pairColumn(real: TableColumn, synthetic: TableColumn): PairColumn {
  if (real.kind === 'continuous')
    return { kind: 'continuous', real: real.values, synthetic: synthetic.values as Float64Array };
  return { kind: 'discrete', real: keys(real), synthetic: keys(synthetic) };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function head(table: Table, rows: number): Table {
  return table.map((c) =>
    c.kind === 'categorical' ? { ...c, values: c.values.slice(0, rows) } : { ...c, values: c.values.slice(0, rows) },
  );
}

export interface RowsFidelityOptions {
  /** Names of binary label columns to measure ML efficacy for. */
  labels?: readonly string[];
  /** Seed of the folds and splits. */
  seed?: number;
}

/** The fidelity report of `synthetic` against held-out `real` rows; see the file comment. */
export function fidelityAgainstRows(
  profile: DataProfile,
  real: RealSample,
  synthetic: SyntheticSample,
  options: RowsFidelityOptions = {},
): FidelityReport {
  const notes: string[] = [];
  const t = tables(profile, real, synthetic, notes);
  const shapes: ColumnShapeScore[] = [];
  t.real.forEach((column, c) => {
    const other = t.synthetic[c];
    const score =
      column.kind === 'continuous'
        ? ksComplement(column.values, other.values as Float64Array)
        : tvComplement(keys(column), keys(other));
    if (score === undefined) {
      notes.push(`column ${column.name}: no values on one side (all missing)`);
      return;
    }
    shapes.push({
      column: column.name,
      metric: column.kind === 'continuous' ? 'KSComplement' : 'TVComplement',
      score: round(score, 4),
    });
  });

  const pairs: PairTrendScore[] = [];
  for (let i = 0; i < t.real.length; i++) {
    for (let j = i + 1; j < t.real.length; j++) {
      const [ra, rb, sa, sb] = [t.real[i], t.real[j], t.synthetic[i], t.synthetic[j]];
      const columns: [string, string] = [ra.name, rb.name];
      if (ra.kind === 'continuous' && rb.kind === 'continuous') {
        const c = correlationSimilarity(
          [ra.values, rb.values],
          [sa.values as Float64Array, sb.values as Float64Array],
          'Pearson',
        );
        if (!Number.isFinite(c.score)) {
          notes.push(`pair ${ra.name} × ${rb.name}: correlation undefined (a constant column)`);
          continue;
        }
        pairs.push({
          columns,
          metric: 'CorrelationSimilarity',
          real: round(c.real, 4),
          synthetic: round(c.synthetic, 4),
          score: round(c.score, 4),
        });
      } else {
        const score = contingencySimilarity(pairColumn(ra, sa), pairColumn(rb, sb));
        if (!Number.isFinite(score)) continue;
        pairs.push({ columns, metric: 'ContingencySimilarity', score: round(score, 4) });
      }
    }
  }

  const shapeScore = shapes.length ? mean(shapes.map((s) => s.score)) : NaN;
  const pairScore = pairs.length ? mean(pairs.map((p) => p.score)) : null;
  const parts = [shapeScore, pairScore].filter((x): x is number => x !== null && Number.isFinite(x));

  const seed = options.seed ?? 0;
  const realModel = head(t.real, MODEL_ROWS);
  const synthModel = head(t.synthetic, MODEL_ROWS);
  const detection = logisticDetection(realModel, synthModel, seed);
  if (!detection) notes.push('detection: too few rows');
  const efficacy: NonNullable<FidelityReport['mlEfficacy']> = [];
  for (const label of options.labels ?? []) {
    const result = mlEfficacy(realModel, synthModel, label, seed);
    if (!result || !Number.isFinite(result.score)) {
      notes.push(`ML efficacy of ${label}: not measurable (not a binary column on both sides, or one class only)`);
      continue;
    }
    efficacy.push({
      metric: 'TSTR',
      label,
      tstr: round(result.tstr, 4),
      trtr: round(result.trtr, 4),
      score: round(result.score, 4),
    });
  }

  return {
    version: 1,
    basis: 'rows',
    overall: parts.length ? round(mean(parts), 4) : 0,
    columnShapes: { score: round(Number.isFinite(shapeScore) ? shapeScore : 0, 4), columns: shapes },
    pairTrends: { score: pairScore === null ? null : round(pairScore, 4), pairs },
    ...(detection
      ? {
          detection: {
            metric: 'LogisticDetection' as const,
            score: round(detection.score, 4),
            aucs: detection.aucs.map((a) => round(a, 4)),
          },
        }
      : {}),
    ...(efficacy.length ? { mlEfficacy: efficacy } : {}),
    realRows: real.rows.length,
    evaluatedRows: synthetic.rows.length,
    generatedRows: synthetic.generatedRows ?? synthetic.rows.length,
    notes,
  };
}
