import type { FeatureType } from '../domain/ladder';
import { type Affinity, openReadOnly, type TableColumn, tableColumns } from '../envdb/sqlite';
import { schemaConfig } from './schema.config';
import type { MeasuredGate } from './types';

// Seeded schema vs the candidate's input schema: every required feature exists in the table
// with a compatible column type. Measured value: number of incompatibilities (threshold 0).

/** Column affinities that can hold each feature type (affinity rules: src/envdb/sqlite.ts). */
const COMPATIBLE: Record<FeatureType, readonly Affinity[]> = {
  number: ['REAL', 'INTEGER', 'NUMERIC'],
  integer: ['INTEGER'],
  boolean: ['INTEGER'],
  string: ['TEXT'],
};

function isCompatible(type: FeatureType, column: TableColumn): boolean {
  // BOOLEAN is a common declared type for 0/1 columns, but its affinity is NUMERIC.
  if (type === 'boolean' && /^BOOL(EAN)?$/i.test(column.declaredType.trim())) return true;
  return COMPATIBLE[type].includes(column.affinity);
}

const describeType = (c: TableColumn): string => c.declaredType.trim() || 'no declared type';

export const schemaGate: MeasuredGate<Record<string, never>> = {
  ...schemaConfig,
  needs: [],
  async run(ctx, spec) {
    ctx.signal.throwIfAborted();
    const threshold = spec.threshold ?? 0;
    const { table, label, features } = ctx.candidate.input;
    const result = { name: spec.name, type: spec.type, threshold, unit: 'incompatibilities' };

    let columns: TableColumn[];
    try {
      const db = openReadOnly(ctx.dbPath);
      try {
        columns = tableColumns(db, table);
      } finally {
        db.close();
      }
    } catch (err) {
      return { ...result, passed: false, value: null, detail: (err as Error).message };
    }
    if (columns.length === 0) {
      const required = Object.values(features).filter((f) => f.required !== false).length + 1;
      return {
        ...result,
        passed: required <= threshold,
        value: required,
        detail: `table ${table} does not exist in ${ctx.dbPath}`,
      };
    }

    const byName = new Map(columns.map((c) => [c.name, c]));
    const problems: string[] = [];
    let checked = 0;
    for (const [name, feature] of Object.entries(features)) {
      const column = byName.get(name);
      if (!column) {
        if (feature.required !== false) problems.push(`column ${name}: missing (expected ${feature.type})`);
        continue;
      }
      checked++;
      if (!isCompatible(feature.type, column)) {
        problems.push(`column ${name}: expected ${feature.type}, table has ${describeType(column)}`);
      }
    }
    // The label is compared with scores, so any numeric column will do.
    const labelColumn = byName.get(label);
    if (!labelColumn) problems.push(`label column ${label}: missing`);
    else {
      checked++;
      if (!isCompatible('number', labelColumn)) {
        problems.push(`label column ${label}: expected number, table has ${describeType(labelColumn)}`);
      }
    }

    const value = problems.length;
    const detail =
      value === 0
        ? `${checked} columns of ${table} match the candidate's input schema`
        : `${value} incompatibilit${value === 1 ? 'y' : 'ies'} in ${table}: ${problems.join('; ')}`;
    return { ...result, passed: value <= threshold, value, detail };
  },
};
