import path from 'node:path';
import { parseDatetime } from '../data/profile/datetime';
import { createRandom } from '../data/profile/random';
import { type ColumnProfile, type DataProfile, loadProfile } from '../data/profile/schema';
import { ksStatistic } from '../data/synth/fidelity';
import { categoryMarginal, numberMarginal } from '../data/synth/marginals';
import type { GateCheck, GateResult } from '../domain/status';
import { type EnvironmentDb, openReadOnly, quoteIdentifier, tableColumns } from '../envdb/sqlite';
import {
  type Expectation,
  type ExpectationsOptions,
  expectationsConfig,
  expectationsOptions,
} from './expectations.config';
import type { GateContext, MeasuredGate } from './types';

// Great-Expectations style checks on the environment's tables: nulls, ranges, uniqueness, allowed
// values, row counts, referential integrity and the distribution of a column against the data
// profile. Every check is one SQL aggregate (COUNT/SUM over CASE), so a table of millions of rows
// is checked without being loaded; only `distribution` reads values, streamed, sampling at most
// MAX_SAMPLE of them. Measured value: the number of failed expectations (threshold 0).
// What a check reports is counts, rates, the configured bounds and sets, and column names: never a
// value of the data (not its min or max, not an offending value), since it lands in the history.

/** Values a `distribution` expectation compares at most; more are sampled uniformly. */
export const MAX_SAMPLE = 100_000;
const SAMPLE_SEED = 0xd157;
const HEARTBEAT_ROWS = 50_000;

/** The verdict on one expectation; `summary` is its short form in the gate's detail. */
export interface ExpectationOutcome {
  passed: boolean;
  observed: string;
  summary: string;
}

export function expectationName(e: Expectation): string {
  if (e.name) return e.name;
  return e.expect === 'row-count' ? 'row-count' : `${e.expect}(${e.column})`;
}

// --- formatting -----------------------------------------------------------------------------------

/** A share in percent, with as many decimals as it takes not to show 100 % or 0 % when it is not. */
export function formatPercent(part: number, whole: number): string {
  const p = (part / whole) * 100;
  for (let decimals = 1; decimals < 6; decimals++) {
    const text = p.toFixed(decimals);
    const shown = Number(text);
    if ((shown === 100) === (part === whole) && (shown === 0) === (part === 0)) return `${text} %`;
  }
  return `${p.toFixed(6)} %`;
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

function describeBounds(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`;
  return min !== undefined ? `>= ${min}` : `<= ${max}`;
}

// --- evaluation -----------------------------------------------------------------------------------

interface Evaluation {
  db: EnvironmentDb;
  table: string;
  columnsOf(table: string): Set<string>;
  profile(): { profile: DataProfile; file: string } | { error: string };
  tick(rows: number): void;
}

/** Why an expectation cannot be evaluated on (table, column), or undefined when it can. */
function absent(ev: Evaluation, table: string, columnName?: string): string | undefined {
  const columns = ev.columnsOf(table);
  if (columns.size === 0) return `table ${table} does not exist`;
  if (columnName !== undefined && !columns.has(columnName))
    return `column ${columnName} does not exist in table ${table}`;
  return undefined;
}

interface Share {
  /** What the satisfying rows are, e.g. "not null", "between 0 and 1". */
  what: string;
  ok: number;
  n: number;
  /** What `n` counts, e.g. "rows", "non-null values". */
  unit: string;
  /** Appended inside the parentheses of observed: counts of the offending rows, never their values. */
  extra?: string;
}

/** The verdict on a share that must reach `mostly`; no rows at all is vacuously met (as in Great Expectations). */
function shareOutcome(
  label: string,
  { what, ok, n, unit, extra = '' }: Share,
  mostlyValue: number,
): ExpectationOutcome {
  if (n === 0) return { passed: true, observed: `no ${unit} to check (vacuously met)`, summary: label };
  const shown = formatPercent(ok, n);
  return {
    passed: ok / n >= mostlyValue,
    observed: `${shown} ${what} (${ok} of ${n} ${unit}${extra}; mostly ${mostlyValue})`,
    summary: `${label} ${shown} < mostly ${mostlyValue}`,
  };
}

function get<T>(db: EnvironmentDb, sql: string, ...params: unknown[]): T {
  return db.prepare(sql).get(...params) as T;
}

/** How many distinct values the rows matching `sql`'s WHERE hold: a count, never the values themselves. */
function distinctCount(db: EnvironmentDb, column: string, from: string, params: unknown[]): number {
  return get<{ d: number }>(db, `SELECT COUNT(DISTINCT ${column}) AS d FROM ${from}`, ...params).d;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function notNull(ev: Evaluation, e: Extract<Expectation, { expect: 'not-null' }>, label: string): ExpectationOutcome {
  const c = quoteIdentifier(e.column);
  const r = get<{ n: number; ok: number }>(
    ev.db,
    `SELECT COUNT(*) AS n, COUNT(${c}) AS ok FROM ${quoteIdentifier(ev.table)}`,
  );
  return shareOutcome(label, { what: 'not null', ok: r.ok, n: r.n, unit: 'rows' }, e.mostly);
}

function between(ev: Evaluation, e: Extract<Expectation, { expect: 'between' }>, label: string): ExpectationOutcome {
  const c = quoteIdentifier(e.column);
  const numeric = `typeof(${c}) IN ('integer', 'real')`;
  const low = e.min !== undefined ? `${c} < ?` : '0';
  const high = e.max !== undefined ? `${c} > ?` : '0';
  const params = [...(e.min !== undefined ? [e.min] : []), ...(e.max !== undefined ? [e.max] : [])];
  // Counts only: the column's own min and max are data and never leave the worker.
  const r = get<{ n: number; numbers: number; below: number; above: number }>(
    ev.db,
    `SELECT COUNT(${c}) AS n, COALESCE(SUM(CASE WHEN ${numeric} THEN 1 ELSE 0 END), 0) AS numbers,
            COALESCE(SUM(CASE WHEN ${numeric} AND ${low} THEN 1 ELSE 0 END), 0) AS below,
            COALESCE(SUM(CASE WHEN ${numeric} AND ${high} THEN 1 ELSE 0 END), 0) AS above
       FROM ${quoteIdentifier(ev.table)}`,
    ...params,
  );
  const ok = r.numbers - r.below - r.above;
  const outside = [
    r.below > 0 ? `${r.below} below ${e.min}` : '',
    r.above > 0 ? `${r.above} above ${e.max}` : '',
    r.n > r.numbers ? `${r.n - r.numbers} not numbers` : '',
  ].filter(Boolean);
  const extra = outside.length > 0 ? `; ${outside.join(', ')}` : '';
  return shareOutcome(
    label,
    { what: describeBounds(e.min, e.max), ok, n: r.n, unit: 'non-null values', extra },
    e.mostly,
  );
}

function unique(ev: Evaluation, e: Extract<Expectation, { expect: 'unique' }>, label: string): ExpectationOutcome {
  const c = quoteIdentifier(e.column);
  const r = get<{ n: number; ok: number; repeated: number }>(
    ev.db,
    `SELECT COALESCE(SUM(k), 0) AS n, COALESCE(SUM(CASE WHEN k = 1 THEN 1 ELSE 0 END), 0) AS ok,
            COALESCE(SUM(CASE WHEN k > 1 THEN 1 ELSE 0 END), 0) AS repeated
       FROM (SELECT COUNT(*) AS k FROM ${quoteIdentifier(ev.table)} WHERE ${c} IS NOT NULL GROUP BY ${c})`,
  );
  const extra =
    r.repeated > 0 ? `; ${r.repeated} value${r.repeated === 1 ? '' : 's'} repeated in ${r.n - r.ok} rows` : '';
  return shareOutcome(label, { what: 'unique', ok: r.ok, n: r.n, unit: 'non-null values', extra }, e.mostly);
}

function inSet(ev: Evaluation, e: Extract<Expectation, { expect: 'in-set' }>, label: string): ExpectationOutcome {
  const c = quoteIdentifier(e.column);
  const t = quoteIdentifier(ev.table);
  const list = e.values.map(() => '?').join(', ');
  const r = get<{ n: number; ok: number }>(
    ev.db,
    `SELECT COUNT(${c}) AS n, COALESCE(SUM(CASE WHEN ${c} IN (${list}) THEN 1 ELSE 0 END), 0) AS ok FROM ${t}`,
    ...e.values,
  );
  const outside =
    r.ok < r.n
      ? `; ${r.n - r.ok} outside the set, ${plural(distinctCount(ev.db, c, `${t} WHERE ${c} IS NOT NULL AND ${c} NOT IN (${list})`, e.values), 'distinct value')}`
      : '';
  return shareOutcome(
    label,
    { what: `in {${e.values.map(show).join(', ')}}`, ok: r.ok, n: r.n, unit: 'non-null values', extra: outside },
    e.mostly,
  );
}

function rowCount(ev: Evaluation, e: Extract<Expectation, { expect: 'row-count' }>, label: string): ExpectationOutcome {
  const { n } = get<{ n: number }>(ev.db, `SELECT COUNT(*) AS n FROM ${quoteIdentifier(ev.table)}`);
  const tooFew = e.min !== undefined && n < e.min;
  const tooMany = e.max !== undefined && n > e.max;
  return {
    passed: !tooFew && !tooMany,
    observed: `${n} rows (expected ${describeBounds(e.min, e.max)})`,
    summary: tooFew ? `${label} ${n} < min ${e.min}` : `${label} ${n} > max ${e.max}`,
  };
}

function references(
  ev: Evaluation,
  e: Extract<Expectation, { expect: 'references' }>,
  label: string,
): ExpectationOutcome {
  const c = quoteIdentifier(e.column);
  const t = quoteIdentifier(ev.table);
  // A non-correlated IN (SELECT …) is materialised once as an index: one pass over each table.
  const referenced = `SELECT ${quoteIdentifier(e.refColumn)} FROM ${quoteIdentifier(e.table)} WHERE ${quoteIdentifier(e.refColumn)} IS NOT NULL`;
  const r = get<{ n: number; ok: number }>(
    ev.db,
    `SELECT COUNT(${c}) AS n, COALESCE(SUM(CASE WHEN ${c} IN (${referenced}) THEN 1 ELSE 0 END), 0) AS ok FROM ${t}`,
  );
  const missing =
    r.ok < r.n
      ? `; ${r.n - r.ok} rows missing, ${plural(distinctCount(ev.db, c, `${t} WHERE ${c} IS NOT NULL AND ${c} NOT IN (${referenced})`, []), 'distinct value')}`
      : '';
  return shareOutcome(
    label,
    { what: `found in ${e.table}.${e.refColumn}`, ok: r.ok, n: r.n, unit: `non-null ${e.column}`, extra: missing },
    e.mostly,
  );
}

// --- distribution ---------------------------------------------------------------------------------

/** Algorithm R over numbers, on a fixed seed: the same table always gives the same sample. */
class Reservoir {
  private readonly values: Float64Array;
  private filled = 0;
  seen = 0;
  private readonly random = createRandom(SAMPLE_SEED);

  constructor(private readonly capacity: number) {
    this.values = new Float64Array(capacity);
  }

  offer(x: number): void {
    this.seen++;
    if (this.filled < this.capacity) {
      this.values[this.filled++] = x;
      return;
    }
    const j = Math.floor(this.random.next() * this.seen);
    if (j < this.capacity) this.values[j] = x;
  }

  sample(): Float64Array {
    return this.values.subarray(0, this.filled);
  }
}

/** The column's value as the profile's number line has it (datetimes as epoch ms), or undefined. */
function asNumber(profileType: 'numeric' | 'integer' | 'datetime', value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value !== 'string') return undefined;
  if (profileType === 'datetime') return parseDatetime(value.trim())?.epochMs;
  const x = value.trim() === '' ? NaN : Number(value);
  return Number.isFinite(x) ? x : undefined;
}

function ksAgainstProfile(
  ev: Evaluation,
  e: Extract<Expectation, { expect: 'distribution' }>,
  profiled: Extract<ColumnProfile, { type: 'numeric' | 'integer' | 'datetime' }>,
) {
  const c = quoteIdentifier(e.column);
  const reservoir = new Reservoir(MAX_SAMPLE);
  let unreadable = 0;
  let rows = 0;
  const statement = ev.db.prepare(`SELECT ${c} FROM ${quoteIdentifier(ev.table)} WHERE ${c} IS NOT NULL`).pluck(true);
  for (const value of statement.iterate() as Iterable<unknown>) {
    if (++rows % HEARTBEAT_ROWS === 0) ev.tick(rows);
    const x = asNumber(profiled.type, value);
    if (x === undefined) unreadable++;
    else reservoir.offer(x);
  }
  const sample = reservoir.sample();
  if (sample.length === 0) return { statistic: undefined, values: 0, seen: 0, unreadable };
  const marginal = numberMarginal(profiled);
  const statistic = ksStatistic(
    sample,
    (x) => marginal.cdf(x),
    (x) => marginal.cdfBelow(x),
  );
  return { statistic, values: sample.length, seen: reservoir.seen, unreadable };
}

const TRUE_WORDS = new Set(['1', 'true', 't', 'yes', 'y']);
const FALSE_WORDS = new Set(['0', 'false', 'f', 'no', 'n']);

/**
 * Total variation distance between the column's value frequencies (counted exactly, in SQL) and
 * the profile's: categories in the profile's order plus `other`; for booleans false and true.
 * A value the profile cannot place gets a bucket of its own with reference probability 0.
 */
function tvAgainstProfile(
  ev: Evaluation,
  e: Extract<Expectation, { expect: 'distribution' }>,
  profiled: Extract<ColumnProfile, { type: 'categorical' | 'boolean' }>,
) {
  let labels: string[];
  let reference: number[];
  let bucketOf: (value: unknown) => number;
  if (profiled.type === 'boolean') {
    const { trueToken, falseToken, trueCount, falseCount } = profiled.boolean;
    const total = trueCount + falseCount;
    labels = [falseToken, trueToken];
    reference = total === 0 ? [0.5, 0.5] : [falseCount / total, trueCount / total];
    bucketOf = (value) => {
      const text = String(value);
      if (text === trueToken) return 1;
      if (text === falseToken) return 0;
      const word = text.trim().toLowerCase();
      return TRUE_WORDS.has(word) ? 1 : FALSE_WORDS.has(word) ? 0 : 2;
    };
  } else {
    const marginal = categoryMarginal(profiled);
    const index = new Map(marginal.labels.map((label, i) => [label, i]));
    labels = marginal.labels;
    reference = marginal.probabilities;
    const unplaced = marginal.otherIndex >= 0 ? marginal.otherIndex : labels.length;
    bucketOf = (value) => index.get(String(value)) ?? unplaced;
  }
  const counts = new Float64Array(labels.length + 1);
  let n = 0;
  const c = quoteIdentifier(e.column);
  const statement = ev.db.prepare(
    `SELECT ${c} AS v, COUNT(*) AS n FROM ${quoteIdentifier(ev.table)} WHERE ${c} IS NOT NULL GROUP BY ${c}`,
  );
  for (const row of statement.iterate() as Iterable<{ v: unknown; n: number }>) {
    counts[bucketOf(row.v)] += row.n;
    n += row.n;
  }
  if (n === 0) return { statistic: undefined, values: 0 };
  let tv = 0;
  for (let i = 0; i < counts.length; i++) tv += Math.abs(counts[i] / n - (reference[i] ?? 0));
  return { statistic: Math.min(1, tv / 2), values: n };
}

function distribution(
  ev: Evaluation,
  e: Extract<Expectation, { expect: 'distribution' }>,
  label: string,
): ExpectationOutcome {
  const found = ev.profile();
  if ('error' in found) return { passed: false, observed: found.error, summary: `${label} ${found.error}` };
  const source = path.basename(found.file);
  const profiled = found.profile.columns.find((col) => col.name === e.column);
  if (!profiled) {
    const observed = `no profile: column ${e.column} is not in the profile ${found.file}`;
    return { passed: false, observed, summary: `${label} ${observed}` };
  }
  if (profiled.type === 'identifier' || profiled.type === 'free-text') {
    const observed = `no profile: ${e.column} is profiled as ${profiled.type}, which has no distribution to compare`;
    return { passed: false, observed, summary: `${label} ${observed}` };
  }
  if (profiled.type === 'categorical' || profiled.type === 'boolean') {
    const { statistic, values } = tvAgainstProfile(ev, e, profiled);
    if (statistic === undefined)
      return { passed: false, observed: 'no non-null values to compare', summary: `${label} no values` };
    const tv = round4(statistic);
    const passed = statistic <= e.maxKs;
    return {
      passed,
      observed:
        `total variation distance ${tv} ${passed ? '≤' : '>'} ${e.maxKs} against the category frequencies of ${source} ` +
        `(${profiled.type} column: KS does not apply; ${values} values)`,
      summary: `${label} TV ${tv} > ${e.maxKs}`,
    };
  }
  const { statistic, values, seen, unreadable } = ksAgainstProfile(ev, e, profiled);
  const leftOut =
    unreadable > 0 ? `; ${unreadable} values not ${profiled.type === 'datetime' ? 'dates' : 'numbers'} left out` : '';
  if (statistic === undefined) {
    return {
      passed: false,
      observed: `no ${profiled.type} values to compare${leftOut}`,
      summary: `${label} no values`,
    };
  }
  const ks = round4(statistic);
  const passed = statistic <= e.maxKs;
  const counted = seen > values ? `${values} of ${seen} values, sampled uniformly` : `${values} values`;
  return {
    passed,
    observed: `KS ${ks} ${passed ? '≤' : '>'} ${e.maxKs} against the ${profiled.type} marginal of ${source} (${counted}${leftOut})`,
    summary: `${label} KS ${ks} > ${e.maxKs}`,
  };
}

// --- the gate -------------------------------------------------------------------------------------

function evaluate(ev: Evaluation, e: Expectation, label: string): ExpectationOutcome {
  const missing =
    absent(ev, ev.table, e.expect === 'row-count' ? undefined : e.column) ??
    (e.expect === 'references' ? absent(ev, e.table, e.refColumn) : undefined);
  if (missing) return { passed: false, observed: missing, summary: `${label} ${missing}` };
  switch (e.expect) {
    case 'not-null':
      return notNull(ev, e, label);
    case 'between':
      return between(ev, e, label);
    case 'unique':
      return unique(ev, e, label);
    case 'in-set':
      return inSet(ev, e, label);
    case 'row-count':
      return rowCount(ev, e, label);
    case 'references':
      return references(ev, e, label);
    case 'distribution':
      return distribution(ev, e, label);
  }
}

/** The profile a `distribution` expectation compares with: `options.profile`, else the layer's synthetic source. */
function profileFile(ctx: GateContext, opts: ExpectationsOptions): string | undefined {
  if (opts.profile) return path.resolve(opts.profile);
  const source = ctx.layer.data?.source;
  return source?.classification === 'synthetic' ? source.file : undefined;
}

function profileLoader(ctx: GateContext, opts: ExpectationsOptions): Evaluation['profile'] {
  let loaded: ReturnType<Evaluation['profile']> | undefined;
  return () => {
    if (loaded) return loaded;
    const file = profileFile(ctx, opts);
    if (!file) {
      loaded = { error: 'no profile: set options.profile, or seed the layer from a synthetic data source' };
      return loaded;
    }
    try {
      loaded = { profile: loadProfile(file), file };
    } catch (err) {
      loaded = { error: `no profile: ${(err as Error).message}` };
    }
    return loaded;
  };
}

export const expectationsGate: MeasuredGate<ExpectationsOptions> = {
  ...expectationsConfig,
  needs: [],
  async run(ctx, spec) {
    ctx.signal.throwIfAborted();
    const opts = expectationsOptions.parse(spec.options);
    const threshold = spec.threshold ?? 0;
    const base = { name: spec.name, type: spec.type, threshold, unit: 'failed expectations' };

    const checks: GateCheck[] = [];
    const failures: string[] = [];
    let db: EnvironmentDb;
    try {
      db = openReadOnly(ctx.dbPath);
    } catch (err) {
      return { ...base, passed: false, value: null, detail: (err as Error).message };
    }
    try {
      const columns = new Map<string, Set<string>>();
      const ev: Evaluation = {
        db,
        table: opts.table ?? ctx.candidate.input.table,
        columnsOf(table) {
          let known = columns.get(table);
          if (!known) {
            known = new Set(tableColumns(db, table).map((c) => c.name));
            columns.set(table, known);
          }
          return known;
        },
        profile: profileLoader(ctx, opts),
        tick(rows) {
          ctx.signal.throwIfAborted();
          ctx.heartbeat({ gate: spec.name, expectation: checks.length + 1, rows });
        },
      };
      for (const e of opts.expectations) {
        ctx.signal.throwIfAborted();
        const label = expectationName(e);
        const outcome = evaluate(ev, e, label);
        checks.push({ name: label, passed: outcome.passed, observed: outcome.observed });
        if (!outcome.passed) failures.push(outcome.summary);
        ctx.heartbeat({ gate: spec.name, expectation: checks.length, of: opts.expectations.length });
      }
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      return {
        ...base,
        passed: false,
        value: null,
        detail: `after ${checks.length} expectations: ${(err as Error).message}`,
        checks,
      };
    } finally {
      db.close();
    }

    const value = failures.length;
    const total = `${checks.length} expectation${checks.length === 1 ? '' : 's'}`;
    const detail = value === 0 ? `${total}, all met` : `${total}, ${value} failed: ${failures.join('; ')}`;
    const result: GateResult = { ...base, passed: value <= threshold, value, detail, checks };
    return result;
  },
};
