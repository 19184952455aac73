// `npm run bench -- pg-restore [--rows N] [--rounds N] [--url postgres://…]`
//
// The restore of a postgres environment's drill (src/drills/postgres.ts, restoreDump) against a
// bare pg_restore of the same dump, in alternating rounds in one process; medians with min and max
// and the median of the per-round ratios. Two cases:
//   1. database in place (table dropped, rows corrupted): restoreDump = `pg_restore --clean
//      --if-exists --single-transaction` after an existence check; baseline = `pg_restore --clean
//      --if-exists` (what an operator types, not atomic).
//   2. database removed: restoreDump = existence check + `pg_restore --create`; baseline =
//      `createdb` + `pg_restore` into it.
// The server is --url, STRATA_BENCH_POSTGRES_URL, or postgres://postgres@127.0.0.1:5432/postgres
// (an admin role that may create databases). It works in databases named strata_bench_restore*.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { seedTransactions } from '../src/data/transactions';
import { dumpDatabase, fingerprintDatabase, postgresBin, restoreDump } from '../src/drills/postgres';
import { copySqliteToPostgres } from '../src/providers/postgres-copy';
import { flag, ratios, roundsFlag, spread, spreadCells, spreadText, table, times } from './support';

const run = promisify(execFile);
const DB = 'strata_bench_restore';

function urlOf(args: string[]): string {
  const i = args.indexOf('--url');
  return (
    (i >= 0 ? args[i + 1] : undefined) ??
    process.env.STRATA_BENCH_POSTGRES_URL ??
    'postgres://postgres@127.0.0.1:5432/postgres'
  );
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin(url: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A libpq tool with the password in its environment, the rest as flags (as the drill does). */
async function bare(tool: string, url: string, database: string, extra: string[]): Promise<void> {
  const u = new URL(url);
  const env = { ...process.env, ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) };
  const conn = [
    '--host',
    u.hostname,
    '--port',
    u.port || '5432',
    ...(u.username ? ['--username', decodeURIComponent(u.username)] : []),
  ];
  await run(
    path.join(postgresBin(), tool),
    [...conn, ...(tool === 'createdb' ? [] : ['--dbname', database]), ...extra],
    { env },
  );
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function runBench(args: string[]): Promise<void> {
  const rows = flag(args, 'rows', 200_000);
  const rounds = roundsFlag(args, 7);
  const url = urlOf(args);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-pg-'));
  try {
    await admin(url, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin(url, `CREATE DATABASE ${DB}`);
    const t = Date.now();
    const sqlite = path.join(dir, 'data.db');
    seedTransactions(sqlite, { rows, seed: 1 });
    await copySqliteToPostgres(sqlite, withDatabase(url, DB));
    const dump = await dumpDatabase(url, DB, path.join(dir, 'backups'));
    const expected = await fingerprintDatabase(withDatabase(url, DB));
    console.log(
      `pg-restore bench: ${rows} rows, dump ${(dump.bytes / 1024 / 1024).toFixed(1)} MB (seeded and dumped in ${Date.now() - t} ms), ${rounds} rounds, ${postgresBin()}, ${os.cpus().length} CPUs`,
    );

    const check = async (): Promise<void> => {
      const got = await fingerprintDatabase(withDatabase(url, DB));
      if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error('restored database differs from the dump');
    };
    const cases = {
      inPlace: {
        label: 'database in place (table dropped, rows corrupted)',
        damage: () => admin(withDatabase(url, DB), 'DROP TABLE transactions'),
        drill: () => restoreDump(url, DB, dump.file),
        bare: () => bare('pg_restore', url, DB, ['--clean', '--if-exists', dump.file]),
      },
      removed: {
        label: 'database removed',
        damage: () => admin(url, `DROP DATABASE ${DB} WITH (FORCE)`),
        drill: () => restoreDump(url, DB, dump.file),
        bare: async () => {
          await bare('createdb', url, DB, [DB]);
          await bare('pg_restore', url, DB, [dump.file]);
        },
      },
    };
    const fmt = (n: number) => n.toFixed(0);
    for (const c of Object.values(cases)) {
      const ms = { drill: [] as number[], bare: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        const order: Array<'drill' | 'bare'> = r % 2 ? ['bare', 'drill'] : ['drill', 'bare'];
        for (const arm of order) {
          await c.damage();
          ms[arm].push(await timed(c[arm]));
          await check();
        }
      }
      const perRound = ratios(ms.bare, ms.drill);
      console.log(`\n${c.label} (${rounds} rounds; ms; vs bare = bare ms / drill ms, per round, median)`);
      console.log(
        table([
          ['restore', 'median ms', 'min', 'max', 'vs bare'],
          ['bare pg_restore (baseline)', ...spreadCells(ms.bare, fmt), times(1)],
          ['restoreDump (the drill)', ...spreadCells(ms.drill, fmt), times(spread(perRound).median)],
        ]),
      );
      console.log(`restoreDump vs bare pg_restore: ${spreadText(perRound, times)} per round`);
    }
  } finally {
    await admin(url, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export { runBench as run };
