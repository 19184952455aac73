// The postgres provider's sink for populated rows: the tables of the environment's populated
// SQLite file (the data plane's output, after approval, synthesis or sanitization, fidelity and
// the PII scan) streamed into the environment's PostgreSQL database with COPY … FROM STDIN.
//
// COPY is driven through pg's query interface (a "submittable": pg-copy-streams does the same);
// rows are read from SQLite one at a time and written with the socket's backpressure, so memory
// stays flat whatever the row count. One transaction per population: a reader of the PostgreSQL
// database sees the previous rows or all of the new ones, never half.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { once } from 'node:events';
import Database from 'better-sqlite3';
import { Client, escapeIdentifier } from 'pg';
import { columnAffinity, type Affinity } from '../envdb/sqlite';

/** The table that records which population the database holds (its SQLite file's sha256). */
export const SEED_MARKER_TABLE = '_strata_population';

const PG_TYPE: Record<Affinity, string> = {
  INTEGER: 'bigint',
  REAL: 'double precision',
  TEXT: 'text',
  BLOB: 'bytea',
  NUMERIC: 'numeric',
};

interface PgConnection {
  stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/** A COPY … FROM STDIN as a pg submittable: pg calls these methods as the protocol goes. */
class CopyIn {
  rowCount = 0;
  private resolveDone!: (rows: number) => void;
  private rejectDone!: (err: Error) => void;
  private failure: Error | undefined;
  readonly done = new Promise<number>((resolve, reject) => {
    this.resolveDone = resolve;
    this.rejectDone = reject;
  });

  constructor(
    private readonly text: string,
    private readonly chunks: () => Iterable<string>,
  ) {}

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    void (async () => {
      try {
        let batch = '';
        for (const line of this.chunks()) {
          batch += line;
          if (batch.length < 64 * 1024) continue;
          connection.sendCopyFromChunk(Buffer.from(batch, 'utf8'));
          batch = '';
          if (connection.stream.writableNeedDrain) await once(connection.stream, 'drain');
        }
        if (batch) connection.sendCopyFromChunk(Buffer.from(batch, 'utf8'));
        connection.endCopyFrom();
      } catch (err) {
        this.failure = err as Error;
        connection.sendCopyFail('the row source failed');
      }
    })();
  }

  handleCommandComplete(msg: { text?: string }): void {
    const n = Number(/^COPY (\d+)/.exec(msg.text ?? '')?.[1]);
    if (Number.isFinite(n)) this.rowCount = n;
  }

  handleReadyForQuery(): void {
    if (this.failure) this.rejectDone(this.failure);
    else this.resolveDone(this.rowCount);
  }

  handleError(err: Error): void {
    this.rejectDone(this.failure ?? err);
  }

  // pg asks every submittable for these.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

/** One value in COPY's text format. */
function copyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  return String(value).replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);
}

export function fileSha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Which population (sha256 of the SQLite file) the PostgreSQL database holds, if any. */
export async function populationIn(client: Client): Promise<string | null> {
  const exists = await client.query('SELECT to_regclass($1) AS t', [`public.${SEED_MARKER_TABLE}`]);
  if (!exists.rows[0].t) return null;
  const rows = await client.query(`SELECT digest FROM ${SEED_MARKER_TABLE}`);
  return rows.rows[0]?.digest ?? null;
}

/**
 * Copies every table of the SQLite database at `sqlitePath` into the PostgreSQL database at
 * `url` (the environment's own login, so the tables belong to its owner role), replacing tables
 * of the same names, in one transaction. Does nothing when the database already holds this very
 * file's rows (a retried activity). Returns the rows copied per table: counts only.
 */
export async function copySqliteToPostgres(
  sqlitePath: string,
  url: string,
): Promise<{ tables: Record<string, number>; copied: boolean; digest: string }> {
  const digest = fileSha256(sqlitePath);
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  const sqlite = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  try {
    const tables = (
      sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .all() as { name: string }[]
    ).map((t) => t.name);
    if ((await populationIn(client)) === digest) {
      const counts: Record<string, number> = {};
      for (const t of tables)
        counts[t] = Number((await client.query(`SELECT count(*)::bigint AS n FROM ${escapeIdentifier(t)}`)).rows[0].n);
      return { tables: counts, copied: false, digest };
    }
    const counts: Record<string, number> = {};
    await client.query('BEGIN');
    try {
      for (const table of tables) {
        const columns = sqlite.prepare('SELECT name, type FROM pragma_table_info(?)').all(table) as {
          name: string;
          type: string;
        }[];
        const columnList = columns.map((c) => escapeIdentifier(c.name)).join(', ');
        await client.query(`DROP TABLE IF EXISTS ${escapeIdentifier(table)}`);
        await client.query(
          `CREATE TABLE ${escapeIdentifier(table)} (${columns
            .map((c) => `${escapeIdentifier(c.name)} ${PG_TYPE[columnAffinity(c.type)]}`)
            .join(', ')})`,
        );
        const select = sqlite.prepare(
          `SELECT ${columns.map((c) => `"${c.name.replaceAll('"', '""')}"`).join(', ')} FROM "${table.replaceAll('"', '""')}"`,
        );
        select.raw(true);
        const copy = new CopyIn(`COPY ${escapeIdentifier(table)} (${columnList}) FROM STDIN`, function* () {
          for (const row of select.iterate() as Iterable<unknown[]>) yield `${row.map(copyValue).join('\t')}\n`;
        });
        client.query(copy as never);
        counts[table] = await copy.done;
      }
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${SEED_MARKER_TABLE} (digest text NOT NULL, at timestamptz NOT NULL)`,
      );
      await client.query(`DELETE FROM ${SEED_MARKER_TABLE}`);
      await client.query(`INSERT INTO ${SEED_MARKER_TABLE} VALUES ($1, now())`, [digest]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    return { tables: counts, copied: true, digest };
  } finally {
    sqlite.close();
    await client.end().catch(() => undefined);
  }
}
