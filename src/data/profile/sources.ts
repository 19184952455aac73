// Where a profile's rows come from: a CSV file, a SQLite file or a PostgreSQL table, all read as a
// stream of row batches so that a table of any size is profiled in bounded memory — the CSV parsed
// chunk by chunk, SQLite through a statement iterator, PostgreSQL through a server-side cursor.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { CsvParser } from './csv';
import { DataInputError } from './errors';

/** One value as a source hands it over: text (CSV, PostgreSQL), a number (SQLite), or missing. */
export type Cell = string | number | null;

export type SourceKind = 'csv' | 'sqlite' | 'postgres';

export interface TableSource {
  kind: SourceKind;
  /** What error messages name: the file path, or the connection URL without its password. */
  label: string;
  table: string;
  columns: string[];
  /** Row batches in source order. Iterate once. */
  batches(): AsyncIterable<Cell[][]>;
  close(): Promise<void>;
}

const BATCH_ROWS = 5000;

export function isPostgresUrl(source: string): boolean {
  return /^postgres(ql)?:\/\//i.test(source);
}

/** The URL without its password, safe to print and to record. */
export function redactUrl(source: string): string {
  try {
    const url = new URL(source);
    if (url.password) url.password = '';
    return url.toString();
  } catch {
    return 'postgres://…';
  }
}

function isSqliteFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const header = Buffer.alloc(16);
    const n = fs.readSync(fd, header, 0, 16, 0);
    return n === 16 && header.toString('latin1') === 'SQLite format 3\u0000';
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Opens SOURCE: a `postgres://` URL, a SQLite file (recognised by its header, not its name) or a
 * CSV file. `table` is required for databases (unless a SQLite file holds exactly one table); for a
 * CSV file it only names the table in the profile (default: the file name without extension).
 */
export async function openSource(source: string, table?: string): Promise<TableSource> {
  if (isPostgresUrl(source)) return openPostgres(source, table);
  if (!fs.existsSync(source)) throw new DataInputError(source, '', 'no such file');
  if (fs.statSync(source).isDirectory())
    throw new DataInputError(source, '', 'is a directory; expected a CSV or SQLite file');
  if (isSqliteFile(source)) return openSqlite(source, table);
  return openCsv(source, table ?? path.basename(source).replace(/\.[^.]*$/, ''));
}

// --- CSV -----------------------------------------------------------------------------------------

async function openCsv(file: string, table: string): Promise<TableSource> {
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<string>;
  const parser = new CsvParser(file);
  let pending: Cell[][] = [];
  let header: string[] | undefined;
  let done = false;

  const onRecord = (fields: string[], line: number): void => {
    if (!header) {
      header = checkHeader(file, fields);
      parser.header = header;
      return;
    }
    if (fields.length !== header.length) {
      const where =
        fields.length < header.length
          ? `line ${line}, column ${JSON.stringify(header[fields.length])}`
          : `line ${line}, field ${header.length + 1}`;
      const problem =
        fields.length < header.length
          ? `missing: the row has ${fields.length} fields, the header ${header.length}`
          : `one field too many: the row has ${fields.length} fields, the header ${header.length} (an unquoted comma inside a value?)`;
      throw new DataInputError(file, where, problem);
    }
    pending.push(fields.map((f) => (f === '' ? null : f)));
  };

  /** Reads chunks until at least one batch is ready or the file ends. */
  const pull = async (): Promise<void> => {
    while (!done && pending.length < BATCH_ROWS) {
      const next = await chunks.next();
      if (next.done) {
        parser.end(onRecord);
        done = true;
      } else {
        parser.feed(next.value, onRecord);
      }
    }
  };

  try {
    while (!header && !done) await pull();
  } catch (err) {
    stream.destroy();
    throw err;
  }
  if (!header) {
    stream.destroy();
    throw new DataInputError(file, '', 'the file is empty; expected a header line naming the columns');
  }
  const columns = header;

  return {
    kind: 'csv',
    label: file,
    table,
    columns,
    async *batches() {
      try {
        for (;;) {
          if (pending.length >= BATCH_ROWS || done) {
            if (pending.length > 0) {
              const batch = pending;
              pending = [];
              yield batch;
            }
            if (done) return;
          }
          await pull();
        }
      } finally {
        stream.destroy();
      }
    },
    async close() {
      stream.destroy();
    },
  };
}

function checkHeader(file: string, fields: string[]): string[] {
  const names = fields.map((f) => f.trim());
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    if (name === '')
      throw new DataInputError(
        file,
        `line 1, field ${i + 1}`,
        'the header names no column here; every column needs a name',
      );
    const first = seen.get(name);
    if (first !== undefined) {
      throw new DataInputError(
        file,
        `line 1, column ${JSON.stringify(name)}`,
        `named twice (fields ${first + 1} and ${i + 1}); column names must be unique`,
      );
    }
    seen.set(name, i);
  });
  return names;
}

// --- SQLite --------------------------------------------------------------------------------------

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function openSqlite(file: string, table: string | undefined): TableSource {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new DataInputError(file, '', `cannot open the SQLite database: ${(err as Error).message}`);
  }
  try {
    const tables = (
      db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .all() as Array<{
        name: string;
      }>
    ).map((r) => r.name);
    if (table === undefined) {
      if (tables.length !== 1) {
        throw new DataInputError(
          file,
          '',
          `--table is required: the database holds ${tables.length === 0 ? 'no tables' : `tables ${tables.join(', ')}`}`,
        );
      }
      table = tables[0];
    }
    if (!tables.includes(table)) {
      throw new DataInputError(
        file,
        `table ${JSON.stringify(table)}`,
        `no such table; the database holds ${tables.length === 0 ? 'no tables' : tables.join(', ')}`,
      );
    }
    const statement = db.prepare(`SELECT * FROM ${quoteIdent(table)}`).raw(true);
    const columns = statement.columns().map((c) => c.name);
    const name = table;
    return {
      kind: 'sqlite',
      label: file,
      table: name,
      columns,
      async *batches() {
        let batch: Cell[][] = [];
        for (const row of statement.iterate() as Iterable<unknown[]>) {
          batch.push(row.map(sqliteCell));
          if (batch.length >= BATCH_ROWS) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length > 0) yield batch;
      },
      async close() {
        db.close();
      },
    };
  } catch (err) {
    db.close();
    if (err instanceof DataInputError) throw err;
    throw new DataInputError(file, table === undefined ? '' : `table ${JSON.stringify(table)}`, (err as Error).message);
  }
}

function sqliteCell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return String(value);
}

// --- PostgreSQL ----------------------------------------------------------------------------------

function quoteQualified(table: string): string {
  return table.split('.').map(quoteIdent).join('.');
}

async function openPostgres(url: string, table: string | undefined): Promise<TableSource> {
  const label = redactUrl(url);
  if (!table) throw new DataInputError(label, '', '--table is required for a PostgreSQL source');
  // Every value as PostgreSQL's own text form: the profiler infers types the same way for every
  // source, and dates keep the format they are written in.
  const client = new Client({ connectionString: url, types: { getTypeParser: () => (text: string) => text } as never });
  try {
    await client.connect();
  } catch (err) {
    throw new DataInputError(label, '', `cannot connect: ${(err as Error).message}`);
  }
  const where = `table ${JSON.stringify(table)}`;
  try {
    const found = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid AS oid', [
      quoteQualified(table),
    ]);
    if (!found.rows[0]?.oid) throw new DataInputError(label, where, 'no such table');
    const probe = await client.query({ text: `SELECT * FROM ${quoteQualified(table)} LIMIT 0`, rowMode: 'array' });
    const columns = probe.fields.map((f) => f.name);
    await client.query('BEGIN READ ONLY');
    await client.query(`DECLARE strata_profile NO SCROLL CURSOR FOR SELECT * FROM ${quoteQualified(table)}`);
    let finished = false;
    const finish = async (): Promise<void> => {
      if (finished) return;
      finished = true;
      try {
        await client.query('ROLLBACK');
      } finally {
        await client.end();
      }
    };
    return {
      kind: 'postgres',
      label,
      table,
      columns,
      async *batches() {
        try {
          for (;;) {
            const result = await client.query({
              text: `FETCH FORWARD ${BATCH_ROWS} FROM strata_profile`,
              rowMode: 'array',
            });
            if (result.rows.length === 0) return;
            yield result.rows.map((row: unknown[]) =>
              row.map((v) => (v === null || v === undefined ? null : String(v))),
            );
          }
        } finally {
          await finish();
        }
      },
      close: finish,
    };
  } catch (err) {
    await client.end().catch(() => undefined);
    if (err instanceof DataInputError) throw err;
    throw new DataInputError(label, where, (err as Error).message);
  }
}
