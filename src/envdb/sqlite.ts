// Read-only access to an environment's SQLite database, as the data gates need it: open, list a
// table's columns, and name a column safely in SQL.

import Database from 'better-sqlite3';

export type EnvironmentDb = Database.Database;

export interface TableColumn {
  name: string;
  /** The type as declared in CREATE TABLE (may be empty). */
  declaredType: string;
  affinity: Affinity;
}

export type Affinity = 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC';

/** Opens an existing database read-only; throws an Error naming the file when that fails. */
export function openReadOnly(dbPath: string): EnvironmentDb {
  try {
    return new Database(dbPath, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new Error(`cannot open database ${dbPath}: ${(err as Error).message}`);
  }
}

/**
 * Column affinity of a declared type, by SQLite's own rules (https://sqlite.org/datatype3.html,
 * section 3.1): INT → INTEGER; CHAR, CLOB, TEXT → TEXT; BLOB or none → BLOB; REAL, FLOA, DOUB →
 * REAL; anything else (NUMERIC, DECIMAL, BOOLEAN, DATE...) → NUMERIC. Checked in this order.
 */
export function columnAffinity(declaredType: string): Affinity {
  const t = declaredType.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t.includes('BLOB') || t.trim() === '') return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

/** Columns of `table` in declaration order; empty when the table does not exist. */
export function tableColumns(db: EnvironmentDb, table: string): TableColumn[] {
  const rows = db.prepare('SELECT name, type FROM pragma_table_info(?)').all(table) as { name: string; type: string }[];
  return rows.map((r) => ({ name: r.name, declaredType: r.type, affinity: columnAffinity(r.type) }));
}

/** A double-quoted SQL identifier, so names from candidate.yaml can never break out of the query. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
