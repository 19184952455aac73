// Synthesis from a profile with a Gaussian copula. Per row: draw independent standard normals, give
// them the profile's correlation through the Cholesky factor of its (nearest positive
// semi-definite) copula matrix, turn each into a uniform with Φ, and read the column's value off
// its marginal's inverse CDF. Identifiers and free text are generated from their formats, label
// columns from declared rules. Every random draw comes from streams seeded by the seed alone, so a
// seed always gives the same rows.
//
// Rows are generated in column-major batches (typed arrays per column, reused from batch to
// batch): that is what makes synthesis an order of magnitude faster than building rows value by
// value, and keeps memory flat however many rows are asked for.
//
// Realism knobs (0 = off unless stated):
// - seasonality: datetime hour-of-day and day-of-week are drawn from the profile's distributions
//   raised to this power (1 = as profiled, the default; 0 = flat; 2 = exaggerated);
// - missingRate: extra missing values, on top of each column's own rate (not on ids or labels);
// - noise: numeric values get N(0, noise × std) added; categorical and boolean values are
//   replaced by a uniformly drawn one with probability `noise`;
// - drift: numeric means move linearly from 0 at the first row to `drift` × std at the last;
//   categorical values are replaced by a uniform draw with probability |drift| × progress.

import { DAY_MS, datetimeFormatter, HOUR_MS } from '../profile/datetime';
import { DataInputError } from '../profile/errors';
import { normalCdfFast } from '../profile/normal';
import { createRandom, type Random } from '../profile/random';
import type { ColumnProfile, ColumnType, DataProfile } from '../profile/schema';
import { type IdentifierCodec, identifierCodec, identifierGenerator, identifierParts } from './identifiers';
import { compileLabelRule, type LabelRule, type LabelValue, type RuleScope } from './label';
import { type CsvSink, csvField, datetimeCellWriter, labelWriter, numberWriter, writeTextField } from './csv-sink';
import { correlationFactor } from './linalg';
import { categoryMarginal, guidedPicker, numberMarginal, trueShare } from './marginals';
import { textPool } from './text';

export interface SynthesisOptions {
  rows: number;
  seed: number;
  seasonality?: number;
  missingRate?: number;
  noise?: number;
  drift?: number;
  /** Label rules, applied in order; a later rule may read an earlier label. */
  labels?: string[];
}

/** A generated value: numbers (datetimes as epoch milliseconds), text, booleans, or missing. */
export type SynthValue = number | string | boolean | null;

/** One output column; the accessors read row `i` of the batch just generated. */
export interface SynthColumn {
  name: string;
  type: ColumnType;
  /** The profiled column, absent for a label column the source did not have. */
  profile?: ColumnProfile;
  /** The rule that computes it, for label columns. */
  rule?: string;
  sqlType: 'INTEGER' | 'REAL' | 'TEXT';
  valueAt(i: number): SynthValue;
  /** As the source wrote it (datetimes in its format, booleans as its tokens), CSV-quoted when needed; '' when missing. */
  textAt(i: number): string;
  /** textAt(i)'s bytes (UTF-8), written into `sink` with no string in between: what writeCsv uses. */
  csvAt(i: number, sink: CsvSink): void;
  sqlAt(i: number): number | string | null;
}

export interface Synthesizer {
  columns: SynthColumn[];
  rowCount: number;
  /** Generates the next batch of rows into the columns' buffers; returns how many (0 when done). */
  nextBatch(): number;
  /** Index (0-based, over the whole run) of the current batch's first row. */
  batchStart(): number;
  /** Row `i` of the current batch as values. */
  rowAt(i: number): SynthValue[];
  /** Every row as values (convenience for small runs and tests). */
  rows(): Generator<SynthValue[]>;
}

export const BATCH_ROWS = 1024;
/** Correlations are never treated as zero above this, however few rows the profile sampled. */
const MAX_NOISE_CORRELATION = 0.05;

/** Stream numbers: adding a label or a knob leaves the copula's draws (and so the features) alone. */
const STREAM = { copula: 0, independent: 1, missing: 2, identifiers: 3, labels: 4, knobs: 5 } as const;

// --- column buffers --------------------------------------------------------------------------------

/** Numbers (NaN = missing): numeric, integer, datetime, integer identifiers, numeric labels. */
class NumberBuffer {
  readonly values = new Float64Array(BATCH_ROWS);
}
/** Codes into `labels` (-1 = missing): categorical, and boolean with labels [false, true]. */
class CodeBuffer {
  readonly values = new Int32Array(BATCH_ROWS);
  constructor(readonly labels: string[]) {}
}
/** Text (null = missing): string identifiers, free text, text labels. */
class TextBuffer {
  readonly values: Array<string | null> = new Array<string | null>(BATCH_ROWS).fill(null);
}

/** String identifiers as parts (see identifiers.ts); the codec is set when the column's filler is made. */
class IdentifierBuffer {
  readonly parts = identifierParts(BATCH_ROWS);
  readonly missing = new Uint8Array(BATCH_ROWS);
  codec: IdentifierCodec | undefined;
}

type Buffer = NumberBuffer | CodeBuffer | TextBuffer | IdentifierBuffer;

function accessors(
  type: ColumnType,
  buffer: Buffer,
  profile: ColumnProfile | undefined,
): Pick<SynthColumn, 'valueAt' | 'textAt' | 'csvAt' | 'sqlAt' | 'sqlType'> {
  if (buffer instanceof NumberBuffer) {
    const v = buffer.values;
    if (type === 'datetime') {
      const { format } = (profile as Extract<ColumnProfile, { type: 'datetime' }>).datetime;
      const text = datetimeFormatter(format);
      const write = datetimeCellWriter(format);
      return {
        sqlType: 'TEXT',
        valueAt: (i) => (v[i] === v[i] ? v[i] : null),
        textAt: (i) => (v[i] === v[i] ? text(v[i]) : ''),
        csvAt: (i, sink) => void (v[i] === v[i] && write(sink, v[i])),
        sqlAt: (i) => (v[i] === v[i] ? text(v[i]) : null),
      };
    }
    // The places values are rounded to (integers: 0); numberWriter checks each value against them.
    const decimals =
      profile?.type === 'numeric' || profile?.type === 'integer'
        ? profile.numeric.decimals
        : type === 'identifier' || type === 'integer'
          ? 0
          : undefined;
    const write = numberWriter(decimals);
    return {
      sqlType: type === 'numeric' ? 'REAL' : 'INTEGER',
      valueAt: (i) => (v[i] === v[i] ? v[i] : null),
      textAt: (i) => (v[i] === v[i] ? String(v[i]) : ''),
      csvAt: (i, sink) => void (v[i] === v[i] && write(sink, v[i])),
      sqlAt: (i) => (v[i] === v[i] ? v[i] : null),
    };
  }
  if (buffer instanceof IdentifierBuffer) {
    const { parts, missing } = buffer;
    const codec = buffer.codec!;
    const text = (i: number): string | null => (missing[i] === 1 ? null : codec.text(parts, i));
    const write = codec.write;
    const maxBytes = codec.maxBytes;
    return {
      sqlType: 'TEXT',
      valueAt: text,
      textAt: (i) => (missing[i] === 1 ? '' : csvField(codec.text(parts, i))),
      csvAt: write
        ? (i, sink) => {
            if (missing[i] === 1) return;
            sink.ensure(maxBytes);
            sink.pos = write(parts, i, sink.buf, sink.pos);
          }
        : (i, sink) => void (missing[i] !== 1 && writeTextField(sink, codec.text(parts, i))),
      sqlAt: text,
    };
  }
  if (buffer instanceof CodeBuffer) {
    const v = buffer.values;
    const labels = buffer.labels;
    const quoted = labels.map(csvField);
    const write = labelWriter(labels);
    const csvAt = (i: number, sink: CsvSink) => void (v[i] >= 0 && write(sink, v[i]));
    if (type === 'boolean') {
      const numeric = labels.every((l) => /^\d+$/.test(l));
      return {
        sqlType: numeric ? 'INTEGER' : 'TEXT',
        valueAt: (i) => (v[i] < 0 ? null : v[i] === 1),
        textAt: (i) => (v[i] < 0 ? '' : quoted[v[i]]),
        csvAt,
        sqlAt: (i) => (v[i] < 0 ? null : numeric ? Number(labels[v[i]]) : labels[v[i]]),
      };
    }
    return {
      sqlType: 'TEXT',
      valueAt: (i) => (v[i] < 0 ? null : labels[v[i]]),
      textAt: (i) => (v[i] < 0 ? '' : quoted[v[i]]),
      csvAt,
      sqlAt: (i) => (v[i] < 0 ? null : labels[v[i]]),
    };
  }
  const v = buffer.values;
  return {
    sqlType: 'TEXT',
    valueAt: (i) => v[i],
    textAt: (i) => {
      const text = v[i];
      return text === null ? '' : csvField(text);
    },
    csvAt: (i, sink) => {
      const text = v[i];
      if (text !== null) writeTextField(sink, text);
    },
    sqlAt: (i) => v[i],
  };
}

// --- per-column fillers ----------------------------------------------------------------------------

type Knobs = { seasonality: number; noise: number; drift: number };

/** Fills rows [0, size) of the batch; u[i] is the row's uniform, missing[i] = 1 when the cell is empty. */
type Fill = (u: Float64Array, size: number, firstRow: number, missing: Uint8Array) => void;

function seasonalCumulative(shares: number[] | null, strength: number): Float64Array | undefined {
  if (!shares) return undefined;
  const weights = shares.map((p) => p ** strength);
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return undefined;
  const cumulative = new Float64Array(weights.length);
  let running = 0;
  weights.forEach((w, i) => {
    running += w / total;
    cumulative[i] = running;
  });
  cumulative[cumulative.length - 1] = 1;
  return cumulative;
}

function fillerFor(
  column: ColumnProfile,
  buffer: Buffer,
  knobs: Knobs,
  rows: number,
  streams: { identifiers: Random; knobs: Random },
): Fill {
  const { noise, drift, seasonality } = knobs;
  const random = streams.knobs;
  const progressOf = (row: number) => (rows > 1 ? row / (rows - 1) : 0);
  switch (column.type) {
    case 'numeric':
    case 'integer': {
      const out = (buffer as NumberBuffer).values;
      const marginal = numberMarginal(column);
      const factor = 10 ** column.numeric.decimals;
      const { min, max } = marginal;
      const std = column.numeric.std;
      return (u, size, firstRow, missing) => {
        for (let i = 0; i < size; i++) {
          if (missing[i] === 1) {
            out[i] = NaN;
            continue;
          }
          let x = marginal.inverse(u[i]);
          if (noise !== 0 || drift !== 0) {
            x += (noise * random.normal() + drift * progressOf(firstRow + i)) * std;
            if (x < min) x = min;
            else if (x > max) x = max;
          }
          out[i] = Math.round(x * factor) / factor;
        }
      };
    }
    case 'datetime': {
      const out = (buffer as NumberBuffer).values;
      const marginal = numberMarginal(column);
      const { min, max } = marginal;
      const resolution = column.datetime.resolutionMs;
      const hourCumulative = seasonalCumulative(column.datetime.seasonality.hourOfDay, seasonality);
      const weekdayCumulative = seasonalCumulative(column.datetime.seasonality.dayOfWeek, seasonality);
      const hours = hourCumulative && guidedPicker(hourCumulative);
      const weekdays = weekdayCumulative && guidedPicker(weekdayCumulative);
      const day = DAY_MS;
      const hour = HOUR_MS;
      return (u, size, _firstRow, missing) => {
        for (let i = 0; i < size; i++) {
          if (missing[i] === 1) {
            out[i] = NaN;
            continue;
          }
          let t = marginal.inverse(u[i]);
          if (hours || weekdays) {
            let days = Math.floor(t / day);
            let time = t - days * day;
            if (hours) time = hours(random.fast()) * hour + (time % hour);
            // 1970-01-01 was a Thursday: day number + 3, mod 7, counts from Monday.
            if (weekdays) days += weekdays(random.fast()) - ((((days + 3) % 7) + 7) % 7);
            t = days * day + time;
          }
          if (t < min) t = min;
          else if (t > max) t = max;
          out[i] = Math.round(t / resolution) * resolution;
        }
      };
    }
    case 'categorical': {
      const out = (buffer as CodeBuffer).values;
      const { cumulative } = categoryMarginal(column);
      const n = cumulative.length;
      const shake = Math.min(1, Math.abs(drift));
      const pick = guidedPicker(cumulative);
      return (u, size, firstRow, missing) => {
        for (let i = 0; i < size; i++) {
          if (missing[i] === 1) {
            out[i] = -1;
            continue;
          }
          let code = pick(u[i]);
          if (
            (noise !== 0 && random.fast() < noise) ||
            (shake !== 0 && random.fast() < shake * progressOf(firstRow + i))
          )
            code = random.int(n);
          out[i] = code;
        }
      };
    }
    case 'boolean': {
      const out = (buffer as CodeBuffer).values;
      const pFalse = 1 - trueShare(column);
      return (u, size, _firstRow, missing) => {
        for (let i = 0; i < size; i++) {
          if (missing[i] === 1) out[i] = -1;
          else if (noise !== 0 && random.fast() < noise) out[i] = random.fast() < 0.5 ? 1 : 0;
          else out[i] = u[i] >= pFalse ? 1 : 0;
        }
      };
    }
    case 'identifier': {
      if (buffer instanceof IdentifierBuffer) {
        const codec = identifierCodec(column, streams.identifiers);
        buffer.codec = codec;
        const { parts, missing: gone } = buffer;
        return (_u, size, firstRow, missing) => {
          for (let i = 0; i < size; i++) {
            gone[i] = missing[i];
            if (missing[i] !== 1) codec.draw(firstRow + i, parts, i);
          }
        };
      }
      // Integer identifiers are numbers.
      const next = identifierGenerator(column, streams.identifiers);
      const out = (buffer as NumberBuffer).values;
      return (_u, size, firstRow, missing) => {
        for (let i = 0; i < size; i++) out[i] = missing[i] === 1 ? NaN : (next(firstRow + i) as number);
      };
    }
    case 'free-text': {
      // The run's pool of texts are the buffer's labels, drawn by code.
      const { pool, pick } = textPool(column, streams.identifiers);
      const texts = buffer as CodeBuffer;
      texts.labels.push(...pool);
      const out = texts.values;
      return (_u, size, _firstRow, missing) => {
        for (let i = 0; i < size; i++) out[i] = missing[i] === 1 ? -1 : pick();
      };
    }
  }
}

function bufferFor(column: ColumnProfile): Buffer {
  switch (column.type) {
    case 'numeric':
    case 'integer':
    case 'datetime':
      return new NumberBuffer();
    case 'categorical':
      return new CodeBuffer(categoryMarginal(column).labels);
    case 'boolean':
      return new CodeBuffer([column.boolean.falseToken, column.boolean.trueToken]);
    case 'identifier':
      return column.identifier.kind === 'integer' ? new NumberBuffer() : new IdentifierBuffer();
    case 'free-text':
      return new CodeBuffer([]); // its labels: the run's pool of texts (see the filler)
  }
}

// --- label rules -------------------------------------------------------------------------------------

/** The kind of value a label rule reads from a column. */
function ruleKind(column: SynthColumn): 'number' | 'string' {
  const p = column.profile;
  if (!p) return column.type === 'categorical' ? 'string' : 'number';
  if (p.type === 'categorical' || p.type === 'free-text') return 'string';
  if (p.type === 'identifier') return p.identifier.kind === 'integer' ? 'number' : 'string';
  return 'number';
}

/** A label column's buffer, writer and description. */
function labelTarget(
  rule: LabelRule,
  existing: SynthColumn | undefined,
): { buffer: Buffer; column: SynthColumn; write: (i: number, v: LabelValue) => void } {
  const name = rule.target;
  const profile = existing?.profile;
  if (rule.mode === '~' || existing?.type === 'boolean') {
    const labels = profile?.type === 'boolean' ? [profile.boolean.falseToken, profile.boolean.trueToken] : ['0', '1'];
    const buffer = new CodeBuffer(labels);
    const out = buffer.values;
    return {
      buffer,
      column: { name, type: 'boolean', profile, rule: rule.source, ...accessors('boolean', buffer, profile) },
      write: (i, v) => {
        out[i] = v === null ? -1 : v !== 0 && v !== '' ? 1 : 0;
      },
    };
  }
  if (rule.kind === 'number') {
    const buffer = new NumberBuffer();
    const out = buffer.values;
    const type: ColumnType = existing?.type === 'integer' || existing?.type === 'datetime' ? existing.type : 'numeric';
    const decimals =
      profile && (profile.type === 'numeric' || profile.type === 'integer') ? profile.numeric.decimals : undefined;
    const factor = decimals === undefined ? 0 : 10 ** decimals;
    return {
      buffer,
      column: { name, type, profile, rule: rule.source, ...accessors(type, buffer, profile) },
      write: (i, v) => {
        out[i] = v === null ? NaN : factor ? Math.round((v as number) * factor) / factor : (v as number);
      },
    };
  }
  const buffer = new TextBuffer();
  const out = buffer.values;
  return {
    buffer,
    column: {
      name,
      type: existing?.type ?? 'categorical',
      profile,
      rule: rule.source,
      ...accessors('categorical', buffer, profile),
    },
    write: (i, v) => {
      out[i] = v === null ? null : String(v);
    },
  };
}

function checkOptions(o: SynthesisOptions): void {
  const fail = (what: string, value: unknown, expected: string) => {
    throw new RangeError(`${what} must be ${expected}, got ${String(value)}`);
  };
  if (!Number.isSafeInteger(o.rows) || o.rows < 0) fail('rows', o.rows, 'a non-negative integer');
  if (!Number.isSafeInteger(o.seed)) fail('seed', o.seed, 'an integer');
  if (o.seasonality !== undefined && !(o.seasonality >= 0 && o.seasonality <= 10))
    fail('seasonality', o.seasonality, 'between 0 and 10');
  if (o.missingRate !== undefined && !(o.missingRate >= 0 && o.missingRate < 1))
    fail('missingRate', o.missingRate, 'in [0, 1)');
  if (o.noise !== undefined && !(o.noise >= 0 && o.noise <= 10)) fail('noise', o.noise, 'between 0 and 10');
  if (o.drift !== undefined && !(Math.abs(o.drift) <= 10)) fail('drift', o.drift, 'between -10 and 10');
}

export function createSynthesizer(profile: DataProfile, options: SynthesisOptions): Synthesizer {
  checkOptions(options);
  const knobs: Knobs = { seasonality: options.seasonality ?? 1, noise: options.noise ?? 0, drift: options.drift ?? 0 };
  const extraMissing = options.missingRate ?? 0;
  const total = options.rows;
  const copulaRandom = createRandom(options.seed, STREAM.copula);
  const independent = createRandom(options.seed, STREAM.independent);
  const missingRandom = createRandom(options.seed, STREAM.missing);
  const labelRandom = createRandom(options.seed, STREAM.labels);
  const streams = {
    identifiers: createRandom(options.seed, STREAM.identifiers),
    knobs: createRandom(options.seed, STREAM.knobs),
  };

  const modelled = new Set<ColumnType>(['numeric', 'integer', 'datetime', 'categorical', 'boolean']);
  // Correlations within the sampling noise of zero (|r| < 2/√n for a profile sampled on n rows)
  // are taken as zero: the data is the same up to that noise, a column with no other correlation is
  // drawn on its own (saving a normal draw and a Φ per row), and the Cholesky factor turns sparse —
  // a label correlated with every feature, the features barely with each other, costs one row of it.
  const { columns: copulaColumns, correlation } = profile.copula;
  const zero = Math.min(MAX_NOISE_CORRELATION, 2 / Math.sqrt(profile.sampledRows));
  const correlated = copulaColumns
    .map((_, i) => i)
    .filter((i) => correlation[i].some((r, j) => j !== i && Math.abs(r) >= zero));
  const latentOf = new Map(correlated.map((i, position) => [copulaColumns[i], position]));
  const m = correlated.length;
  const kept = correlated.map((i) =>
    correlated.map((j) => (i === j ? 1 : Math.abs(correlation[i][j]) < zero ? 0 : correlation[i][j])),
  );
  const factor = m > 0 ? correlationFactor(kept) : new Float64Array(0);
  // The factor's non-zero entries, row by row: rowStart[a] … rowStart[a + 1] index into term*.
  const rowStart = new Int32Array(m + 1);
  const termColumn: number[] = [];
  const termCoefficient: number[] = [];
  for (let a = 0; a < m; a++) {
    rowStart[a] = termColumn.length;
    for (let b = 0; b <= a; b++) {
      const coefficient = factor[a * m + b];
      if (Math.abs(coefficient) > 1e-12) {
        termColumn.push(b);
        termCoefficient.push(coefficient);
      }
    }
  }
  rowStart[m] = termColumn.length;
  const columnOfTerm = Int32Array.from(termColumn);
  const coefficientOfTerm = Float64Array.from(termCoefficient);

  const buffers: Buffer[] = profile.columns.map(bufferFor);
  // The fillers first: they draw the identifier and text pools from their stream, in column order.
  const plans = profile.columns.map((p, i) => ({
    latent: modelled.has(p.type) ? (latentOf.get(p.name) ?? -1) : -1,
    needsUniform: modelled.has(p.type),
    missingRate: p.type === 'identifier' ? p.missingRate : 1 - (1 - p.missingRate) * (1 - extraMissing),
    fill: fillerFor(p, buffers[i], knobs, total, streams),
  }));
  const columns: SynthColumn[] = profile.columns.map((p, i) => ({
    name: p.name,
    type: p.type,
    profile: p,
    ...accessors(p.type, buffers[i], p),
  }));

  // Label rules: each sees every profiled column and the labels before it; a rule's target column
  // is computed by the rule instead of being drawn.
  const rules: Array<{ rule: LabelRule; write: (i: number, v: LabelValue) => void; reads: SynthColumn[] }> = [];
  for (const source of options.labels ?? []) {
    const columnsBefore = columns.slice();
    const scope: RuleScope = {
      columns: new Map(columnsBefore.map((c, i) => [c.name, { index: i, kind: ruleKind(c) }])),
    };
    let rule = compileLabelRule(source, scope);
    let index = columns.findIndex((c) => c.name === rule.target);
    const existing = index >= 0 ? columns[index] : undefined;
    if (existing) {
      const expects = existing.type === 'boolean' || rule.mode === '~' ? 'number' : ruleKind(existing);
      if (rule.kind !== expects) {
        throw new DataInputError(
          `--label ${JSON.stringify(source)}`,
          `column ${JSON.stringify(rule.target)}`,
          `the column holds ${expects === 'number' ? 'numbers' : 'text'} but the rule gives ${rule.kind === 'number' ? 'numbers' : 'text'}`,
        );
      }
    }
    if (existing?.type === 'boolean' && rule.mode === '=') {
      // A boolean label is drawn: the value is the probability of true (a 0/1 expression gives itself).
      const probability = rule.evaluate;
      rule = {
        ...rule,
        evaluate: (read, random) => {
          const p = probability(read, random);
          return p === null ? null : random.next() < Math.min(1, Math.max(0, p as number)) ? 1 : 0;
        },
      };
    }
    const target = labelTarget(rule, existing);
    if (index < 0) {
      columns.push(target.column);
      index = columns.length - 1;
    } else {
      // The drawn column still fills its old buffer (so the other columns' draws do not shift), and
      // the rule may read it: `is_fraud = if(amount > 1000, 1, is_fraud)`.
      columns[index] = target.column;
    }
    rules.push({ rule, write: target.write, reads: columnsBefore });
  }

  const normals = new Float64Array(BATCH_ROWS * m);
  const latent = new Float64Array(BATCH_ROWS * m);
  const uniforms = new Float64Array(BATCH_ROWS);
  const missing = new Uint8Array(BATCH_ROWS);
  let missingSet = false;
  const phi = normalCdfFast;
  let start = 0;
  let size = 0;

  const nextBatch = (): number => {
    start += size;
    size = Math.min(BATCH_ROWS, total - start);
    if (size <= 0) {
      size = 0;
      return 0;
    }
    // Correlated normals → uniforms, row by row.
    copulaRandom.fillNormal(normals, size * m);
    for (let i = 0; i < size; i++) {
      const row = i * m;
      for (let a = 0; a < m; a++) {
        let s = 0;
        for (let k = rowStart[a], end = rowStart[a + 1]; k < end; k++)
          s += coefficientOfTerm[k] * normals[row + columnOfTerm[k]];
        latent[row + a] = phi(s);
      }
    }
    // Column by column. Every cell's missingness is drawn whether or not the column has a uniform,
    // so the streams advance the same way however the values are produced.
    for (let c = 0; c < plans.length; c++) {
      const plan = plans[c];
      if (plan.latent >= 0) for (let i = 0; i < size; i++) uniforms[i] = latent[i * m + plan.latent];
      else if (plan.needsUniform) for (let i = 0; i < size; i++) uniforms[i] = independent.next();
      const rate = plan.missingRate;
      if (rate > 0) for (let i = 0; i < size; i++) missing[i] = missingRandom.fast() < rate ? 1 : 0;
      else if (missingSet) missing.fill(0);
      missingSet = rate > 0;
      plan.fill(uniforms, size, start, missing);
    }
    if (rules.length > 0) {
      for (let i = 0; i < size; i++) {
        for (const { rule, write, reads } of rules) {
          const read = (c: number): LabelValue => {
            const v = reads[c].valueAt(i);
            return typeof v === 'boolean' ? (v ? 1 : 0) : v;
          };
          write(i, rule.evaluate(read, labelRandom));
        }
      }
    }
    return size;
  };

  const rowAt = (i: number): SynthValue[] => columns.map((c) => c.valueAt(i));

  return {
    columns,
    rowCount: total,
    nextBatch,
    batchStart: () => start,
    rowAt,
    *rows() {
      for (let n = nextBatch(); n > 0; n = nextBatch()) for (let i = 0; i < n; i++) yield rowAt(i);
    },
  };
}
