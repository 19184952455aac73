// Writing synthetic rows: to a CSV file or a SQLite table, streamed (rows are formatted and written
// in batches, never collected), with a uniform reservoir sample of rows kept aside for the
// fidelity report. A CSV is written under a temporary name and renamed when complete; a SQLite
// table is filled under a staging name and renamed in one transaction — either way a failure
// leaves no half-written dataset.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DataInputError } from '../profile/errors';
import { createRandom } from '../profile/random';
import type { DataProfile } from '../profile/schema';
import { CsvSink, csvField } from './csv-sink';
import { fidelityReport, type FidelityReport } from './fidelity';
import { fidelityAgainstRows, type RealSample } from './fidelity-rows';
import {
  createSynthesizer,
  type SynthColumn,
  type Synthesizer,
  type SynthesisOptions,
  type SynthValue,
} from './generator';

export type SynthesisTarget =
  | { kind: 'csv'; file: string }
  | {
      kind: 'sqlite';
      file: string;
      table: string;
      replace?: boolean;
      /** Called after each transaction with the rows written so far (heartbeat progress). */
      onProgress?: (rows: number) => void;
    };

export interface GenerationResult {
  rows: number;
  columns: Array<{ name: string; type: string; rule?: string }>;
  target: SynthesisTarget;
  seconds: number;
  fidelity: FidelityReport;
}

/** Rows kept for the fidelity report: enough for KS to resolve ~0.5 %, small enough to stay flat. */
export const FIDELITY_SAMPLE_ROWS = 50_000;
const RESERVOIR_STREAM = 99;
const ROWS_PER_TRANSACTION = 50_000;

/** Where a sampled column's values are kept: typed arrays, so replacing a sampled row allocates nothing. */
type SampleColumn =
  | { kind: 'number'; values: Float64Array }
  | { kind: 'boolean'; values: Int8Array }
  | { kind: 'text'; values: Array<string | null> }
  | { kind: 'none' };

/**
 * A uniform sample of the generated rows for the fidelity report (algorithm R on its own random
 * stream), stored column by column in preallocated arrays: however many rows stream past, the
 * sample makes no garbage, so memory stays flat. Identifiers and free text have no fidelity metric
 * and are not kept.
 */
export class Reservoir {
  private readonly columns: SampleColumn[];
  private filled = 0;
  private seen = 0;
  private readonly random;

  constructor(
    private readonly synth: Synthesizer,
    private readonly size: number,
    seed: number,
  ) {
    this.random = createRandom(seed, RESERVOIR_STREAM);
    this.columns = synth.columns.map((c): SampleColumn => {
      switch (c.type) {
        case 'identifier':
        case 'free-text':
          return { kind: 'none' };
        case 'boolean':
          return { kind: 'boolean', values: new Int8Array(size) };
        case 'categorical':
          return { kind: 'text', values: new Array<string | null>(size).fill(null) };
        default:
          return { kind: 'number', values: new Float64Array(size) };
      }
    });
  }

  /** Offers row i of the synthesizer's current batch. */
  offer(i: number): void {
    let slot = this.filled;
    if (this.filled < this.size) this.filled++;
    else {
      slot = Math.floor(this.random.next() * (this.seen + 1));
      if (slot >= this.size) slot = -1;
    }
    this.seen++;
    if (slot < 0) return;
    const columns = this.synth.columns;
    for (let c = 0; c < columns.length; c++) {
      const store = this.columns[c];
      if (store.kind === 'none') continue;
      const v = columns[c].valueAt(i);
      if (store.kind === 'number') store.values[slot] = typeof v === 'number' ? v : NaN;
      else if (store.kind === 'boolean') store.values[slot] = v === null ? -1 : v ? 1 : 0;
      else store.values[slot] = v === null ? null : String(v);
    }
  }

  /** The sampled rows, as values (built once, at the end). */
  rows(): SynthValue[][] {
    return Array.from({ length: this.filled }, (_, slot) =>
      this.columns.map((store): SynthValue => {
        if (store.kind === 'none') return null;
        if (store.kind === 'number') return store.values[slot] === store.values[slot] ? store.values[slot] : null;
        if (store.kind === 'boolean') return store.values[slot] < 0 ? null : store.values[slot] === 1;
        return store.values[slot];
      }),
    );
  }
}

/**
 * Streams every row of `synth` to a CSV file (temporary name, fsync, rename), offering each row to
 * the reservoir when there is one.
 */
export function writeCsv(file: string, synth: Synthesizer, reservoir?: Reservoir): void {
  const target = path.resolve(file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    const columns = synth.columns;
    const cells = columns.map((c) => c.csvAt);
    const width = columns.length;
    // Cells are written as bytes into one 64 KiB buffer, which is written to the file when full.
    const sink = new CsvSink((chunk) => writeAll(fd, chunk));
    const header = Buffer.from(`${columns.map((c) => csvField(c.name)).join(',')}\n`, 'utf8');
    sink.ensure(header.length);
    sink.buf.set(header, sink.pos);
    sink.pos += header.length;
    for (let n = synth.nextBatch(); n > 0; n = synth.nextBatch()) {
      for (let i = 0; i < n; i++) {
        reservoir?.offer(i);
        cells[0](i, sink);
        for (let c = 1; c < width; c++) {
          sink.byte(44); // ','
          cells[c](i, sink);
        }
        sink.byte(10); // '\n'
      }
    }
    sink.flush();
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, target);
}

/** Writes all of `chunk` (writeSync may write less than asked). */
function writeAll(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.length;) done += fs.writeSync(fd, chunk, done, chunk.length - done);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function writeSqlite(
  file: string,
  table: string,
  replace: boolean,
  synth: Synthesizer,
  reservoir: Reservoir,
  onProgress?: (rows: number) => void,
): void {
  const columns = synth.columns;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (err) {
    throw new DataInputError(file, '', `cannot open the SQLite database: ${(err as Error).message}`);
  }
  try {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
    if (exists && !replace) {
      throw new DataInputError(
        file,
        `table ${JSON.stringify(table)}`,
        'already exists; pass --replace to overwrite it, or name another --table',
      );
    }
    // Filled under a temporary name in batches, then renamed into place in one transaction: a
    // failure part-way leaves the database as it was.
    const staging = `_strata_staging_${table}`;
    db.exec(`DROP TABLE IF EXISTS ${quoteIdent(staging)}`);
    db.exec(
      `CREATE TABLE ${quoteIdent(staging)} (${columns.map((c) => `${quoteIdent(c.name)} ${c.sqlType}`).join(', ')})`,
    );
    const statement = db.prepare(`INSERT INTO ${quoteIdent(staging)} VALUES (${columns.map(() => '?').join(', ')})`);
    const sql = columns.map((c) => c.sqlAt);
    const width = columns.length;
    const values = new Array<number | string | null>(width);
    /** Inserts batches until about ROWS_PER_TRANSACTION rows are in; false when the rows ran out. */
    const someBatches = db.transaction((): boolean => {
      for (let inserted = 0; inserted < ROWS_PER_TRANSACTION;) {
        const n = synth.nextBatch();
        if (n === 0) return false;
        for (let i = 0; i < n; i++) {
          reservoir.offer(i);
          for (let c = 0; c < width; c++) values[c] = sql[c](i);
          statement.run(values);
        }
        inserted += n;
      }
      return true;
    });
    try {
      while (someBatches()) onProgress?.(synth.rowCount);
      db.transaction(() => {
        if (exists) db.exec(`DROP TABLE ${quoteIdent(table)}`);
        db.exec(`ALTER TABLE ${quoteIdent(staging)} RENAME TO ${quoteIdent(table)}`);
      })();
    } catch (err) {
      try {
        db.exec(`DROP TABLE IF EXISTS ${quoteIdent(staging)}`);
      } catch {
        /* the original error matters more */
      }
      throw err;
    }
  } finally {
    db.close();
  }
}

/** The binary label columns a synthesizer computes from rules: what ML efficacy is measured for. */
export function binaryLabels(synthesizer: Pick<Synthesizer, 'columns'>): string[] {
  return synthesizer.columns.filter((c) => c.rule !== undefined && c.type === 'boolean').map((c) => c.name);
}

/**
 * Generates `options.rows` rows from `profile` into `target` and evaluates them: against `real`
 * rows when given (a held-out sample of the real data), else against the profile. Deterministic:
 * the same profile, options and seed give the same file and the same report.
 */
export function generateDataset(
  profile: DataProfile,
  options: SynthesisOptions,
  target: SynthesisTarget,
  sampleRows = FIDELITY_SAMPLE_ROWS,
  real?: RealSample,
): GenerationResult {
  const started = process.hrtime.bigint();
  const synthesizer = createSynthesizer(profile, options);
  const reservoir = new Reservoir(synthesizer, sampleRows, options.seed);
  if (target.kind === 'csv') writeCsv(target.file, synthesizer, reservoir);
  else writeSqlite(target.file, target.table, target.replace ?? false, synthesizer, reservoir, target.onProgress);
  const sample = {
    columns: synthesizer.columns.map((c) => c.name),
    rows: reservoir.rows(),
    generatedRows: synthesizer.rowCount,
  };
  const fidelity = real
    ? fidelityAgainstRows(profile, real, sample, { labels: binaryLabels(synthesizer), seed: options.seed })
    : fidelityReport(profile, sample);
  return {
    rows: synthesizer.rowCount,
    columns: synthesizer.columns.map((c) => ({ name: c.name, type: c.type, ...(c.rule ? { rule: c.rule } : {}) })),
    target,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    fidelity,
  };
}

/** Generates into memory (tests, small datasets) and evaluates every row. */
export function generateRows(
  profile: DataProfile,
  options: SynthesisOptions,
): { columns: SynthColumn[]; rows: SynthValue[][]; fidelity: FidelityReport } {
  const synthesizer = createSynthesizer(profile, options);
  const rows = Array.from(synthesizer.rows());
  const fidelity = fidelityReport(profile, { columns: synthesizer.columns.map((c) => c.name), rows });
  return { columns: synthesizer.columns, rows, fidelity };
}
