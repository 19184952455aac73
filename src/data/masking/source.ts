// Where sanitized rows come from: a CSV file with a header row, or one table of an SQLite database.
// Both are read row by row; only the columns the policy keeps are read from SQLite at all.

import fs from 'node:fs';
import Database from 'better-sqlite3';
import { ConfigError, quoteList } from '../../validation/errors';
import { CsvReader } from './csv';
import type { Cell } from './ops';
import type { MaskingPolicy } from './policy';

const SQLITE_HEADER = Buffer.from('SQLite format 3\u0000', 'latin1');

export interface SourceRow {
  /** Values of the selected columns, in the order they were selected. */
  values: Cell[];
  /** Where the row is: its line (CSV) or its 1-based row number (SQLite). */
  at: number;
}

export interface Source {
  kind: 'csv' | 'sqlite';
  file: string;
  table?: string;
  /** For messages: `data.csv`, or `prod.db table customers`. */
  label: string;
  columns: string[];
  /** Declared SQLite types of the columns (undefined for CSV). */
  declaredTypes: (string | undefined)[];
  /** `line 7` or `row 7`. */
  locate(at: number): string;
  rows(selected: readonly string[]): Iterable<SourceRow>;
  close(): void;
}

export function isSqliteFile(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(SQLITE_HEADER.length);
    return fs.readSync(fd, head, 0, head.length, 0) === head.length && head.equals(SQLITE_HEADER);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Opens `file` as an SQLite source (detected by its header) or else as CSV. */
export function openSource(file: string, policy: MaskingPolicy): Source {
  if (!fs.existsSync(file)) throw new ConfigError(file, [{ path: '', message: 'source file not found' }]);
  return isSqliteFile(file) ? openSqlite(file, policy) : openCsv(file);
}

function openCsv(file: string): Source {
  const reader = new CsvReader(file);
  return {
    kind: 'csv',
    file,
    label: file,
    columns: reader.header,
    declaredTypes: reader.header.map(() => undefined),
    locate: (at) => `line ${at}`,
    *rows(selected) {
      const indices = selected.map((name) => reader.header.indexOf(name));
      for (const record of reader.records()) {
        const values: Cell[] = new Array(indices.length);
        for (let k = 0; k < indices.length; k++) values[k] = record.fields[indices[k]];
        yield { values, at: record.line };
      }
    },
    close: () => reader.close(),
  };
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

function openSqlite(file: string, policy: MaskingPolicy): Source {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new ConfigError(file, [{ path: '', message: `cannot open the SQLite source: ${(error as Error).message}` }]);
  }
  try {
    const tables = (
      db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .all() as { name: string }[]
    ).map((t) => t.name);
    let table = policy.table;
    if (table === undefined) {
      if (tables.length !== 1) {
        throw new ConfigError(policy.file, [
          {
            path: 'table',
            message: `missing; the SQLite source ${file} has ${tables.length === 0 ? 'no tables' : `tables ${quoteList(tables)}`}: name the one to sanitize`,
          },
        ]);
      }
      table = tables[0];
    } else if (!tables.includes(table)) {
      throw new ConfigError(policy.file, [
        {
          path: 'table',
          message: `the SQLite source ${file} has no table "${table}"; it has ${tables.length === 0 ? 'none' : quoteList(tables)}`,
        },
      ]);
    }
    const info = db.prepare(`PRAGMA table_info(${quoteIdent(table)})`).all() as { name: string; type: string }[];
    const source: Source = {
      kind: 'sqlite',
      file,
      table,
      label: `${file} table ${table}`,
      columns: info.map((c) => c.name),
      declaredTypes: info.map((c) => c.type || undefined),
      locate: (at) => `row ${at}`,
      *rows(selected) {
        const statement = db
          .prepare(`SELECT ${selected.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)}`)
          .raw(true)
          .safeIntegers(true);
        let at = 0;
        for (const values of statement.iterate() as Iterable<Cell[]>) yield { values, at: ++at };
      },
      close: () => db.close(),
    };
    return source;
  } catch (error) {
    db.close();
    throw error;
  }
}
