// Rows of the environment's table turned into the JSON records a candidate's /predict expects:
// only the declared features, booleans as true/false (SQLite stores them as 0/1).

import type { FeatureSpec, InputSchema } from '../domain/ladder';
import { type EnvironmentDb, quoteIdentifier, tableColumns } from './sqlite';

export type FeatureRecord = Record<string, unknown>;

export interface LabelledRecord {
  record: FeatureRecord;
  /** The label column's raw value (undefined when not read). */
  label: unknown;
}

/** The table lacks columns the candidate needs; the schema gate reports these in detail. */
export class MissingColumnsError extends Error {
  constructor(
    readonly table: string,
    readonly missing: string[],
  ) {
    super(
      missing.length === 0
        ? `table ${table} does not exist`
        : `table ${table} lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    );
  }
}

function toJsonValue(spec: FeatureSpec, value: unknown): unknown {
  if (spec.type === 'boolean' && (value === 0 || value === 1)) return value === 1;
  return value;
}

/**
 * Iterates the table's rows as records, in storage order, at most `limit` of them. Features
 * declared `required: false` and absent from the table are left out; a missing required feature
 * (or label, when `withLabel`) throws MissingColumnsError before any row is read.
 */
export function* readRecords(
  db: EnvironmentDb,
  input: InputSchema,
  opts: { withLabel: boolean; limit?: number },
): Generator<LabelledRecord> {
  const present = new Set(tableColumns(db, input.table).map((c) => c.name));
  if (present.size === 0) throw new MissingColumnsError(input.table, []);
  const features = Object.entries(input.features).filter(([name]) => present.has(name));
  const missing = Object.entries(input.features)
    .filter(([name, spec]) => spec.required !== false && !present.has(name))
    .map(([name]) => name);
  if (opts.withLabel && !present.has(input.label)) missing.push(input.label);
  if (missing.length > 0) throw new MissingColumnsError(input.table, missing);

  const columns = features.map(([name]) => quoteIdentifier(name));
  if (opts.withLabel) columns.push(quoteIdentifier(input.label));
  // The record's key travels with it (when the table has it) so the candidate can look it up.
  const key = input.key && present.has(input.key) ? input.key : undefined;
  if (key) columns.push(quoteIdentifier(key));
  const statement = db.prepare(`SELECT ${columns.join(', ')} FROM ${quoteIdentifier(input.table)} LIMIT ?`).raw(true);
  // LIMIT -1 is SQLite's "no limit".
  for (const values of statement.iterate(opts.limit ?? -1) as Iterable<unknown[]>) {
    const record: FeatureRecord = {};
    features.forEach(([name, spec], i) => {
      record[name] = toJsonValue(spec, values[i]);
    });
    if (key) record[key] = values[values.length - 1];
    yield { record, label: opts.withLabel ? values[features.length] : undefined };
  }
}
