import type { FeatureSpec, FeatureType } from '../domain/ladder';
import type { GateCheck, GateResult } from '../domain/status';
import { type EnvironmentDb, openReadOnly, quoteIdentifier, type TableColumn, tableColumns } from '../envdb/sqlite';
import { schemaCompatibilityConfig } from './schema-compatibility.config';
import type { MeasuredGate } from './types';

// The candidate's input schema against the environment's table, with schema-registry rules
// (Confluent's BACKWARD compatibility): the table is the writer, the candidate the reader. A
// reader copes with columns it does not know and with wider types than it declared; it does not
// cope with a column it needs being gone, a narrower or different type, or nulls it does not
// expect. Types are judged on the declared SQLite type AND on what the column actually stores
// (`typeof()` counts), because SQLite lets any column hold any value.
//
// Measured value: the number of failed rules (threshold 0). One check per rule applied.

export type CompatibilityRule =
  | 'removed-required-column'
  | 'missing-optional-column'
  | 'added-column'
  | 'same-type'
  | 'widened-type'
  | 'narrowed-type'
  | 'nullable-mismatch';

/** How many values of each storage class a column holds, and the two value tests the types need. */
export interface ColumnValues {
  rows: number;
  nulls: number;
  integer: number;
  real: number;
  text: number;
  blob: number;
  /** Real values with a fractional part (not whole numbers). */
  fractional: number;
  /** Numeric values other than 0 and 1. */
  notZeroOne: number;
}

interface TypeVerdict {
  rule: 'same-type' | 'widened-type' | 'narrowed-type';
  /** Why, in a few words ("declared TEXT", "12 values other than 0/1", "every integer is a number"). */
  reason: string;
}

/**
 * One table scan for all `columns`: COUNT/SUM over CASE, so millions of rows are counted without
 * being loaded.
 */
export function columnValues(db: EnvironmentDb, table: string, columns: string[]): Map<string, ColumnValues> {
  const parts = ['COUNT(*)'];
  for (const name of columns) {
    const c = quoteIdentifier(name);
    const count = (condition: string) => `COALESCE(SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END), 0)`;
    parts.push(
      count(`${c} IS NULL`),
      count(`typeof(${c}) = 'integer'`),
      count(`typeof(${c}) = 'real'`),
      count(`typeof(${c}) = 'text'`),
      count(`typeof(${c}) = 'blob'`),
      count(`typeof(${c}) = 'real' AND ${c} <> CAST(${c} AS INTEGER)`),
      count(`typeof(${c}) IN ('integer', 'real') AND ${c} NOT IN (0, 1)`),
    );
  }
  const row = db
    .prepare(`SELECT ${parts.join(', ')} FROM ${quoteIdentifier(table)}`)
    .raw(true)
    .get() as number[];
  const out = new Map<string, ColumnValues>();
  columns.forEach((name, i) => {
    const [nulls, integer, real, text, blob, fractional, notZeroOne] = row.slice(1 + i * 7, 8 + i * 7);
    out.set(name, { rows: row[0], nulls, integer, real, text, blob, fractional, notZeroOne });
  });
  return out;
}

const isBooleanDeclared = (column: TableColumn): boolean => /^BOOL(EAN)?$/i.test(column.declaredType.trim());
const declared = (column: TableColumn): string =>
  column.declaredType.trim() ? `declared ${column.declaredType.trim()}` : 'no declared type';

/** "990 integer, 10 null" — the storage classes present in the column. */
export function describeValues(v: ColumnValues): string {
  const parts = (['integer', 'real', 'text', 'blob'] as const).filter((k) => v[k] > 0).map((k) => `${v[k]} ${k}`);
  if (v.nulls > 0) parts.push(`${v.nulls} null`);
  return parts.length === 0 ? 'no rows' : parts.join(', ');
}

/** The reader's `expected` type against the writer's column: same, widened (fine) or narrowed. */
export function judgeType(expected: FeatureType, column: TableColumn, v: ColumnValues): TypeVerdict {
  const narrowed = (reason: string): TypeVerdict => ({ rule: 'narrowed-type', reason });
  const { affinity } = column;
  const numeric = v.integer + v.real;
  switch (expected) {
    case 'number':
      if (affinity === 'TEXT') return narrowed(declared(column));
      if (v.text + v.blob > 0) return narrowed(`${v.text + v.blob} non-numeric values`);
      if (
        affinity === 'INTEGER' ||
        isBooleanDeclared(column) ||
        (affinity === 'BLOB' && v.real === 0 && v.integer > 0)
      ) {
        return { rule: 'widened-type', reason: 'every integer is a number' };
      }
      return { rule: 'same-type', reason: declared(column) };
    case 'integer':
      if (affinity === 'TEXT' || affinity === 'REAL') return narrowed(declared(column));
      if (affinity === 'NUMERIC' && !isBooleanDeclared(column))
        return narrowed(`${declared(column)}, may hold non-integers`);
      if (v.fractional + v.text + v.blob > 0) return narrowed(`${v.fractional + v.text + v.blob} non-integer values`);
      if (isBooleanDeclared(column)) return { rule: 'widened-type', reason: 'every 0/1 is an integer' };
      return { rule: 'same-type', reason: declared(column) };
    case 'boolean':
      if (affinity === 'TEXT' || affinity === 'REAL') return narrowed(declared(column));
      if (v.notZeroOne + v.text + v.blob > 0)
        return narrowed(`${v.notZeroOne + v.text + v.blob} values other than 0/1`);
      return { rule: 'same-type', reason: declared(column) };
    case 'string':
      if (affinity === 'INTEGER' || affinity === 'REAL' || affinity === 'NUMERIC') {
        return narrowed(`${declared(column)}, a numeric column`);
      }
      if (numeric + v.blob > 0) return narrowed(`${numeric + v.blob} non-text values`);
      return { rule: 'same-type', reason: declared(column) };
  }
}

const percent = (part: number, whole: number): string => `${((part / whole) * 100).toFixed(1)} %`;

interface RuleResult extends GateCheck {
  /** The short form for `detail`: `amount narrowed-type (declared TEXT)`. */
  summary: string;
}

function rule(rule: CompatibilityRule, column: string, passed: boolean, observed: string, reason?: string): RuleResult {
  return {
    name: `${rule}(${column})`,
    passed,
    observed,
    summary: `${column} ${rule}${reason ? ` (${reason})` : ''}`,
  };
}

/** The rules for one column the candidate reads: presence, type, nullability. */
function checkColumn(
  name: string,
  spec: Pick<FeatureSpec, 'type' | 'required' | 'nullable'>,
  what: string,
  column: TableColumn | undefined,
  values: ColumnValues | undefined,
): RuleResult[] {
  if (!column || !values) {
    return spec.required
      ? [
          rule(
            'removed-required-column',
            name,
            false,
            `${what} ${name} (${spec.type}) is required by the candidate and missing from the table`,
          ),
        ]
      : [
          rule(
            'missing-optional-column',
            name,
            true,
            `${what} ${name} is missing; the candidate declares it required: false`,
          ),
        ];
  }
  const verdict = judgeType(spec.type, column, values);
  const results: RuleResult[] = [];
  const because =
    verdict.rule === 'widened-type'
      ? `; compatible: ${verdict.reason}`
      : verdict.rule === 'narrowed-type'
        ? `; incompatible: ${verdict.reason}`
        : '';
  results.push(
    rule(
      verdict.rule,
      name,
      verdict.rule !== 'narrowed-type',
      `expects ${spec.type}; column ${declared(column)}, holds ${describeValues(values)}${because}`,
      verdict.rule === 'narrowed-type' ? verdict.reason : undefined,
    ),
  );
  if (!spec.nullable && values.nulls > 0) {
    results.push(
      rule(
        'nullable-mismatch',
        name,
        false,
        `${values.nulls} nulls in ${values.rows} rows (${percent(values.nulls, values.rows)}); the candidate declares ${name} not nullable`,
        `${values.nulls} nulls`,
      ),
    );
  }
  return results;
}

/** Every rule for the candidate's input schema against the table's columns, in schema order. */
export function compatibilityChecks(
  db: EnvironmentDb,
  input: { table: string; label: string; key?: string; features: Record<string, FeatureSpec> },
  columns: TableColumn[],
): RuleResult[] {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const read = [...Object.keys(input.features), input.label].filter((name) => byName.has(name));
  const values = columnValues(db, input.table, [...new Set(read)]);
  const results: RuleResult[] = [];
  for (const [name, spec] of Object.entries(input.features)) {
    results.push(...checkColumn(name, spec, 'column', byName.get(name), values.get(name)));
  }
  // The label is compared with scores: any numeric column will do; its nulls are the
  // consistency gate's business (unlabelled rows are skipped by the quality gate).
  const labelSpec = { type: 'number', required: true, nullable: true } as const;
  results.push(
    ...checkColumn(input.label, labelSpec, 'label column', byName.get(input.label), values.get(input.label)),
  );
  const known = new Set([...Object.keys(input.features), input.label, ...(input.key ? [input.key] : [])]);
  for (const column of columns) {
    if (known.has(column.name)) continue;
    results.push(
      rule(
        'added-column',
        column.name,
        true,
        `not read by the candidate (${declared(column)}); an added column is compatible`,
      ),
    );
  }
  return results;
}

function summarize(table: string, results: RuleResult[]): string {
  const failed = results.filter((r) => !r.passed);
  if (failed.length > 0) return `${failed.length} incompatible: ${failed.map((r) => r.summary).join(', ')}`;
  const counts = new Map<string, number>();
  for (const r of results) {
    const ruleName = r.name.slice(0, r.name.indexOf('('));
    if (ruleName !== 'same-type') counts.set(ruleName, (counts.get(ruleName) ?? 0) + 1);
  }
  const notes = [...counts].map(([name, n]) => `${n} ${name}`);
  return `compatible with ${table}${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

export const schemaCompatibilityGate: MeasuredGate<Record<string, never>> = {
  ...schemaCompatibilityConfig,
  needs: [],
  async run(ctx, spec) {
    ctx.signal.throwIfAborted();
    const threshold = spec.threshold ?? 0;
    const { table } = ctx.candidate.input;
    const base = { name: spec.name, type: spec.type, threshold, unit: 'incompatibilities' };

    let results: RuleResult[];
    try {
      const db = openReadOnly(ctx.dbPath);
      try {
        const columns = tableColumns(db, table);
        if (columns.length === 0) {
          // Nothing the candidate reads is there: never tolerated, whatever the threshold.
          const check = {
            name: `table-missing(${table})`,
            passed: false,
            observed: `table ${table} does not exist in ${ctx.dbPath}`,
          };
          return { ...base, passed: false, value: 1, detail: `1 incompatible: ${check.observed}`, checks: [check] };
        }
        results = compatibilityChecks(db, ctx.candidate.input, columns);
      } finally {
        db.close();
      }
    } catch (err) {
      return { ...base, passed: false, value: null, detail: (err as Error).message };
    }

    const value = results.filter((r) => !r.passed).length;
    const checks: GateCheck[] = results.map(({ name, passed, observed }) => ({ name, passed, observed }));
    const result: GateResult = {
      ...base,
      passed: value <= threshold,
      value,
      detail: summarize(table, results),
      checks,
    };
    return result;
  },
};
