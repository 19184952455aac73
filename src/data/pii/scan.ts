// PII scan of a data source: a SQLite database (every table, every column) or a CSV file. Values
// are streamed — a table in batches of 1000 rows (row by row with iterate() where a table has no
// rowid), the CSV file chunk by chunk — so memory does not grow with the table. The report says,
// per table, column and detector, how many findings there were: never a value, not even a masked
// one.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CsvError, CsvRecordReader } from './csv';
import { columnFindings, type ColumnTally, kindOfName } from './column';
import { PiiDetectors } from './detectors';

export interface PiiFinding {
  table: string;
  column: string;
  detector: string;
  count: number;
  /**
   * How sure the finding is, 0.05–0.99, from the column's evidence: its name and the share of its
   * values that hold this kind of finding (column.ts). Absent in reports written before it existed.
   */
  confidence?: number;
}

export type PiiSourceFormat = 'sqlite' | 'csv';

export interface PiiScanReport {
  source: string;
  format: PiiSourceFormat;
  /** Detectors that ran, in order. */
  detectors: string[];
  /** Only (table, column, detector) with at least one finding, in table, column and detector order. */
  findings: PiiFinding[];
  total: number;
  /** Tables scanned (for a CSV file, one: the file name without its extension). */
  tables: string[];
  rows: number;
  /** Non-empty text and number values scanned. */
  values: number;
  /** UTF-8 bytes of the values scanned. */
  bytes: number;
  /** BLOB values, which are not scanned. */
  skippedBlobs: number;
  durationMs: number;
}

export interface PiiScanProgress {
  table: string;
  rows: number;
  bytes: number;
}

export interface PiiScanOptions {
  /** Default: every built-in detector. */
  detectors?: PiiDetectors;
  /** SQLite only: scan these tables (default all but SQLite's own). */
  tables?: readonly string[];
  /** Called between batches of rows, when the scan gives the event loop a turn. */
  onProgress?: (progress: PiiScanProgress) => void;
}

/** A source that cannot be scanned: missing, unreadable, corrupt or malformed. The message names the file. */
export class PiiSourceError extends Error {
  override name = 'PiiSourceError';

  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const SQLITE_EXTENSIONS = new Set(['.db', '.sqlite', '.sqlite3', '.db3']);
/** The scan yields to the event loop (and reports progress) after this much work. */
const YIELD_EVERY_MS = 50;

/** SQLite when the file starts with SQLite's header (or is an empty `.db`/`.sqlite` file), CSV otherwise. */
export function detectSourceFormat(file: string): PiiSourceFormat {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    throw new PiiSourceError(
      file,
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message,
    );
  }
  if (stat.isDirectory()) throw new PiiSourceError(file, 'is a directory; expected a SQLite database or a CSV file');
  const head = Buffer.alloc(Math.min(stat.size, 8192));
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const sqliteName = SQLITE_EXTENSIONS.has(path.extname(file).toLowerCase());
  if (head.length >= SQLITE_HEADER.length && head.subarray(0, SQLITE_HEADER.length).equals(SQLITE_HEADER))
    return 'sqlite';
  if (sqliteName && stat.size === 0) return 'sqlite';
  if (sqliteName)
    throw new PiiSourceError(file, 'not a SQLite database (the file does not start with the SQLite header); corrupt?');
  if (head.includes(0)) throw new PiiSourceError(file, 'binary data: neither a SQLite database nor a CSV file');
  return 'csv';
}

/** Scans a SQLite database or a CSV file, whichever `file` is. */
export async function scanFile(file: string, options: PiiScanOptions = {}): Promise<PiiScanReport> {
  return detectSourceFormat(file) === 'sqlite' ? scanSqlite(file, options) : scanCsv(file, options);
}

/** What the scan keeps of one column: counts per detector and candidate slot, never a value. */
interface ColumnCounters extends ColumnTally {
  counts: Float64Array;
  valuesWith: Float64Array;
  /** Named for phones or SSNs: numbers of 8+ digits are scanned too (a phone stored as INTEGER). */
  shortNumbers: boolean;
}

/** Counters per (table, column); findings are decided per column at the end (column evidence). */
class Tally {
  private readonly columns: Array<{ table: string; column: string; counters: ColumnCounters }> = [];

  constructor(private readonly detectors: PiiDetectors) {}

  add(table: string, column: string): ColumnCounters {
    const slots = this.detectors.slots;
    const kind = kindOfName(column);
    const counters = {
      values: 0,
      counts: new Float64Array(slots),
      valuesWith: new Float64Array(slots),
      shortNumbers: kind === 'phone' || kind === 'ssn',
    };
    this.columns.push({ table, column, counters });
    return counters;
  }

  findings(): PiiFinding[] {
    const out: PiiFinding[] = [];
    for (const { table, column, counters } of this.columns) {
      for (const f of columnFindings(this.detectors, column, counters)) out.push({ table, column, ...f });
    }
    return out;
  }
}

class ScanState {
  readonly started = process.hrtime.bigint();
  readonly tally: Tally;
  private readonly shortNumbers: boolean;
  /** One value's counts, added to its column's. */
  private readonly scratch: Float64Array;
  rows = 0;
  values = 0;
  bytes = 0;
  skippedBlobs = 0;
  private lastYield = Date.now();

  constructor(
    readonly detectors: PiiDetectors,
    private readonly onProgress?: (progress: PiiScanProgress) => void,
  ) {
    this.tally = new Tally(detectors);
    this.shortNumbers = detectors.scansShortNumbers;
    this.scratch = new Float64Array(detectors.slots);
  }

  scanText(text: string, column: ColumnCounters): void {
    if (text.length === 0) return;
    this.values++;
    column.values++;
    this.bytes += Buffer.byteLength(text, 'utf8');
    const scratch = this.scratch;
    if (this.detectors.countInto(text, scratch) === 0) return;
    for (let i = 0; i < scratch.length; i++) {
      if (scratch[i] === 0) continue;
      column.counts[i] += scratch[i];
      column.valuesWith[i]++;
      scratch[i] = 0;
    }
  }

  /**
   * A number: scanned as its decimal text when it could hold a finding (13+ digits, a card
   * number; 8+ digits in a column named for phones or SSNs; any number when patterns or a
   * deny-list are configured); otherwise only counted, adding no bytes.
   */
  scanNumber(value: number, column: ColumnCounters): void {
    const least = column.shortNumbers ? SHORTEST_NAMED_NUMBER : SHORTEST_SCANNED_NUMBER;
    if (!this.shortNumbers && value < least && value > -least) {
      this.values++;
      column.values++;
      return;
    }
    this.scanText(String(value), column);
  }

  /** Gives the event loop a turn (an activity's heartbeat, a cancellation) every ~50 ms of work. */
  async maybeYield(table: string): Promise<void> {
    const now = Date.now();
    if (now - this.lastYield < YIELD_EVERY_MS) return;
    this.onProgress?.({ table, rows: this.rows, bytes: this.bytes });
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYield = Date.now();
  }

  report(source: string, format: PiiSourceFormat, tables: string[]): PiiScanReport {
    const findings = this.tally.findings();
    return {
      source,
      format,
      detectors: [...this.detectors.names],
      findings,
      total: findings.reduce((n, f) => n + f.count, 0),
      tables,
      rows: this.rows,
      values: this.values,
      bytes: this.bytes,
      skippedBlobs: this.skippedBlobs,
      durationMs: Number(process.hrtime.bigint() - this.started) / 1e6,
    };
  }
}

const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const ROWS_PER_YIELD_CHECK = 256;

function sqliteFailure(file: string, err: unknown, table?: string): PiiSourceError {
  const e = err as { code?: string; message?: string };
  const where = table === undefined ? '' : `table ${table}: `;
  if (e.code === 'SQLITE_NOTADB') return new PiiSourceError(file, `${where}not a SQLite database (or corrupt)`);
  if (e.code === 'SQLITE_CORRUPT') return new PiiSourceError(file, `${where}the database is corrupt: ${e.message}`);
  if (e.code === 'SQLITE_CANTOPEN') return new PiiSourceError(file, 'cannot open the database (missing or unreadable)');
  if (typeof e.code === 'string' && e.code.startsWith('SQLITE_'))
    return new PiiSourceError(file, `${where}${e.message} (${e.code})`);
  return err instanceof Error ? (err as PiiSourceError) : new PiiSourceError(file, String(err));
}

/** Scans every column of every table (or of `options.tables`) of a SQLite database, row by row. */
export async function scanSqlite(file: string, options: PiiScanOptions = {}): Promise<PiiScanReport> {
  if (!fs.existsSync(file)) throw new PiiSourceError(file, 'no such file');
  const state = new ScanState(options.detectors ?? new PiiDetectors(), options.onProgress);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw sqliteFailure(file, err);
  }
  try {
    let tables: string[];
    try {
      tables = db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .pluck()
        .all() as string[];
    } catch (err) {
      throw sqliteFailure(file, err);
    }
    if (options.tables) {
      const missing = options.tables.filter((t) => !tables.includes(t));
      if (missing.length > 0) {
        throw new PiiSourceError(
          file,
          `no table ${missing.join(', ')}; the database has ${tables.length ? tables.join(', ') : 'no tables'}`,
        );
      }
      tables = [...options.tables];
    }
    // One read transaction: every batch of every table sees the same snapshot. On a failure,
    // closing the connection ends it (a COMMIT might fail again and hide the first error).
    db.exec('BEGIN');
    for (const table of tables) {
      try {
        await scanTable(db, table, state);
      } catch (err) {
        throw sqliteFailure(file, err, table);
      }
    }
    db.exec('COMMIT');
    return state.report(file, 'sqlite', tables);
  } finally {
    db.close();
  }
}

/** 10^12: a number below it in magnitude has at most 12 digits, too few for a card. */
const SHORTEST_SCANNED_NUMBER = 1e12;
/** 10^7: in a column named for phones or SSNs, numbers of 8+ digits may be one, written without separators. */
const SHORTEST_NAMED_NUMBER = 1e7;

/**
 * A column as read: integers of 13+ digits come back as exact decimal text (SQLite's own
 * conversion), so a 19-digit card stored as INTEGER keeps every digit without BigInts for the
 * small integers that make up most columns.
 */
function columnExpression(column: string): string {
  const c = quoteIdentifier(column);
  return `CASE WHEN typeof(${c}) = 'integer' AND (${c} >= 1000000000000 OR ${c} <= -1000000000000) THEN CAST(${c} AS TEXT) ELSE ${c} END`;
}

function scanRow(row: unknown[], from: number, counters: ColumnCounters[], state: ScanState): void {
  state.rows++;
  for (let c = from; c < row.length; c++) {
    const value = row[c];
    if (typeof value === 'string') state.scanText(value, counters[c - from]);
    else if (typeof value === 'number') state.scanNumber(value, counters[c - from]);
    else if (value !== null) state.skippedBlobs++;
  }
}

/** Rows per batch of the keyset-paginated read. */
const BATCH_ROWS = 1000;

/**
 * Streams a table's rows into the scan. A table with a rowid is read in batches of 1000 rows by
 * rowid (`WHERE rowid > last ORDER BY rowid LIMIT 1000`, each batch an `all()`): memory holds one
 * batch, never the table, and it runs about 1.2× as fast as `iterate()`, whose per-row crossing
 * from SQLite to JS costs more than the rows' values when they are short. A WITHOUT ROWID table
 * is read row by row with `iterate()`.
 */
async function scanTable(db: Database.Database, table: string, state: ScanState): Promise<void> {
  const columns = (db.prepare(`PRAGMA table_info(${quoteIdentifier(table)})`).all() as Array<{ name: string }>).map(
    (c) => c.name,
  );
  if (columns.length === 0) return;
  const counters = columns.map((column) => state.tally.add(table, column));
  const from = quoteIdentifier(table);
  const selected = columns.map(columnExpression).join(', ');
  const rowid = rowidAlias(db, table, columns);
  if (rowid === undefined) {
    let sinceCheck = 0;
    for (const row of db.prepare(`SELECT ${selected} FROM ${from}`).raw(true).iterate() as IterableIterator<
      unknown[]
    >) {
      scanRow(row, 0, counters, state);
      if (++sinceCheck === ROWS_PER_YIELD_CHECK) {
        sinceCheck = 0;
        await state.maybeYield(table);
      }
    }
    return;
  }
  // The batches read the columns as they are, which costs a fifth less than the CASE above in
  // every cell; the rare integer beyond 2^53 (read inexactly as a double) is read again, exactly,
  // by its rowid.
  const plain = columns.map(quoteIdentifier).join(', ');
  const first = db.prepare(`SELECT ${rowid}, ${plain} FROM ${from} ORDER BY ${rowid} LIMIT ${BATCH_ROWS}`).raw(true);
  const next = db
    .prepare(`SELECT ${rowid}, ${plain} FROM ${from} WHERE ${rowid} > ? ORDER BY ${rowid} LIMIT ${BATCH_ROWS}`)
    .raw(true);
  const exact = db.prepare(`SELECT ${selected} FROM ${from} WHERE ${rowid} = ?`).raw(true);
  let batch = first.all() as unknown[][];
  while (batch.length > 0) {
    for (let r = 0; r < batch.length; r++) {
      const row = batch[r];
      for (let c = 1; c < row.length; c++) {
        const v = row[c];
        if (typeof v === 'number' && (v > MAX_SAFE || v < -MAX_SAFE)) {
          batch[r] = [row[0], ...(exact.get(row[0]) as unknown[])];
          break;
        }
      }
      scanRow(batch[r], 1, counters, state);
    }
    if (batch.length < BATCH_ROWS) break;
    await state.maybeYield(table);
    batch = next.all(batch[batch.length - 1][0]) as unknown[][];
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * The name under which `table`'s rowid can be read when it has one and every rowid is a safe JS
 * integer (batches continue after the last one read); undefined for a WITHOUT ROWID table, or
 * one whose columns shadow `rowid`, `_rowid_` and `oid`.
 */
function rowidAlias(db: Database.Database, table: string, columns: readonly string[]): string | undefined {
  const taken = new Set(columns.map((c) => c.toLowerCase()));
  const alias = ['rowid', '_rowid_', 'oid'].find((name) => !taken.has(name));
  if (alias === undefined) return undefined;
  try {
    // Two queries: SQLite answers min() and max() of the rowid from the b-tree's ends only alone.
    const min = db
      .prepare(`SELECT min(${alias}) FROM ${quoteIdentifier(table)}`)
      .pluck()
      .get() as number | null;
    const max = db
      .prepare(`SELECT max(${alias}) FROM ${quoteIdentifier(table)}`)
      .pluck()
      .get() as number | null;
    if (min === null || max === null) return alias;
    return min >= -MAX_SAFE && max <= MAX_SAFE ? alias : undefined;
  } catch {
    // no such column: a WITHOUT ROWID table
    return undefined;
  }
}

/** The table name a CSV file's findings are reported under: its file name without the extension. */
export function csvTableName(file: string): string {
  return path.basename(file, path.extname(file));
}

/** Scans every column of a CSV file (RFC 4180, a header row first), streamed in chunks. */
export async function scanCsv(file: string, options: PiiScanOptions = {}): Promise<PiiScanReport> {
  const state = new ScanState(options.detectors ?? new PiiDetectors(), options.onProgress);
  const table = csvTableName(file);
  let counters: ColumnCounters[] = [];
  const reader = new CsvRecordReader((record, line) => {
    if (counters.length === 0) {
      counters = record.map((name, i) => state.tally.add(table, name.trim() === '' ? `column ${i + 1}` : name));
      return;
    }
    if (record.length === 1 && record[0] === '') return;
    if (record.length !== counters.length) {
      throw new CsvError(line, `${record.length} fields, but the header has ${counters.length}`);
    }
    state.rows++;
    for (let c = 0; c < record.length; c++) state.scanText(record[c], counters[c]);
  });
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) {
      reader.push(chunk as string);
      await state.maybeYield(table);
    }
    reader.end();
  } catch (err) {
    stream.destroy();
    if (err instanceof CsvError) throw new PiiSourceError(file, `line ${err.line}: ${err.reason}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PiiSourceError(file, 'no such file');
    if (code === 'EISDIR') throw new PiiSourceError(file, 'is a directory; expected a SQLite database or a CSV file');
    throw err;
  }
  if (counters.length === 0) throw new PiiSourceError(file, 'empty: expected a header row');
  return state.report(file, 'csv', [table]);
}
