// Profiles a table in one streaming pass: per column exact counts (missing values, category
// frequencies, datetime seasonality, text lengths, identifier shapes) plus a fixed-size uniform
// reservoir sample of rows for what needs sorting (quantiles, ranks, associations). Memory is
// bounded by the sample size and the per-column caps below, whatever the table's length.
//
// What is published, and why it cannot carry a value seen fewer than k times:
// - categories: only those seen at least k times; the rest are folded into `other`;
// - numeric and datetime quantiles, histogram edges, bounds and means: moved onto the half-grid of
//   the column's resolution (an odd multiple of half its last decimal place), where no source value
//   can lie; the bounds are the k-th smallest and k-th largest values, not the extremes;
// - identifiers and free text: formats (shapes seen at least k times) and length statistics only.

import { DATETIME_RESOLUTIONS, DAY_MS, parseDatetime, weekdayOf } from './datetime';
import { DataInputError } from './errors';
import { normalQuantile } from './normal';
import { createRandom } from './random';
import {
  type Association,
  type ColumnProfile,
  type DataProfile,
  type DatetimeStats,
  type NumericStats,
  PROFILE_VERSION,
  QUANTILE_LEVELS,
  type Quantiles,
} from './schema';
import { ShapeAccumulator } from './shape';
import { type Cell, openSource } from './sources';
import {
  anonymousRound,
  averageRanks,
  cramersV,
  decimalsOf,
  hermiteProfile,
  HyperLogLog,
  latentCorrelation,
  pearson,
  quantileSorted,
  resolutionOf,
  round,
  snap,
  spearman,
} from './stats';

export interface ProfileOptions {
  /** A category (or shape) seen fewer than k times is not published. Default 10. */
  k?: number;
  /** Rows kept in the reservoir sample for quantiles and associations. Default 50 000. */
  sampleRows?: number;
  /** Columns to record by format only whatever their content (e.g. PII found by a scanner). */
  formatOnly?: string[];
  /** Bins of the published equal-width histogram. Default 20. */
  histogramBins?: number;
  /** A numeric column with at most this many distinct values also gets exact frequencies. Default 64. */
  discreteLimit?: number;
}

export const DEFAULT_K = 10;
const DEFAULT_SAMPLE_ROWS = 50_000;
/** Distinct values counted exactly per column; beyond this the column is high-cardinality. */
const MAX_TRACKED_VALUES = 100_000;
/** Above this share of distinct values a string column is an identifier. */
const IDENTIFIER_DISTINCT_RATIO = 0.9;
const MIN_ROWS_FOR_IDENTIFIER = 20;
const SAMPLE_SEED = 0x5eed;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const LEADING_ZERO = /^[+-]?0\d/;
const ID_NAME = /(^id$|_id$|[a-z]Id$|^uuid$|_uuid$|^key$|_key$)/;

const BOOLEAN_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['1', '0'],
  ['true', 'false'],
  ['t', 'f'],
  ['yes', 'no'],
  ['y', 'n'],
];

function cellText(cell: string | number): string {
  return typeof cell === 'number' ? String(cell) : cell;
}

/** Everything learned about one column in the streaming pass. */
class ColumnAccumulator {
  /**
   * Shapes of number-like strings are skipped for speed (a numeric column never needs them), except
   * in a format-only column, where a card number written as 16 plain digits is one of its formats.
   */
  constructor(private readonly shapeNumbers = false) {}

  rows = 0;
  missing = 0;
  // numbers
  notNumber = 0;
  notInteger = 0;
  leadingZero = false;
  decimals = 0;
  sum = 0;
  sumSquares = 0;
  numbers = 0;
  /** Exact extremes: used to recognise consecutive ids, never published. */
  minNumber = Infinity;
  maxNumber = -Infinity;
  // datetimes
  notDatetime = 0;
  resolutionIndex = 0;
  readonly datetimeFormats = new Map<string, number>();
  readonly hours = new Array<number>(24).fill(0);
  readonly weekdays = new Array<number>(7).fill(0);
  readonly months = new Array<number>(12).fill(0);
  datetimeSum = 0;
  // distinct values
  values: Map<string, number> | null = new Map();
  readonly hll = new HyperLogLog();
  // text and shapes
  readonly shapes = new ShapeAccumulator();
  readonly lengths = new Map<number, number>();
  spaced = 0;
  words = 0;
  maxWords = 0;

  add(cell: Cell): void {
    this.rows++;
    if (cell === null || cell === '') {
      this.missing++;
      return;
    }
    const text = cellText(cell);
    if (this.values) {
      const seen = this.values.get(text);
      if (seen !== undefined) this.values.set(text, seen + 1);
      else if (this.values.size < MAX_TRACKED_VALUES) this.values.set(text, 1);
      else this.values = null; // high cardinality: from here on only the estimate counts
    }
    this.hll.add(text);
    this.lengths.set(text.length, (this.lengths.get(text.length) ?? 0) + 1);

    let isNumber: boolean;
    let isInteger = false;
    if (typeof cell === 'number') {
      isNumber = Number.isFinite(cell);
      isInteger = Number.isInteger(cell);
    } else {
      isNumber = NUMBER.test(cell);
      if (isNumber) {
        isInteger = INTEGER.test(cell);
        if (LEADING_ZERO.test(cell)) this.leadingZero = true;
      }
    }
    if (isNumber) {
      const x = Number(text);
      const d = decimalsOf(text);
      if (d > this.decimals) this.decimals = d;
      this.numbers++;
      this.sum += x;
      this.sumSquares += x * x;
      if (x < this.minNumber) this.minNumber = x;
      if (x > this.maxNumber) this.maxNumber = x;
      if (!isInteger) this.notInteger++;
    } else {
      this.notNumber++;
      this.notInteger++;
    }

    if (typeof cell === 'string' && (!isNumber || this.leadingZero || this.shapeNumbers)) {
      if (this.notDatetime === 0) this.addDatetime(cell);
      this.shapes.add(cell);
      if (cell.includes(' ')) {
        this.spaced++;
        const words = cell.trim().split(/\s+/).length;
        this.words += words;
        if (words > this.maxWords) this.maxWords = words;
      } else {
        this.words++;
        if (this.maxWords < 1) this.maxWords = 1;
      }
    } else {
      this.notDatetime++;
    }
  }

  private addDatetime(text: string): void {
    const parsed = parseDatetime(text);
    if (!parsed) {
      this.notDatetime++;
      return;
    }
    const t = parsed.epochMs;
    this.datetimeFormats.set(parsed.format, (this.datetimeFormats.get(parsed.format) ?? 0) + 1);
    while (
      this.resolutionIndex < DATETIME_RESOLUTIONS.length - 1 &&
      t % DATETIME_RESOLUTIONS[this.resolutionIndex] !== 0
    )
      this.resolutionIndex++;
    const date = new Date(t);
    this.hours[date.getUTCHours()]++;
    this.weekdays[weekdayOf(t)]++;
    this.months[date.getUTCMonth()]++;
    this.datetimeSum += t;
  }

  get nonMissing(): number {
    return this.rows - this.missing;
  }

  /** Every value a distinct integer and together a run min, min+1, …, max (in any order): a row counter. */
  get consecutive(): boolean {
    const n = this.nonMissing;
    return (
      n > 0 &&
      this.notInteger === 0 &&
      this.maxNumber - this.minNumber + 1 === n &&
      this.distinct() >= n * (this.values ? 1 : 0.98)
    );
  }

  distinct(): number {
    return this.values ? this.values.size : Math.max(MAX_TRACKED_VALUES, this.hll.estimate());
  }
}

/** Streams rows into column accumulators and a reservoir sample; `finish` builds the profile. */
export class Profiler {
  private readonly accumulators: ColumnAccumulator[];
  private readonly sample: Cell[][] = [];
  private readonly random = createRandom(SAMPLE_SEED);
  private rows = 0;
  private readonly k: number;
  private readonly sampleRows: number;

  constructor(
    private readonly table: string,
    private readonly columns: string[],
    private readonly options: ProfileOptions = {},
  ) {
    this.k = options.k ?? DEFAULT_K;
    this.sampleRows = options.sampleRows ?? DEFAULT_SAMPLE_ROWS;
    if (!Number.isSafeInteger(this.k) || this.k < 1)
      throw new RangeError(`k must be a positive integer, got ${this.k}`);
    if (!Number.isSafeInteger(this.sampleRows) || this.sampleRows < 1)
      throw new RangeError(`sampleRows must be a positive integer, got ${this.sampleRows}`);
    const formatOnly = new Set(options.formatOnly ?? []);
    this.accumulators = columns.map((name) => new ColumnAccumulator(formatOnly.has(name)));
  }

  add(row: Cell[]): void {
    for (let j = 0; j < this.accumulators.length; j++) this.accumulators[j].add(row[j] ?? null);
    // Reservoir sampling (algorithm R): every row ends up in the sample with the same probability.
    if (this.sample.length < this.sampleRows) this.sample.push(row);
    else {
      const slot = Math.floor(this.random.next() * (this.rows + 1));
      if (slot < this.sampleRows) this.sample[slot] = row;
    }
    this.rows++;
  }

  get rowCount(): number {
    return this.rows;
  }

  /** The profile; `sourceLabel` names the source in the error for an empty table. */
  finish(sourceKind: DataProfile['source']['kind'], sourceLabel: string): DataProfile {
    if (this.rows === 0) {
      throw new DataInputError(
        sourceLabel,
        `table ${JSON.stringify(this.table)}`,
        'the table has no rows; a profile needs at least one',
      );
    }
    const formatOnly = new Set(this.options.formatOnly ?? []);
    for (const name of formatOnly) {
      if (!this.columns.includes(name)) {
        throw new DataInputError(
          sourceLabel,
          `column ${JSON.stringify(name)}`,
          `no such column (asked to record it by format only); the table has ${this.columns.join(', ')}`,
        );
      }
    }
    const columns = this.columns.map((name, j) => this.columnProfile(name, j, formatOnly.has(name)));
    const { associations, copula } = this.associations(columns);
    return {
      version: PROFILE_VERSION,
      table: this.table,
      source: { kind: sourceKind },
      rows: this.rows,
      sampledRows: this.sample.length,
      k: this.k,
      createdAt: new Date().toISOString(),
      columns,
      associations,
      copula,
    };
  }

  private sampleColumn(j: number): Cell[] {
    return this.sample.map((row) => row[j] ?? null);
  }

  private columnProfile(name: string, j: number, formatOnly: boolean): ColumnProfile {
    const acc = this.accumulators[j];
    const base = { name, missing: acc.missing, missingRate: round(acc.missing / acc.rows) };
    const n = acc.nonMissing;
    if (n === 0)
      return { ...base, type: 'categorical', categorical: { categories: [], other: { count: 0, distinct: 0 } } };

    const distinct = acc.distinct();
    const ratio = Math.min(1, distinct / n);
    const textLike = acc.spaced / n >= 0.5 && acc.words / n >= 3;
    const numeric = acc.notNumber === 0 && !acc.leadingZero;
    const integer = numeric && acc.notInteger === 0;

    if (formatOnly) {
      return textLike
        ? { ...base, type: 'free-text', text: this.textStats(acc) }
        : { ...base, type: 'identifier', identifier: this.identifierStats(acc, ratio, integer) };
    }
    const booleanTokens = numeric && !integer ? undefined : this.booleanTokens(acc);
    if (booleanTokens) return { ...base, type: 'boolean', boolean: booleanTokens };
    if (
      integer &&
      ratio > IDENTIFIER_DISTINCT_RATIO &&
      n >= MIN_ROWS_FOR_IDENTIFIER &&
      (ID_NAME.test(name) || acc.consecutive)
    ) {
      return { ...base, type: 'identifier', identifier: this.identifierStats(acc, ratio, true) };
    }
    if (numeric) {
      const values = this.sampleColumn(j)
        .filter((c): c is string | number => c !== null && c !== '')
        .map((c) => Number(c));
      return { ...base, type: integer ? 'integer' : 'numeric', numeric: this.numericStats(acc, values) };
    }
    if (acc.notDatetime === 0 && acc.datetimeFormats.size > 0) {
      return { ...base, type: 'datetime', datetime: this.datetimeStats(acc, j) };
    }
    if (textLike && (ratio > 0.5 || acc.values === null))
      return { ...base, type: 'free-text', text: this.textStats(acc) };
    if (ratio > IDENTIFIER_DISTINCT_RATIO && n >= MIN_ROWS_FOR_IDENTIFIER) {
      return { ...base, type: 'identifier', identifier: this.identifierStats(acc, ratio, false) };
    }
    return { ...base, type: 'categorical', categorical: this.categoricalStats(acc) };
  }

  private booleanTokens(acc: ColumnAccumulator): Extract<ColumnProfile, { type: 'boolean' }>['boolean'] | undefined {
    if (!acc.values || acc.values.size === 0 || acc.values.size > 4) return undefined;
    const entries = [...acc.values.entries()];
    for (const [t, f] of BOOLEAN_PAIRS) {
      if (!entries.every(([v]) => v.toLowerCase() === t || v.toLowerCase() === f)) continue;
      const side = (token: string) => entries.filter(([v]) => v.toLowerCase() === token).sort((a, b) => b[1] - a[1]);
      const trues = side(t);
      const falses = side(f);
      // Match the other side's case when one side never occurs ("TRUE" → "FALSE").
      const seen = (trues[0] ?? falses[0])[0];
      const upper = seen !== seen.toLowerCase();
      const spell = (token: string) => (upper ? token.toUpperCase() : token);
      return {
        trueToken: trues[0]?.[0] ?? spell(t),
        falseToken: falses[0]?.[0] ?? spell(f),
        trueCount: trues.reduce((s, [, c]) => s + c, 0),
        falseCount: falses.reduce((s, [, c]) => s + c, 0),
      };
    }
    return undefined;
  }

  /**
   * Quantiles, histogram and bounds of a sample, published on the half-grid of `resolution` and
   * rounded k-anonymously (see anonymousRound). The bounds are the k-th smallest and k-th largest
   * values (scaled to the sample), rounded outwards, so the extremes — the values most likely to
   * identify a row — are never published.
   */
  private distribution(sample: number[], population: number, resolution: number, mean: number) {
    const sorted = Float64Array.from(sample).sort();
    const n = sorted.length;
    const bins = this.options.histogramBins ?? 20;
    const r = Math.min(n, Math.max(1, Math.ceil((this.k * n) / population)));
    let loRaw = sorted[r - 1];
    let hiRaw = sorted[n - r];
    if (!(loRaw <= hiRaw)) loRaw = hiRaw = quantileSorted(sorted, 0.5);
    // Every published quantile stands for an interval holding at least k values (scaled to the sample).
    const kInSample = Math.min(n, Math.max(1, Math.ceil((this.k * n) / population)));
    const lo = anonymousRound(loRaw, sorted, kInSample, resolution, 'down');
    const hi = anonymousRound(hiRaw, sorted, kInSample, resolution, 'up');
    const at = (p: number): number => {
      if (p <= 0) return lo;
      if (p >= 1) return hi;
      const q = Math.min(hiRaw, Math.max(loRaw, quantileSorted(sorted, p)));
      return Math.min(hi, Math.max(lo, anonymousRound(q, sorted, kInSample, resolution, 'nearest')));
    };
    const percentiles: number[] = [];
    for (let i = 0; i <= 100; i++) percentiles.push(Math.max(at(i / 100), percentiles[i - 1] ?? -Infinity));
    const quantiles = Object.fromEntries(QUANTILE_LEVELS.map((q) => [`p${q}`, percentiles[q]])) as Quantiles;

    // Equal-width bins whose edges stay on the half-grid: lo plus whole multiples of the resolution.
    const units = Math.round((hi - lo) / resolution);
    const binCount = Math.max(1, Math.min(bins, units));
    const digits = Math.max(0, Math.round(-Math.log10(resolution))) + 1;
    const edges: number[] = [];
    for (let i = 0; i <= binCount; i++) {
      const edge = i === binCount ? hi : lo + Math.round((i * units) / binCount) * resolution;
      edges.push(digits <= 20 ? Number(edge.toFixed(digits)) : edge);
    }
    const sampleCounts = new Array<number>(binCount).fill(0);
    for (let i = 0; i < n; i++) {
      const x = sorted[i];
      let b = 0;
      let hiIdx = binCount - 1;
      while (b < hiIdx) {
        const mid = (b + hiIdx + 1) >> 1;
        if (edges[mid] <= x) b = mid;
        else hiIdx = mid - 1;
      }
      sampleCounts[b]++;
    }
    const scale = population / n;
    const counts = sampleCounts.map((c) => Math.round(c * scale));
    const meanSnapped = Math.min(hi, Math.max(lo, snap(mean, resolution)));
    return { min: lo, max: hi, quantiles, percentiles, histogram: { edges, counts }, mean: meanSnapped };
  }

  private numericStats(acc: ColumnAccumulator, sample: number[]): NumericStats {
    const n = acc.numbers;
    const mean = acc.sum / n;
    const variance = Math.max(0, acc.sumSquares / n - mean * mean);
    const resolution = resolutionOf(acc.decimals);
    const dist = this.distribution(sample, n, resolution, mean);
    const stats: NumericStats = { ...dist, std: round(Math.sqrt(variance)), decimals: acc.decimals };
    const limit = this.options.discreteLimit ?? 64;
    if (acc.values && acc.values.size <= limit) {
      const values: Array<{ value: number; count: number }> = [];
      let otherCount = 0;
      let otherDistinct = 0;
      for (const [text, count] of acc.values) {
        if (count >= this.k) values.push({ value: Number(text), count });
        else {
          otherCount += count;
          otherDistinct++;
        }
      }
      values.sort((a, b) => a.value - b.value);
      stats.discrete = { values, otherCount, otherDistinct };
    }
    return stats;
  }

  /** Few distinct dates: their exact frequencies (k-anonymous, as for numbers), so a small date column is not smoothed. */
  private discreteDates(acc: ColumnAccumulator): DatetimeStats['discrete'] {
    const limit = this.options.discreteLimit ?? 64;
    if (!acc.values || acc.values.size > limit) return undefined;
    const counts = new Map<number, number>();
    for (const [text, count] of acc.values) {
      const parsed = parseDatetime(text);
      if (parsed) counts.set(parsed.epochMs, (counts.get(parsed.epochMs) ?? 0) + count);
    }
    const values: Array<{ value: number; count: number }> = [];
    let otherCount = 0;
    let otherDistinct = 0;
    for (const [value, count] of counts) {
      if (count >= this.k) values.push({ value, count });
      else {
        otherCount += count;
        otherDistinct++;
      }
    }
    values.sort((a, b) => a.value - b.value);
    return { values, otherCount, otherDistinct };
  }

  private datetimeStats(acc: ColumnAccumulator, j: number): DatetimeStats {
    const sample: number[] = [];
    for (const cell of this.sampleColumn(j)) {
      if (cell === null || cell === '') continue;
      const parsed = parseDatetime(cellText(cell));
      if (parsed) sample.push(parsed.epochMs);
    }
    const n = acc.nonMissing;
    const resolution = DATETIME_RESOLUTIONS[acc.resolutionIndex];
    const mean = acc.datetimeSum / n;
    let variance = 0;
    for (const t of sample) variance += (t - mean) ** 2;
    variance /= Math.max(1, sample.length);
    const dist = this.distribution(sample, n, resolution, mean);
    const format = [...acc.datetimeFormats.entries()].sort((a, b) => b[1] - a[1])[0][0];
    const shares = (counts: number[]) => counts.map((c) => round(c / n));
    const discrete = this.discreteDates(acc);
    return {
      ...(discrete ? { discrete } : {}),
      ...dist,
      std: round(Math.sqrt(variance), 0),
      format,
      resolutionMs: resolution,
      seasonality: {
        hourOfDay: resolution >= DAY_MS ? null : shares(acc.hours),
        dayOfWeek: shares(acc.weekdays),
        month: shares(acc.months),
      },
    };
  }

  private categoricalStats(acc: ColumnAccumulator): Extract<ColumnProfile, { type: 'categorical' }>['categorical'] {
    const values = acc.values ?? new Map<string, number>();
    const kept = [...values.entries()]
      .filter(([, count]) => count >= this.k)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([value, count]) => ({ value, count }));
    const keptCount = kept.reduce((sum, c) => sum + c.count, 0);
    return {
      categories: kept,
      other: { count: acc.nonMissing - keptCount, distinct: Math.max(0, Math.round(acc.distinct()) - kept.length) },
    };
  }

  private lengthStats(acc: ColumnAccumulator): {
    min: number;
    max: number;
    mean: number;
    sorted: Array<[number, number]>;
  } {
    const sorted = [...acc.lengths.entries()].sort((a, b) => a[0] - b[0]);
    let total = 0;
    let sum = 0;
    for (const [len, count] of sorted) {
      total += count;
      sum += len * count;
    }
    return {
      min: sorted[0]?.[0] ?? 0,
      max: sorted[sorted.length - 1]?.[0] ?? 0,
      mean: round(total === 0 ? 0 : sum / total, 3),
      sorted,
    };
  }

  private identifierStats(
    acc: ColumnAccumulator,
    ratio: number,
    integer: boolean,
  ): Extract<ColumnProfile, { type: 'identifier' }>['identifier'] {
    const { min, max, mean } = this.lengthStats(acc);
    if (integer) {
      return {
        kind: 'integer',
        distinctRatio: round(ratio, 4),
        length: { min, max, mean },
        formats: [
          {
            pattern: min === max ? `\\d{${min}}` : `\\d{${min},${max}}`,
            share: 1,
            chunks: [{ kind: 'class', charset: 'digit', min, max }],
          },
        ],
        otherShare: 0,
        sequential: acc.consecutive,
      };
    }
    const { formats, otherShare } = acc.shapes.formats(this.k);
    return {
      kind: 'string',
      distinctRatio: round(ratio, 4),
      length: { min, max, mean },
      formats,
      otherShare,
      sequential: false,
    };
  }

  private textStats(acc: ColumnAccumulator): Extract<ColumnProfile, { type: 'free-text' }>['text'] {
    const { min, max, mean, sorted } = this.lengthStats(acc);
    const total = sorted.reduce((s, [, c]) => s + c, 0);
    const percentiles: number[] = [];
    let i = 0;
    let cumulative = 0;
    for (let p = 0; p <= 100; p++) {
      const target = (p / 100) * total;
      while (i < sorted.length - 1 && cumulative + sorted[i][1] < target) {
        cumulative += sorted[i][1];
        i++;
      }
      percentiles.push(sorted[i][0]);
    }
    return {
      length: { min, max, mean, percentiles },
      words: { mean: round(acc.words / acc.nonMissing, 3), max: acc.maxWords },
    };
  }

  /**
   * Spearman's ρ for pairs of numeric/integer/datetime columns, Cramér's V for pairs of
   * categorical/boolean columns, and the copula matrix: Pearson correlation of every modelled
   * column's normal scores (ranks → Φ⁻¹ for ordered columns, the midpoint of the category's slice
   * of [0, 1] for categories).
   */
  private associations(columns: ColumnProfile[]): { associations: Association[]; copula: DataProfile['copula'] } {
    const ordinal = new Map<string, Float64Array>();
    const nominal = new Map<string, { codes: Int32Array; levels: number }>();
    const scores = new Map<string, Float64Array>();
    const n = this.sample.length;

    columns.forEach((column, j) => {
      const cells = this.sampleColumn(j);
      if (
        column.type === 'numeric' ||
        column.type === 'integer' ||
        column.type === 'datetime' ||
        column.type === 'boolean'
      ) {
        const values = new Float64Array(n);
        cells.forEach((cell, i) => {
          if (cell === null || cell === '') values[i] = NaN;
          else if (column.type === 'datetime') values[i] = parseDatetime(cellText(cell))?.epochMs ?? NaN;
          else if (column.type === 'boolean')
            values[i] = cellText(cell).toLowerCase() === column.boolean.trueToken.toLowerCase() ? 1 : 0;
          else values[i] = Number(cell);
        });
        if (column.type === 'boolean')
          nominal.set(column.name, { codes: Int32Array.from(values, (v) => (v === v ? v : -1)), levels: 2 });
        else ordinal.set(column.name, values);
        const { ranks, n: ranked } = averageRanks(values);
        scores.set(
          column.name,
          ranks.map((rank) => (rank === rank ? normalQuantile((rank - 0.5) / ranked) : NaN)),
        );
      } else if (column.type === 'categorical') {
        const { categories, other } = column.categorical;
        const index = new Map(categories.map((c, i) => [c.value, i]));
        const codes = Int32Array.from(cells, (cell) =>
          cell === null || cell === '' ? -1 : (index.get(cellText(cell)) ?? categories.length),
        );
        nominal.set(column.name, { codes, levels: categories.length + 1 });
        const counts = [...categories.map((c) => c.count), other.count];
        const total = counts.reduce((a, b) => a + b, 0);
        let cumulative = 0;
        const midpoints = counts.map((c) => {
          const mid = (cumulative + c / 2) / total;
          cumulative += c;
          return normalQuantile(mid);
        });
        scores.set(
          column.name,
          Float64Array.from(codes, (code) => (code < 0 ? NaN : midpoints[code])),
        );
      }
    });

    const associations: Association[] = [];
    const ordinalNames = [...ordinal.keys()];
    for (let a = 0; a < ordinalNames.length; a++) {
      for (let b = a + 1; b < ordinalNames.length; b++) {
        const value = round(spearman(ordinal.get(ordinalNames[a])!, ordinal.get(ordinalNames[b])!), 4);
        associations.push({ columns: [ordinalNames[a], ordinalNames[b]], method: 'spearman', value });
      }
    }
    const nominalNames = [...nominal.keys()];
    for (let a = 0; a < nominalNames.length; a++) {
      for (let b = a + 1; b < nominalNames.length; b++) {
        const x = nominal.get(nominalNames[a])!;
        const y = nominal.get(nominalNames[b])!;
        associations.push({
          columns: [nominalNames[a], nominalNames[b]],
          method: 'cramers_v',
          value: round(cramersV(x.codes, x.levels, y.codes, y.levels), 4),
        });
      }
    }

    const copulaColumns = [...scores.keys()];
    const hermite = new Map(copulaColumns.map((name) => [name, hermiteProfile(scores.get(name)!)]));
    const correlation = copulaColumns.map((a, i) =>
      copulaColumns.map((b, j) => {
        if (i === j) return 1;
        if (j < i) return NaN;
        const observed = pearson(scores.get(a)!, scores.get(b)!);
        return round(latentCorrelation(observed, hermite.get(a)!, hermite.get(b)!), 4);
      }),
    );
    for (let i = 0; i < correlation.length; i++) for (let j = 0; j < i; j++) correlation[i][j] = correlation[j][i];
    return { associations, copula: { columns: copulaColumns, correlation } };
  }
}

/** Profiles rows already in memory (tests, examples); `columns` names each row's cells in order. */
export function profileRows(
  table: string,
  columns: string[],
  rows: Iterable<Cell[]>,
  options: ProfileOptions = {},
): DataProfile {
  const profiler = new Profiler(table, columns, options);
  for (const row of rows) profiler.add(row);
  return profiler.finish('rows', `table ${table}`);
}

/**
 * Profiles SOURCE (a CSV file, a SQLite file or a postgres:// URL) table `table`, streaming it.
 * Errors about the source (missing table, empty table, malformed CSV) are DataInputErrors naming
 * the file or redacted URL, the table and, where it applies, the line and column.
 */
export async function profileSource(
  source: string,
  options: ProfileOptions & { table?: string } = {},
): Promise<DataProfile> {
  const input = await openSource(source, options.table);
  try {
    const profiler = new Profiler(input.table, input.columns, options);
    for await (const batch of input.batches()) for (const row of batch) profiler.add(row);
    return profiler.finish(input.kind, input.label);
  } finally {
    await input.close();
  }
}
