// Where sanitized rows go: a CSV file, or one table of an SQLite database (an environment's
// data.db). Either way the output is built in a temporary file beside the target and renamed over
// it only when every row is in, so a failure or a kill at any point leaves the target as it was.
// An existing SQLite target keeps its other tables: it is copied (VACUUM INTO) into the temporary
// file first, and only the sanitized table is replaced.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../../validation/errors';
import { CsvWriter } from './csv';
import type { Cell } from './ops';
import { isSqliteFile } from './source';

export interface OutputColumn {
  name: string;
  /** Declared type in an SQLite output. */
  type: string;
}

export interface Sink {
  /** Adds one row; rows are buffered and written in batches. */
  write(row: Cell[]): void;
  /** Writes the buffered rows (one transaction for SQLite). */
  flush(): void;
  /** Makes the output visible under its final name. */
  commit(): void;
  /** Removes everything written so far; the target is untouched. */
  abort(): void;
}

/** Temporary names beside the target, so the final rename stays on one file system. */
function tempPathFor(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.sanitize-${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temporary files a killed run left beside `target` (their process is gone). */
export function removeStaleTemps(target: string): string[] {
  const dir = path.dirname(target);
  const pattern = new RegExp(
    `^\\.${escapeRegExp(path.basename(target))}\\.sanitize-(\\d+)-[0-9a-f]+\\.tmp(-journal)?$`,
  );
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const m = pattern.exec(entry);
    if (m && !isAlive(Number(m[1]))) {
      fs.rmSync(path.join(dir, entry), { force: true });
      removed.push(entry);
    }
  }
  return removed;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function fsyncPath(file: string, flags: 'r' | 'r+' = 'r'): void {
  // Directories cannot be opened on some platforms: best effort there.
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, flags);
    fs.fsyncSync(fd);
  } catch {
    /* best effort */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Renames `tmp` over `target` durably: the data is on disk before the name points at it. */
function publish(tmp: string, target: string): void {
  fsyncPath(tmp, 'r+');
  // Stale side files of the old database would be replayed into the new one.
  for (const suffix of ['-wal', '-shm', '-journal']) fs.rmSync(`${target}${suffix}`, { force: true });
  fs.renameSync(tmp, target);
  fsyncPath(path.dirname(target));
}

function cellToCsv(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return String(value);
}

export function openCsvSink(target: string, columns: readonly OutputColumn[]): Sink {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  removeStaleTemps(target);
  const tmp = tempPathFor(target);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  let open = true;
  const writer = new CsvWriter(fd);
  const close = () => {
    if (open) fs.closeSync(fd);
    open = false;
  };
  try {
    writer.writeRow(columns.map((c) => c.name));
  } catch (error) {
    close();
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  const fields: string[] = new Array(columns.length);
  return {
    write(row) {
      for (let k = 0; k < row.length; k++) fields[k] = cellToCsv(row[k]);
      writer.writeRow(fields);
    },
    flush: () => writer.flush(),
    commit() {
      writer.flush();
      fs.fsyncSync(fd);
      close();
      publish(tmp, target);
    },
    abort() {
      close();
      fs.rmSync(tmp, { force: true });
    },
  };
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export interface SqliteSinkOptions {
  table: string;
  columns: readonly OutputColumn[];
  /** CSV sources have no NULL: an empty field is written as NULL. */
  emptyIsNull: boolean;
}

export function openSqliteSink(target: string, opts: SqliteSinkOptions): Sink {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (fs.existsSync(target) && !isSqliteFile(target) && fs.statSync(target).size > 0) {
    throw new ConfigError(target, [
      { path: '', message: 'exists and is not an SQLite database; refusing to replace it' },
    ]);
  }
  removeStaleTemps(target);
  const tmp = tempPathFor(target);
  let db: Database.Database | undefined;
  const cleanup = () => {
    if (db?.open) db.close();
    db = undefined;
    for (const suffix of ['', '-journal']) fs.rmSync(`${tmp}${suffix}`, { force: true });
  };
  try {
    if (fs.existsSync(target) && fs.statSync(target).size > 0) {
      // A consistent copy of everything already there, even while others read or write it.
      const existing = new Database(target, { readonly: true, fileMustExist: true });
      try {
        existing.prepare('VACUUM INTO ?').run(tmp);
      } finally {
        existing.close();
      }
    }
    db = new Database(tmp);
    // The temporary file is thrown away on any failure: no journal is needed until it is published.
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.exec(`DROP TABLE IF EXISTS ${quoteIdent(opts.table)}`);
    db.exec(
      `CREATE TABLE ${quoteIdent(opts.table)} (${opts.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')})`,
    );
  } catch (error) {
    cleanup();
    throw error;
  }
  const insert = db.prepare(`INSERT INTO ${quoteIdent(opts.table)} VALUES (${opts.columns.map(() => '?').join(', ')})`);
  let batch: Cell[][] = [];
  const insertBatch = db.transaction((rows: Cell[][]) => {
    for (const row of rows) insert.run(row);
  });
  return {
    write(row) {
      if (opts.emptyIsNull) for (let k = 0; k < row.length; k++) if (row[k] === '') row[k] = null;
      batch.push(row);
    },
    flush() {
      if (batch.length === 0) return;
      insertBatch(batch);
      batch = [];
    },
    commit() {
      this.flush();
      db!.pragma('journal_mode = DELETE');
      db!.close();
      db = undefined;
      publish(tmp, target);
    },
    abort: cleanup,
  };
}
