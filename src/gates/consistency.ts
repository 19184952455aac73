import type { FeatureSpec } from '../domain/ladder';
import { type EnvironmentDb, openReadOnly, quoteIdentifier, tableColumns } from '../envdb/sqlite';
import { type ConsistencyOptions, consistencyConfig, consistencyOptions } from './consistency.config';
import type { MeasuredGate } from './types';

// Data consistency: row count, nulls and ranges of the seeded table against the layer's seed
// settings and the candidate's declared input ranges. Measured value: violations found. Findings
// are counts, rates and the declared ranges, never a value of the data.

/** The label is checked like a non-nullable 0/1 column: the quality gate needs exactly that. */
const LABEL_SPEC: FeatureSpec = { type: 'boolean', required: true, nullable: false };

/** A SQL condition true for a non-null value outside what `spec` allows, with its bind values. */
function outOfRangeCondition(column: string, spec: FeatureSpec): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  switch (spec.type) {
    case 'number':
      parts.push(`typeof(${column}) NOT IN ('integer', 'real')`);
      break;
    case 'integer':
      parts.push(`typeof(${column}) <> 'integer'`);
      break;
    case 'boolean':
      parts.push(`${column} NOT IN (0, 1)`);
      break;
    case 'string':
      parts.push(`typeof(${column}) <> 'text'`);
      if (spec.enum && spec.enum.length > 0) {
        parts.push(`${column} NOT IN (${spec.enum.map(() => '?').join(', ')})`);
        params.push(...spec.enum);
      }
      break;
  }
  if (spec.type === 'number' || spec.type === 'integer') {
    if (spec.min !== undefined) {
      parts.push(`${column} < ?`);
      params.push(spec.min);
    }
    if (spec.max !== undefined) {
      parts.push(`${column} > ?`);
      params.push(spec.max);
    }
  }
  return { sql: `${column} IS NOT NULL AND (${parts.join(' OR ')})`, params };
}

function describeAllowed(spec: FeatureSpec): string {
  if (spec.type === 'boolean') return '0 or 1';
  if (spec.type === 'string') return spec.enum?.length ? `one of ${spec.enum.join('|')}` : 'text';
  const bounds = [spec.min !== undefined ? `>= ${spec.min}` : '', spec.max !== undefined ? `<= ${spec.max}` : '']
    .filter(Boolean)
    .join(' and ');
  return `${spec.type === 'integer' ? 'an integer' : 'a number'}${bounds ? ` ${bounds}` : ''}`;
}

const percent = (rate: number): string => `${(rate * 100).toFixed(2)} %`;

function findViolations(
  db: EnvironmentDb,
  tableName: string,
  columnsToCheck: [string, FeatureSpec][],
  minRows: number,
  opts: ConsistencyOptions,
): { violations: string[]; rows: number } {
  const table = quoteIdentifier(tableName);
  const violations: string[] = [];
  const rows = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  if (rows < minRows) violations.push(`${rows} rows, expected at least ${minRows}`);

  const present = new Set(tableColumns(db, tableName).map((c) => c.name));
  for (const [name, spec] of columnsToCheck) {
    if (!present.has(name)) {
      if (spec.required !== false) violations.push(`column ${name} missing`);
      continue;
    }
    const column = quoteIdentifier(name);
    if (!spec.nullable && rows > 0) {
      const nulls = (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} IS NULL`).get() as { n: number }).n;
      const rate = nulls / rows;
      if (rate > opts.maxNullRate) {
        violations.push(
          `column ${name}: ${nulls} nulls (${percent(rate)}, at most ${percent(opts.maxNullRate)} allowed)`,
        );
      }
    }
    if (opts.checkRanges) {
      const condition = outOfRangeCondition(column, spec);
      // A count and a rate: the offending values themselves (or their min/max) never leave the worker.
      const bad = db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${condition.sql}`).get(...condition.params) as {
        n: number;
      };
      if (bad.n > 0) {
        violations.push(
          `column ${name}: ${bad.n} of ${rows} rows (${percent(bad.n / rows)}) out of range (expected ${describeAllowed(spec)})`,
        );
      }
    }
  }
  return { violations, rows };
}

export const consistencyGate: MeasuredGate<ConsistencyOptions> = {
  ...consistencyConfig,
  needs: [],
  // One violation per failed check: the row count, a column's null rate, a column's range.
  async run(ctx, spec) {
    ctx.signal.throwIfAborted();
    const opts = consistencyOptions.parse(spec.options ?? {});
    const threshold = spec.threshold ?? 0;
    const minRows = opts.minRows ?? ctx.layer.seed.rows;
    const { table, label, features } = ctx.candidate.input;
    const result = { name: spec.name, type: spec.type, threshold, unit: 'violations' };

    let found: { violations: string[]; rows: number };
    try {
      const db = openReadOnly(ctx.dbPath);
      try {
        if (tableColumns(db, table).length === 0) {
          return { ...result, passed: false, value: null, detail: `table ${table} does not exist in ${ctx.dbPath}` };
        }
        const columnsToCheck: [string, FeatureSpec][] = [...Object.entries(features), [label, LABEL_SPEC]];
        found = findViolations(db, table, columnsToCheck, minRows, opts);
      } finally {
        db.close();
      }
    } catch (err) {
      return { ...result, passed: false, value: null, detail: (err as Error).message };
    }

    const value = found.violations.length;
    const checks = `${found.rows} rows (at least ${minRows}), nulls${opts.checkRanges ? ' and ranges' : ''} of ${Object.keys(features).length} features and the label`;
    const detail =
      value === 0
        ? `consistent: ${checks}`
        : `${value} violation${value === 1 ? '' : 's'} in ${table}: ${found.violations.join('; ')}`;
    return { ...result, passed: value <= threshold, value, detail };
  },
};
