// Row counts and content checksums of tables: the pre-fault snapshot, the backup's contents and
// the post-recovery comparison all use these, so they agree byte for byte.

import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { TableFingerprint, TableFingerprints } from '../domain/drill';
import { hasTable } from './writes-table';

export type { TableFingerprint, TableFingerprints };

/** User tables of the database (no sqlite_* internals), sorted by name. */
export function listTables(db: Database.Database): string[] {
  return db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .pluck()
    .all() as string[];
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Row count and sha256 of one table: the column names, then each row as a JSON array of its
 * values in column order, one per line, in rowid order (primary-key order for WITHOUT ROWID).
 * SQLite renders the JSON itself (reals with round-trip precision; blobs as "blob:<hex>"), which
 * is about twice as fast as building and stringifying the rows in JavaScript.
 */
export function fingerprintTable(db: Database.Database, table: string): TableFingerprint {
  const columns = db.prepare(`PRAGMA table_info(${quoteIdent(table)})`).all() as Array<{ name: string; pk: number }>;
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(table) as
    string | undefined;
  const withoutRowid = /WITHOUT\s+ROWID/i.test(sql ?? '');
  const order = withoutRowid
    ? columns
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => quoteIdent(c.name))
        .join(', ')
    : 'rowid';
  const values = columns
    .map((c) => quoteIdent(c.name))
    .map((c) => `CASE typeof(${c}) WHEN 'blob' THEN 'blob:' || hex(${c}) ELSE ${c} END`)
    .join(', ');
  const hash = createHash('sha256');
  hash.update(`${JSON.stringify(columns.map((c) => c.name))}\n`);
  let rows = 0;
  let chunk = '';
  const select = db
    .prepare(`SELECT json_array(${values}) FROM ${quoteIdent(table)} ORDER BY ${order || 'rowid'}`)
    .pluck();
  for (const line of select.iterate() as IterableIterator<string>) {
    chunk += `${line}\n`;
    rows++;
    if (chunk.length >= 1 << 16) {
      hash.update(chunk);
      chunk = '';
    }
  }
  hash.update(chunk);
  return { rows, checksum: hash.digest('hex') };
}

/**
 * Fingerprints of `tables` (default: every user table except those in `exclude`). A named table
 * that does not exist is left out of the result, so a comparison with a snapshot reports it missing.
 */
export function fingerprintTables(
  db: Database.Database,
  opts: { tables?: string[]; exclude?: string[] } = {},
): TableFingerprints {
  const names = opts.tables ?? listTables(db).filter((t) => !(opts.exclude ?? []).includes(t));
  const out: TableFingerprints = {};
  // One read transaction: every table is fingerprinted as of the same moment.
  db.transaction(() => {
    for (const table of names) if (hasTable(db, table)) out[table] = fingerprintTable(db, table);
  })();
  return out;
}

/** Problems found comparing `actual` with `expected` (empty: the same), table by table. */
export function compareFingerprints(expected: TableFingerprints, actual: TableFingerprints): string[] {
  const problems: string[] = [];
  for (const [table, want] of Object.entries(expected)) {
    const got = actual[table];
    if (!got) problems.push(`table ${table} is missing`);
    else if (got.rows !== want.rows)
      problems.push(`table ${table} has ${got.rows} rows, the snapshot had ${want.rows}`);
    else if (got.checksum !== want.checksum) {
      problems.push(
        `table ${table} content differs from the snapshot (checksum ${got.checksum.slice(0, 12)} ≠ ${want.checksum.slice(0, 12)})`,
      );
    }
  }
  return problems;
}
