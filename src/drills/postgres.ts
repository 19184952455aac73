// DR drills on a postgres environment's database: backups with pg_dump (custom format), the data
// scenarios (table dropped, rows corrupted, database removed) done for real with SQL as the admin
// role, detection by fingerprints, restore with pg_restore, and RTO and RPO measured as for the
// local provider's SQLite file (src/drills): RTO from the injection to a restored, verified
// database; RPO from the writer's acknowledgements (the last lost one − the recovery point).
//
// Passwords never go on a command line (argv is readable in /proc): the tools get PGPASSWORD in
// their environment and the rest of the URL as flags.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, escapeIdentifier } from 'pg';
import type { DrillBackupSummary, DrillVerification, TableFingerprints } from '../domain/drill';
import { probeHealth, type ProbeResult } from './detect';
import { DrillError } from './errors';
import { compareFingerprints } from './fingerprint';
import { measureLoss, type VerifyInput } from './verify';

const run = promisify(execFile);

export type PostgresDrillScenario = 'table-dropped' | 'rows-corrupted' | 'database-removed';
export const POSTGRES_DRILL_SCENARIOS: readonly PostgresDrillScenario[] = [
  'table-dropped',
  'rows-corrupted',
  'database-removed',
];

/** The drill writer's table: one acknowledged row per write, as in the SQLite drills. */
export const PG_WRITES_TABLE = '_strata_drill_writes';

/** The directory of pg_dump and pg_restore: STRATA_PG_BIN, the newest Debian install, or PATH. */
export function postgresBin(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATA_PG_BIN) return env.STRATA_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'pg_restore')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length) return path.join(root, versions[0], 'bin');
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'pg_restore'))) return dir;
  }
  throw new DrillError(
    'no pg_dump/pg_restore: install the PostgreSQL client (apt-get install postgresql-client) or set STRATA_PG_BIN',
  );
}

/** Flags and environment for a libpq tool, from a URL: the password goes in the environment. */
function libpq(url: string, database: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = { ...process.env, PGCONNECT_TIMEOUT: '10' };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  const args = ['--host', u.hostname || '127.0.0.1', '--port', u.port || '5432', '--dbname', database];
  if (u.username) args.push('--username', decodeURIComponent(u.username));
  return { args, env };
}

async function tool(bin: string, name: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await run(path.join(bin, name), args, { env, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    // stderr names objects, never row values (no --verbose data); the URL's password is not in it.
    throw new DrillError(`${name} failed: ${(e.stderr || e.message).trim().split('\n').slice(0, 5).join('; ')}`);
  }
}

function withDatabase(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface PgBackup {
  file: string;
  /** When the dump's snapshot was taken (pg_dump runs in one repeatable-read transaction). */
  at: string;
  bytes: number;
  ms: number;
}

/** pg_dump -Fc of the environment's database into `dir`, written under a temporary name and renamed. */
export async function dumpDatabase(adminUrl: string, database: string, dir: string): Promise<PgBackup> {
  const started = Date.now();
  fs.mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const file = path.join(dir, `backup-${at.replace(/[-:.]/g, '')}.dump`);
  const tmp = `${file}.tmp`;
  const { args, env } = libpq(adminUrl, database);
  try {
    await tool(postgresBin(), 'pg_dump', [...args, '--format=custom', '--file', tmp], env);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return { file, at, bytes: fs.statSync(file).size, ms: Date.now() - started };
}

/**
 * Restores a dump. With the database in place (table dropped, rows corrupted): its objects are
 * dropped and recreated from the dump in one transaction (`--clean --if-exists
 * --single-transaction`). With the database gone: `--create` makes it again from the dump, with
 * its owner and privileges, connected to the admin URL's own database.
 */
export async function restoreDump(
  adminUrl: string,
  database: string,
  file: string,
): Promise<{ ms: number; created: boolean }> {
  const started = Date.now();
  const exists = await withClient(
    adminUrl,
    async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1,
  );
  if (exists) {
    const { args, env } = libpq(adminUrl, database);
    await tool(postgresBin(), 'pg_restore', [...args, '--clean', '--if-exists', '--single-transaction', file], env);
  } else {
    const { args, env } = libpq(adminUrl, new URL(adminUrl).pathname.slice(1) || 'postgres');
    await tool(postgresBin(), 'pg_restore', [...args, '--create', file], env);
  }
  return { ms: Date.now() - started, created: !exists };
}

export interface PgTableFingerprint {
  rows: number;
  /** md5 over the rows' text, in order: equal fingerprints, equal contents. */
  md5: string;
}

/** Row counts and checksums of the database's tables (public schema), except the drill writer's. */
export async function fingerprintDatabase(url: string): Promise<Record<string, PgTableFingerprint>> {
  return withClient(url, async (c) => {
    const tables = (
      await c.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> $1 ORDER BY tablename",
        [PG_WRITES_TABLE],
      )
    ).rows.map((r) => r.tablename);
    const out: Record<string, PgTableFingerprint> = {};
    for (const t of tables) {
      const r = await c.query<{ rows: string; md5: string }>(
        `SELECT count(*) AS rows, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS md5 FROM ${escapeIdentifier(t)} x`,
      );
      out[t] = { rows: Number(r.rows[0].rows), md5: r.rows[0].md5 };
    }
    return out;
  });
}

/** Injects a data scenario as the admin role; returns what was done (counts and names only). */
export async function injectPostgresFault(
  scenario: PostgresDrillScenario,
  adminUrl: string,
  database: string,
  opts: { table?: string; percent?: number } = {},
): Promise<{ injectedAt: string; detail: string }> {
  const table = opts.table ?? 'transactions';
  const db = withDatabase(adminUrl, database);
  switch (scenario) {
    case 'table-dropped':
      return withClient(db, async (c) => {
        const n = Number((await c.query(`SELECT count(*) AS n FROM ${escapeIdentifier(table)}`)).rows[0].n);
        await c.query(`DROP TABLE ${escapeIdentifier(table)}`);
        return { injectedAt: new Date().toISOString(), detail: `dropped table ${table} (${n} rows)` };
      });
    case 'rows-corrupted': {
      const percent = opts.percent ?? 10;
      if (!(percent > 0 && percent <= 100))
        throw new DrillError(`rows-corrupted: percent must be in (0, 100], got ${percent}`);
      return withClient(db, async (c) => {
        const total = Number((await c.query(`SELECT count(*) AS n FROM ${escapeIdentifier(table)}`)).rows[0].n);
        const step = Math.max(1, Math.round(100 / percent));
        const r = await c.query(
          `UPDATE ${escapeIdentifier(table)} t SET amount = -1, channel = 'corrupt'
             FROM (SELECT ctid, row_number() OVER () AS n FROM ${escapeIdentifier(table)}) s
            WHERE t.ctid = s.ctid AND s.n % ${step} = 0`,
        );
        return {
          injectedAt: new Date().toISOString(),
          detail: `overwrote ${r.rowCount} of ${total} rows of ${table} with amount = -1, channel = 'corrupt'`,
        };
      });
    }
    case 'database-removed':
      return withClient(adminUrl, async (c) => {
        await c.query(`DROP DATABASE ${escapeIdentifier(database)} WITH (FORCE)`);
        return { injectedAt: new Date().toISOString(), detail: `dropped database ${database}` };
      });
  }
}

/**
 * The drill's writer: one acknowledged insert into PG_WRITES_TABLE every `intervalMs` through the
 * environment's own login (as the candidate would write), each acknowledged with its time. A
 * failed write (the database is gone) is counted, not fatal.
 */
export function startPostgresWriter(url: string, intervalMs = 20) {
  const acks: Array<{ seq: number; at: number }> = [];
  let failed = 0;
  let stopped = false;
  let seq = 0;
  const loop = (async () => {
    await withClient(url, (c) =>
      c.query(`CREATE TABLE IF NOT EXISTS ${PG_WRITES_TABLE} (seq bigint PRIMARY KEY, at timestamptz NOT NULL)`),
    );
    let client: Client | null = null;
    while (!stopped) {
      try {
        if (!client) {
          client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
          client.on('error', () => undefined);
          await client.connect();
        }
        const next = ++seq;
        await client.query(`INSERT INTO ${PG_WRITES_TABLE} (seq, at) VALUES ($1, now())`, [next]);
        acks.push({ seq: next, at: Date.now() });
      } catch {
        failed++;
        await client?.end().catch(() => undefined);
        client = null;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    await client?.end().catch(() => undefined);
  })();
  return {
    acks,
    get failed() {
      return failed;
    },
    async stop(): Promise<void> {
      stopped = true;
      await loop;
    },
  };
}

export interface PostgresDrillResult {
  scenario: PostgresDrillScenario;
  detail: string;
  injectedAt: string;
  detectedAt: string;
  restoredAt: string;
  /** From injection to a restored database whose tables match the pre-fault fingerprints. */
  rtoMs: number;
  /** The last lost acknowledged write's time − the recovery point (0: none lost). */
  rpoMs: number;
  /** Acknowledged writes missing after the restore. */
  lostWrites: number;
  verified: boolean;
  mismatches: string[];
  backup: { bytes: number; ms: number };
  restore: { ms: number; created: boolean };
}

/**
 * One drill: fingerprint → writer → pg_dump → inject → detect (fingerprints differ or the database
 * is gone) → pg_restore → verify → RTO/RPO. `url` is the environment's own login (for the writer
 * and the checks the candidate's view gives); `adminUrl` does the damage and the repair.
 */
export async function runPostgresDrill(opts: {
  scenario: PostgresDrillScenario;
  adminUrl: string;
  database: string;
  url: string;
  backupDir: string;
  /** Writes to let through before the backup, and between backup and fault. */
  settleMs?: number;
}): Promise<PostgresDrillResult> {
  const settle = opts.settleMs ?? 300;
  const before = await fingerprintDatabase(opts.url);
  const writer = startPostgresWriter(opts.url);
  try {
    await new Promise((r) => setTimeout(r, settle));
    const backup = await dumpDatabase(opts.adminUrl, opts.database, opts.backupDir);
    await new Promise((r) => setTimeout(r, settle));
    const fault = await injectPostgresFault(opts.scenario, opts.adminUrl, opts.database);
    const injected = Date.now();
    const ackedAtFault = writer.acks.filter((a) => a.at <= injected).length;
    // Detection: what a health probe of the environment's data sees.
    let detectedAt = '';
    for (let i = 0; i < 200 && !detectedAt; i++) {
      try {
        const now = await fingerprintDatabase(opts.url);
        if (JSON.stringify(now) !== JSON.stringify(before)) detectedAt = new Date().toISOString();
      } catch {
        detectedAt = new Date().toISOString(); // cannot connect: the database is gone
      }
      if (!detectedAt) await new Promise((r) => setTimeout(r, 25));
    }
    if (!detectedAt) throw new DrillError(`the ${opts.scenario} fault was not detected within 5 s`);
    const restore = await restoreDump(opts.adminUrl, opts.database, backup.file);
    const after = await fingerprintDatabase(opts.url);
    const restoredAt = new Date().toISOString();
    const mismatches = Object.keys({ ...before, ...after }).filter(
      (t) => JSON.stringify(before[t]) !== JSON.stringify(after[t]),
    );
    await writer.stop();
    const kept = await withClient(
      opts.url,
      async (c) =>
        new Set((await c.query<{ seq: string }>(`SELECT seq FROM ${PG_WRITES_TABLE}`)).rows.map((r) => Number(r.seq))),
    );
    // As for the SQLite drills (docs/operations.md, "How RTO and RPO are measured"): RPO = the
    // acknowledgement time of the last lost write − the recovery point, the last write present
    // before the first lost one (or the backup's time if none is).
    const acked = writer.acks.slice(0, ackedAtFault);
    const lost = acked.filter((a) => !kept.has(a.seq));
    const firstLost = acked.findIndex((a) => !kept.has(a.seq));
    const recoveryPoint = firstLost > 0 ? acked[firstLost - 1].at : Date.parse(backup.at);
    return {
      scenario: opts.scenario,
      detail: fault.detail,
      injectedAt: fault.injectedAt,
      detectedAt,
      restoredAt,
      rtoMs: Date.parse(restoredAt) - injected,
      rpoMs: lost.length ? Math.max(0, lost.at(-1)!.at - recoveryPoint) : 0,
      lostWrites: lost.length,
      verified: mismatches.length === 0,
      mismatches,
      backup: { bytes: backup.bytes, ms: backup.ms },
      restore,
    };
  } finally {
    await writer.stop();
  }
}

// --- the steps of `strata drill run` on a postgres environment (activities/drills.ts) ----------
// Same shapes as the SQLite steps (fingerprints, probe results, backup summary, verification), so
// the drill workflow and its report do not know which database they drilled.

/** The database a drill works on (the provider's databaseOf): passwords inside, never reported. */
export interface PostgresTarget {
  adminUrl: string;
  database: string;
  /** The environment's own login URL. */
  url: string;
}

/** fingerprintDatabase in the SQLite drills' shape (row count and checksum per table). */
export async function snapshotPostgres(url: string): Promise<TableFingerprints> {
  const prints = await fingerprintDatabase(url);
  return Object.fromEntries(Object.entries(prints).map(([t, p]) => [t, { rows: p.rows, checksum: p.md5 }]));
}

/** A connection error as a problem line: the database's name and the server's words, no URL. */
function unreachable(target: PostgresTarget, err: unknown): string {
  return `database ${target.database} cannot be read: ${(err as Error).message}`;
}

/**
 * One probe of a postgres environment: the candidate answers GET /health; the database accepts
 * the environment's login; every table of the snapshot is there with its row count and checksum.
 */
export async function probePostgresEnvironment(
  target: PostgresTarget,
  candidateUrl: string | null | undefined,
  snapshot: TableFingerprints,
): Promise<ProbeResult> {
  const problems: string[] = [];
  if (candidateUrl) {
    const health = await probeHealth(candidateUrl, 1000);
    if (health) problems.push(health);
  }
  try {
    problems.push(...compareFingerprints(snapshot, await snapshotPostgres(target.url)));
  } catch (err) {
    problems.push(unreachable(target, err));
  }
  return { healthy: problems.length === 0, problems, at: new Date().toISOString() };
}

async function writeSeqsOf(url: string): Promise<Set<number>> {
  return withClient(url, async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [
      'public',
      PG_WRITES_TABLE,
    ]);
    if (exists.rowCount === 0) return new Set<number>();
    const r = await c.query<{ seq: string }>(`SELECT seq FROM ${PG_WRITES_TABLE}`);
    return new Set(r.rows.map((row) => Number(row.seq)));
  });
}

/**
 * pg_dump of the environment's database, described as a SQLite backup is: `tables` are the
 * fingerprints the dump holds (the data tables do not change under the drill's writer, so the
 * pre-dump snapshot), `lastWriteSeq` the writer's highest seq committed before the dump began
 * (the dump's snapshot holds at least that one).
 */
export async function backupPostgres(
  target: PostgresTarget,
  dir: string,
  tables: TableFingerprints,
): Promise<DrillBackupSummary> {
  const seqs = await writeSeqsOf(target.url);
  const lastWriteSeq = seqs.size ? Math.max(...seqs) : null;
  const dump = await dumpDatabase(target.adminUrl, target.database, dir);
  return { file: dump.file, at: dump.at, bytes: dump.bytes, tables, lastWriteSeq };
}

/** The recovered database against the pre-fault snapshot and the writer's acknowledgements. */
export async function verifyPostgresRecovery(
  target: PostgresTarget,
  input: Pick<VerifyInput, 'snapshot' | 'backup' | 'acks' | 'injectedAt'>,
): Promise<DrillVerification> {
  const problems: string[] = [];
  const tablesChecked = Object.keys(input.snapshot).filter((t) => t !== PG_WRITES_TABLE);
  let present = new Set<number>();
  try {
    const expected = Object.fromEntries(tablesChecked.map((t) => [t, input.snapshot[t]]));
    problems.push(...compareFingerprints(expected, await snapshotPostgres(target.url)));
    present = await writeSeqsOf(target.url);
    if (input.acks.length > 0 && present.size === 0) problems.push(`table ${PG_WRITES_TABLE} is missing or empty`);
  } catch (err) {
    problems.push(unreachable(target, err));
  }
  const loss = measureLoss(present, { ...input, problems });
  return { ok: problems.length === 0, problems, ...loss, tablesChecked };
}
