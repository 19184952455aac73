// PostgreSQL environments on a real server: a private PostgreSQL (initdb + pg_ctl) that checks
// passwords (SCRAM-SHA-256 over TCP; trust would let any role in and prove nothing), the local
// provider with `provider: { type: postgres }`, and a real candidate process that reads its
// database through DATABASE_URL.

import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeCandidate } from '../../src/artifacts/store';
import { loadCandidate } from '../../src/config/candidate';
import type { CandidateRef, ProviderSpec } from '../../src/domain/ladder';
import { LocalProvider } from '../../src/providers/local';
import { credentialsFile, databaseNames, readCredentials } from '../../src/providers/postgres';
import { SEED_MARKER_TABLE } from '../../src/providers/postgres-copy';
import { findProcesses, processAlive } from '../../src/tools/processes';
import { randomBytes } from 'node:crypto';
import { loadLadder, parseLadder } from '../../src/config/ladder';
import { ApprovalRegistry } from '../../src/data/approvals';
import {
  fingerprintDatabase,
  PG_WRITES_TABLE,
  POSTGRES_DRILL_SCENARIOS,
  runPostgresDrill,
  startPostgresWriter,
} from '../../src/drills/postgres';
import { transactionRows } from '../../src/data/transactions';
import { getStatus } from '../../src/temporal/promotions';
import { startPromotion, waitForResult } from '../../src/temporal/promotions';
import { artifactsOf, tempHome, teardownHome, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';
import { type PrivatePostgres, privatePostgres } from '../helpers/postgres';

const ADMIN_VAR = 'STRATA_TEST_PG_ENV_ADMIN';
const postgresProvider: ProviderSpec = { type: 'postgres', url: `env:${ADMIN_VAR}` };

let server: PrivatePostgres;
let home: string;
let provider: LocalProvider;
let candidate: CandidateRef;

async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The error a statement (or the connection) fails with; fails the test if it succeeds. */
async function refusal(url: string, sql: string): Promise<string> {
  try {
    await query(url, sql);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`expected ${sql} to be refused`);
}

function adminUrl(database = 'postgres'): string {
  const u = new URL(server.url);
  u.pathname = `/${database}`;
  return u.toString();
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A candidate that counts the environment's rows through DATABASE_URL, one connection per request. */
function writeDatabaseCandidate(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'candidate.yaml'),
    [
      'name: rows-reader',
      'version: 1.0.0',
      'description: counts rows through DATABASE_URL (test fixture)',
      'serve: [node, server.js]',
      'artifacts: [server.js]',
      'input:',
      '  table: transactions',
      '  label: is_fraud',
      '  features:',
      '    amount: { type: number, min: 0 }',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'server.js'),
    `const http = require('node:http');
const { Client } = require(${JSON.stringify(require.resolve('pg'))});
const server = http.createServer(async (req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ version: process.env.STRATA_VERSION }));
  }
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const r = await client.query('SELECT count(*)::int AS n, session_user AS login FROM transactions');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ rows: r.rows[0].n, login: r.rows[0].login }));
  } catch (err) {
    res.writeHead(500);
    res.end(String(err.message));
  } finally {
    client.end().catch(() => undefined);
  }
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
`,
  );
}

beforeAll(async () => {
  server = await privatePostgres({ auth: 'scram', database: 'postgres_env_test' });
  process.env[ADMIN_VAR] = adminUrl();
  home = tempHome('pgenv');
  provider = new LocalProvider(home);
  const dir = path.join(home, 'fixture-candidate');
  writeDatabaseCandidate(dir);
  candidate = await loadCandidate(dir);
  await storeCandidate(candidate, artifactsOf(home));
}, 180_000);

afterAll(async () => {
  try {
    if (home) await teardownHome(home);
  } finally {
    await server?.remove();
    delete process.env[ADMIN_VAR];
  }
}, 120_000);

describe('postgres environments', () => {
  it('provisions a database and two login roles per environment, once, with the passwords only in a 0600 file', async () => {
    await provider.provision('alpha', { promotionId: 'p1', provider: postgresProvider });
    await provider.provision('beta', { promotionId: 'p1', provider: postgresProvider });
    const names = databaseNames(provider.envsDir, 'alpha');
    const dbs = await query<{ datname: string }>(adminUrl(), 'SELECT datname FROM pg_database WHERE datname LIKE $1', [
      'strata_%',
    ]);
    expect(dbs.map((d) => d.datname).sort()).toEqual(
      [names.database, databaseNames(provider.envsDir, 'beta').database].sort(),
    );
    const roles = await query<{
      rolname: string;
      rolcanlogin: boolean;
      rolcreatedb: boolean;
      rolcreaterole: boolean;
      rolsuper: boolean;
    }>(
      adminUrl(),
      'SELECT rolname, rolcanlogin, rolcreatedb, rolcreaterole, rolsuper FROM pg_roles WHERE rolname LIKE $1 ORDER BY rolname',
      [`${names.owner}%`],
    );
    expect(roles).toEqual([
      { rolname: names.owner, rolcanlogin: false, rolcreatedb: false, rolcreaterole: false, rolsuper: false },
      { rolname: names.logins.a, rolcanlogin: true, rolcreatedb: false, rolcreaterole: false, rolsuper: false },
      { rolname: names.logins.b, rolcanlogin: true, rolcreatedb: false, rolcreaterole: false, rolsuper: false },
    ]);

    const envDir = path.join(provider.envsDir, 'alpha');
    expect(fs.statSync(credentialsFile(envDir)).mode & 0o777).toBe(0o600);
    const creds = readCredentials(envDir)!;
    expect(creds.roles.a.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // The password is nowhere else: not in state.json, not in the event log, not in describe().
    const state = fs.readFileSync(path.join(envDir, 'state.json'), 'utf8');
    const events = fs.readFileSync(path.join(provider.envsDir, 'alpha.events.jsonl'), 'utf8');
    const described = JSON.stringify(await provider.describe('alpha'));
    for (const text of [state, events, described]) expect(text).not.toContain(creds.roles.a.password!);
    expect(described).toContain(`/${names.database}`);
    expect(state).toContain(`env:${ADMIN_VAR}`);
    expect(state).not.toContain(new URL(server.url).password);

    // A second provision (a retried activity) creates nothing and keeps the password.
    const provisionedBefore = provider.events('alpha').filter((e) => e.event === 'database-provisioned').length;
    await provider.provision('alpha', { promotionId: 'p2', provider: postgresProvider });
    expect(provider.events('alpha').filter((e) => e.event === 'database-provisioned')).toHaveLength(provisionedBefore);
    expect(readCredentials(envDir)!.roles.a.password).toBe(creds.roles.a.password);
    expect(await query(provider.databaseUrl('alpha')!, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('completes a half-done provision on retry: a missing database and role are created, nothing twice', async () => {
    const names = databaseNames(provider.envsDir, 'beta');
    // As if the earlier attempt died after creating the owner and login a, before login b and the database.
    await query(adminUrl(), `DROP DATABASE "${names.database}"`);
    await query(adminUrl(), `DROP ROLE "${names.logins.b}"`);
    await provider.provision('beta', { promotionId: 'p1', provider: postgresProvider });
    const last = provider
      .events('beta')
      .filter((e) => e.event === 'database-provisioned')
      .at(-1)!;
    expect(last.created).toEqual(['login role b', 'database']);
    expect(await query(provider.databaseUrl('beta')!, 'SELECT current_database() AS db')).toEqual([
      { db: names.database },
    ]);
  });

  it("isolates environments: A's role cannot connect to B's database, read its tables, or create roles or databases", async () => {
    const a = provider.databaseUrl('alpha')!;
    const b = provider.databaseUrl('beta')!;
    const bDatabase = databaseNames(provider.envsDir, 'beta').database;
    await query(b, 'CREATE TABLE secrets (v text)');
    await query(b, 'INSERT INTO secrets VALUES ($1)', ['beta-only']);
    // B's own role reads it; A's role cannot even connect to B's database.
    expect(await query(b, 'SELECT v FROM secrets')).toEqual([{ v: 'beta-only' }]);
    expect(await refusal(withDatabase(a, bDatabase), 'SELECT v FROM secrets')).toMatch(
      /permission denied for database|not have CONNECT privilege/,
    );
    // Nor with B's login name and A's password.
    const forged = new URL(b);
    forged.password = new URL(a).password;
    expect(await refusal(forged.toString(), 'SELECT 1')).toMatch(/password authentication failed/);
    // In its own database A cannot reach B's table (another database), nor create roles or databases.
    expect(await refusal(a, `SELECT v FROM "${bDatabase}".public.secrets`)).toMatch(
      /cross-database references are not implemented/,
    );
    expect(await refusal(a, 'CREATE ROLE intruder LOGIN')).toMatch(/permission denied to create role/);
    expect(await refusal(a, 'CREATE DATABASE intruder')).toMatch(/permission denied to create database/);
    // What A creates belongs to A's owner role, so the other login of A reaches it after a rotation.
    await query(a, 'CREATE TABLE mine (n int)');
    const owner = await query<{ tableowner: string }>(a, "SELECT tableowner FROM pg_tables WHERE tablename = 'mine'");
    expect(owner).toEqual([{ tableowner: databaseNames(provider.envsDir, 'alpha').owner }]);
  });

  it('seeds the environment database with COPY: the same rows as the SQLite file, once', async () => {
    const seeded = await provider.populate('alpha', { rows: 1500, seed: 11 });
    expect(seeded.created).toBe(true);
    const url = provider.databaseUrl('alpha')!;
    const [pg] = await query<{ n: number; fraud: number; amount: number }>(
      url,
      'SELECT count(*)::int AS n, sum(is_fraud)::int AS fraud, round(sum(amount)::numeric, 4)::float AS amount FROM transactions',
    );
    const Database = (await import('better-sqlite3')).default;
    const sqlite = new Database(seeded.dbPath, { readonly: true });
    const lite = sqlite
      .prepare('SELECT count(*) AS n, sum(is_fraud) AS fraud, round(sum(amount), 4) AS amount FROM transactions')
      .get() as { n: number; fraud: number; amount: number };
    sqlite.close();
    expect(pg).toEqual(lite);
    expect(pg.n).toBe(1500);
    expect(provider.events('alpha').filter((e) => e.event === 'database-seeded')).toHaveLength(1);
    // The same population again copies nothing.
    expect(await provider.syncDatabase('alpha')).toMatchObject({ copied: false, tables: { transactions: 1500 } });
    expect(provider.events('alpha').filter((e) => e.event === 'database-seeded')).toHaveLength(1);
    expect(await query(url, `SELECT count(*)::int AS n FROM ${SEED_MARKER_TABLE}`)).toEqual([{ n: 1 }]);
    // Another population replaces the rows in one transaction.
    await provider.populate('alpha', { rows: 700, seed: 12 });
    expect(await query(url, 'SELECT count(*)::int AS n FROM transactions')).toEqual([{ n: 700 }]);
  });

  it('rotates the password: the candidate is redeployed with the new login, the old password stops working, no request fails', async () => {
    const { env } = await provider.deploy('alpha', candidate);
    const first = (await (await request(`${env.url}/rows`)).body.json()) as { rows: number; login: string };
    const names = databaseNames(provider.envsDir, 'alpha');
    expect(first).toEqual({ rows: 700, login: names.logins.a });
    const oldUrl = provider.databaseUrl('alpha')!;

    let ok = 0;
    const failures: string[] = [];
    let stop = false;
    const oldPid = (await provider.describe('alpha'))!.pid!;
    // Two clients with keep-alive connections to the environment's address, one request after another.
    const client = async () => {
      while (!stop) {
        try {
          const res = await request(`${env.url}/rows`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
          const text = await res.body.text();
          if (res.statusCode === 200) ok++;
          else failures.push(`${res.statusCode} ${text}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const loop = Promise.all([client(), client()]);
    await new Promise((r) => setTimeout(r, 500));
    await provider.rotateCredentials('alpha');
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await loop;

    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    const after = (await (await request(`${(await provider.describe('alpha'))!.url}/rows`)).body.json()) as {
      login: string;
    };
    expect(after.login).toBe(names.logins.b);
    // Same address, another process: the old one is gone.
    expect((await provider.describe('alpha'))!.url).toBe(env.url);
    expect((await provider.describe('alpha'))!.pid).not.toBe(oldPid);
    expect(processAlive(oldPid)).toBe(false);
    expect(await refusal(oldUrl, 'SELECT 1')).toMatch(/password authentication failed/);
    expect(await query(provider.databaseUrl('alpha')!, 'SELECT session_user AS u')).toEqual([{ u: names.logins.b }]);
    // Rotating again goes back to login a, with a password it never had before.
    await provider.rotateCredentials('alpha');
    const again = provider.databaseUrl('alpha')!;
    expect(new URL(again).username).toBe(names.logins.a);
    expect(again).not.toBe(oldUrl);
    expect(await refusal(oldUrl, 'SELECT 1')).toMatch(/password authentication failed/);
  });

  it('tears down: the database and roles are dropped with connections open, even when state.json is gone', async () => {
    const names = databaseNames(provider.envsDir, 'alpha');
    // An open session of the environment does not keep its database alive.
    const held = new Client({ connectionString: provider.databaseUrl('alpha')! });
    held.on('error', () => undefined);
    await held.connect();
    await provider.teardown('alpha');
    await held.end().catch(() => undefined);
    const left = await query(
      adminUrl(),
      'SELECT 1 FROM pg_roles WHERE rolname LIKE $1 UNION ALL SELECT 1 FROM pg_database WHERE datname = $2',
      [`${names.owner}%`, names.database],
    );
    expect(left).toEqual([]);
    expect(fs.existsSync(path.join(provider.envsDir, 'alpha'))).toBe(false);
    // Neither the candidate nor its front outlives the environment.
    const alphaDir = path.join(provider.envsDir, 'alpha');
    expect(findProcesses((e) => e.get('STRATA_ENV_DIR') === alphaDir)).toEqual([]);

    // beta loses its state.json: its database.json still says what to drop.
    const beta = databaseNames(provider.envsDir, 'beta');
    fs.rmSync(path.join(provider.envsDir, 'beta', 'state.json'));
    await provider.teardown('beta');
    expect(await query(adminUrl(), 'SELECT 1 FROM pg_database WHERE datname = $1', [beta.database])).toEqual([]);
    await provider.teardown('beta'); // gone stays gone
  });
});

describe('fallback: local', () => {
  it('gives the layer the local provider when the variable is unset on the worker, and a database once it is set', async () => {
    const spec: ProviderSpec = { type: 'postgres', url: 'env:STRATA_TEST_PG_FALLBACK', fallback: 'local' };
    delete process.env.STRATA_TEST_PG_FALLBACK;
    const env = await provider.provision('gamma', { promotionId: 'p3', provider: spec });
    expect(env.database).toBeUndefined();
    expect(fs.existsSync(credentialsFile(env.dir))).toBe(false);
    expect(provider.databaseUrl('gamma')).toBeNull();
    // Without fallback the same reference is an error that names it.
    await expect(
      provider.provision('gamma', {
        promotionId: 'p3',
        provider: { type: 'postgres', url: 'env:STRATA_TEST_PG_FALLBACK' },
      }),
    ).rejects.toThrow(/no environment variable STRATA_TEST_PG_FALLBACK/);
    process.env.STRATA_TEST_PG_FALLBACK = adminUrl();
    try {
      const again = await provider.provision('gamma', { promotionId: 'p4', provider: spec });
      expect(again.database).toMatch(
        /^postgres:\/\/strata_[0-9a-f]{8}_gamma_a:\*\*\*@127\.0\.0\.1:\d+\/strata_[0-9a-f]{8}_gamma$/,
      );
      await provider.teardown('gamma');
    } finally {
      delete process.env.STRATA_TEST_PG_FALLBACK;
    }
  });
});

describe('DR drills on a postgres environment (pg_dump / pg_restore)', () => {
  it.each(POSTGRES_DRILL_SCENARIOS.map((s) => [s]))(
    '%s: detected, restored from the dump, verified against the pre-fault fingerprints, RTO and RPO measured',
    async (scenario) => {
      await provider.provision('delta', { promotionId: 'drill', provider: postgresProvider });
      await provider.populate('delta', { rows: 3000, seed: 21 });
      const names = databaseNames(provider.envsDir, 'delta');
      const url = provider.databaseUrl('delta')!;
      const result = await runPostgresDrill({
        scenario,
        adminUrl: adminUrl(),
        database: names.database,
        url,
        backupDir: path.join(provider.envsDir, 'delta', 'backups'),
      });
      expect(result.verified).toBe(true);
      expect(result.mismatches).toEqual([]);
      expect(result.detail).toMatch(scenario === 'database-removed' ? /dropped database/ : /transactions/);
      expect(result.rtoMs).toBeGreaterThan(0);
      expect(Date.parse(result.detectedAt)).toBeGreaterThanOrEqual(Date.parse(result.injectedAt));
      // The writer kept writing after the backup: those acknowledged writes are what the dump lacks.
      expect(result.lostWrites).toBeGreaterThan(0);
      expect(result.rpoMs).toBeGreaterThanOrEqual(200);
      expect(result.restore.created).toBe(scenario === 'database-removed');
      // The restored database is the environment's again: its login works, the other roles stay out.
      expect(await query(url, 'SELECT count(*)::int AS n FROM transactions')).toEqual([{ n: 3000 }]);
      expect(
        await query(adminUrl(), 'SELECT has_database_privilege($1, $2, $3) AS p', [
          'public',
          names.database,
          'CONNECT',
        ]),
      ).toEqual([{ p: false }]);
      await provider.teardown('delta');
    },
  );
});

describe('server killed (the private cluster)', () => {
  it('crashes the server under writes (immediate shutdown: no checkpoint) and starts it again: WAL replay loses no acknowledged write', async () => {
    await provider.provision('delta', { promotionId: 'crash', provider: postgresProvider });
    await provider.populate('delta', { rows: 2000, seed: 22 });
    const url = provider.databaseUrl('delta')!;
    const before = await fingerprintDatabase(url);
    const writer = startPostgresWriter(url, 5);
    await new Promise((r) => setTimeout(r, 500));
    const injected = Date.now();
    await server.stop('immediate');
    const ackedAtKill = writer.acks.length;
    await server.start();
    let rtoMs = -1;
    while (rtoMs < 0 && Date.now() - injected < 60_000) {
      try {
        await query(url, 'SELECT 1');
        rtoMs = Date.now() - injected;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await new Promise((r) => setTimeout(r, 300)); // the writer reconnects and goes on
    await writer.stop();
    const kept = new Set(
      (await query<{ seq: string }>(url, `SELECT seq FROM ${PG_WRITES_TABLE}`)).map((r) => Number(r.seq)),
    );
    expect(ackedAtKill).toBeGreaterThan(10);
    expect(writer.acks.filter((a) => !kept.has(a.seq))).toEqual([]); // RPO 0: every acknowledged write survived
    expect(writer.acks.length).toBeGreaterThan(ackedAtKill); // and writes resumed after the restart
    expect(rtoMs).toBeGreaterThan(0);
    expect(await fingerprintDatabase(url)).toEqual(before);
    await provider.teardown('delta');
  });
});

describe('a promotion through a postgres layer (real Temporal, real worker)', () => {
  const suite = workerSuite('pgpromo');

  it('provisions, seeds and deploys on PostgreSQL, rotates on the timer without losing the candidate, and drops the database after its TTL', async () => {
    const ladder = parseLadder(
      `
name: pg-ladder
layers:
  - name: mirror
    seed: { rows: 400, seed: 5 }
    gates: [ { type: schema } ]
    approval: auto
    ttl: 12s
    credentialRotation: 3s
    provider: { type: postgres, url: "env:${ADMIN_VAR}" }
`,
      'pg-ladder.yaml',
    );
    const id = await startPromotion(suite.client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue: suite.taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    expect((await waitForResult(suite.client, id)).state).toBe('promoted');
    const provider = suite.worker.provider;
    const envDir = path.join(provider.envsDir, 'mirror');
    const names = databaseNames(provider.envsDir, 'mirror');
    expect(await query(provider.databaseUrl('mirror')!, 'SELECT count(*)::int AS n FROM transactions')).toEqual([
      { n: 400 },
    ]);
    // The rotation timer (3 s) moves the candidate to the other login; it keeps answering at its address.
    const url = (await provider.describe('mirror'))!.url!;
    const deadline = Date.now() + 20_000;
    while (readCredentials(envDir)?.active !== 'b' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(readCredentials(envDir)!.active).toBe('b');
    const health = await request(`${url}/health`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    // The workflow history holds the ladder's reference to the admin URL, never a password.
    const history = JSON.stringify(await suite.client.workflow.getHandle(id).fetchHistory());
    expect(history).not.toContain(new URL(server.url).password);
    expect(history).not.toContain(readCredentials(envDir)!.roles.b.password!);

    // Unused for its TTL: the environment workflow tears it down, and the database and roles with it.
    const gone = Date.now() + 40_000;
    while (fs.existsSync(envDir) && Date.now() < gone) await new Promise((r) => setTimeout(r, 250));
    expect(fs.existsSync(envDir)).toBe(false);
    expect(
      await query(
        adminUrl(),
        'SELECT rolname FROM pg_roles WHERE rolname LIKE $1 UNION ALL SELECT datname FROM pg_database WHERE datname = $2',
        [`${names.owner}%`, names.database],
      ),
    ).toEqual([]);
  });
});

describe('the data plane into a postgres environment (real Temporal, real worker)', () => {
  const suite = workerSuite('pgdata');
  let dir: string;
  const FEATURES = [
    'txn_id',
    'amount',
    'merchant_risk',
    'account_age_days',
    'hour',
    'is_foreign',
    'velocity_24h',
    'channel',
    'is_fraud',
  ] as const;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(suite.home, 'data-'));
    const rows = Array.from(transactionRows({ rows: 600, seed: 8 }));
    fs.writeFileSync(
      path.join(dir, 'production.csv'),
      `${[...FEATURES, 'email'].join(',')}\n${rows.map((r, i) => [...FEATURES.map((c) => r[c]), `customer${i}@mailbox${i % 9}.com`].join(',')).join('\n')}\n`,
    );
    const keyring = path.join(dir, 'keyring.yaml');
    fs.writeFileSync(keyring, `keys: { k1: "hex:${randomBytes(32).toString('hex')}" }\nactive: k1\n`, { mode: 0o600 });
    const keep = [
      'amount: { op: keep, type: REAL }',
      'merchant_risk: { op: keep, type: REAL }',
      'account_age_days: { op: keep, type: INTEGER }',
      'hour: { op: keep, type: INTEGER }',
      'is_foreign: { op: keep, type: INTEGER }',
      'velocity_24h: { op: keep, type: INTEGER }',
      'channel: { op: keep, type: TEXT }',
      'is_fraud: { op: keep, type: INTEGER }',
    ].join('\n  ');
    fs.writeFileSync(
      path.join(dir, 'mirror.yaml'),
      `keyring: ${keyring}\ncolumns:\n  txn_id: { op: hmac, prefix: txn_ }\n  email: { op: hmac }\n  ${keep}\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'leaky.yaml'),
      `keyring: ${keyring}\ncolumns:\n  txn_id: { op: hmac, prefix: txn_ }\n  email: { op: keep, type: TEXT }\n  ${keep}\n`,
    );
  });

  async function promote(name: string, policy: string) {
    const file = path.join(dir, `ladder-${name}.yaml`);
    fs.writeFileSync(
      file,
      `name: ${name}
data:
  sources:
    - { name: prod, classification: production, file: production.csv }
layers:
  - name: ${name}
    approval: auto
    rollback: keep
    allowSanitizedProduction: true
    data: { source: prod, policy: ${policy} }
    gates: [ { type: schema } ]
    provider: { type: postgres, url: "env:${ADMIN_VAR}" }
`,
    );
    const ladder = loadLadder(file);
    const id = await startPromotion(suite.client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue: suite.taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    return { result: await waitForResult(suite.client, id), status: await getStatus(suite.client, id) };
  }

  it('sanitizes a production source into the environment database: approval, PII scan, then COPY; a leak never reaches PostgreSQL', async () => {
    await new ApprovalRegistry(suite.home).approve(path.join(dir, 'production.csv'), 'carol', 'for the mirror only');
    const { result, status } = await promote('pgmirror', 'mirror.yaml');
    expect(result.state).toBe('promoted');
    expect(status.layers[0].data).toMatchObject({ classification: 'production', rows: 600, pii: { total: 0 } });
    const url = suite.worker.provider.databaseUrl('pgmirror')!;
    const [row] = await query<{ n: number; plain: number }>(
      url,
      "SELECT count(*)::int AS n, count(*) FILTER (WHERE email LIKE '%@mailbox%')::int AS plain FROM transactions",
    );
    expect(row).toEqual({ n: 600, plain: 0 });

    const leaky = await promote('pgleaky', 'leaky.yaml');
    expect(leaky.result.state).toBe('failed');
    expect(leaky.status.layers[0].failure).toMatch(/PII found in the data seeded into layer "pgleaky"/);
    // The database exists (provisioned) but no row of the refused population reached it.
    const leakyUrl = suite.worker.provider.databaseUrl('pgleaky')!;
    expect(await query(leakyUrl, "SELECT to_regclass('public.transactions') AS t")).toEqual([{ t: null }]);
  });
});
